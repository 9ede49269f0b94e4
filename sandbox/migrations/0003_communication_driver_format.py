from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sandbox', '0002_graphql_gone_fault'),
    ]

    operations = [
        migrations.AddField(
            model_name='exstreamsandboxcommunication',
            name='driver_format',
            field=models.CharField(choices=[('json', 'JSON'), ('xml', 'XML')], default='json', help_text="Format of the design's driver sample (reference §4, Appendix A); on-demand and batch bodies must follow it.", max_length=4),
        ),
    ]
