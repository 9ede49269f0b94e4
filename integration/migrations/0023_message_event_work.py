"""MessageEvent.work: the title an event is about, denormalised from message → communication so
the title timeline reads one index range (work, occurred_at DESC, id DESC). Existing rows are
backfilled by one set-based UPDATE before the index is built."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    MessageEvent = apps.get_model("integration", "MessageEvent")
    Message = apps.get_model("integration", "Message")
    MessageEvent.objects.filter(message__isnull=False).update(
        work_id=Subquery(
            Message.objects.filter(pk=OuterRef("message_id")).values("communication__work_id")[:1]
        )
    )


def analyse(apps, schema_editor):
    """Fresh statistics for the new column, so the timeline reads its index in order at once
    instead of after the next autovacuum (PostgreSQL; harmless to skip elsewhere)."""
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(
            apps.get_model("integration", "MessageEvent")._meta.db_table
        )
        schema_editor.execute(f"ANALYZE {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0022_contact_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="messageevent",
            name="work",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="integration.work",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="messageevent",
            index=models.Index(
                fields=["work", "-occurred_at", "-id"], name="message_event_timeline"
            ),
        ),
        migrations.RunPython(analyse, migrations.RunPython.noop, elidable=True),
    ]
