"""Seed the communication types of the design's eight flows."""

from django.db import migrations

# (code, name, category, flow, response expected)
TYPES = [
    ("member-renewal-notice", "Member renewal notice", "marketing", 1, False),
    ("launch-announcement", "Launch announcement", "marketing", 1, False),
    ("order-confirmation", "Order confirmation", "customer_service", 1, False),
    ("promotional-letter", "Promotional letter", "marketing", 1, False),
    ("rights-confirmation", "Rights confirmation", "rights", 2, True),
    ("permission-letter", "Permission letter", "rights", 2, True),
    ("licence-renewal", "Licence renewal", "rights", 2, True),
    ("royalty-statement", "Royalty statement", "royalties", 3, False),
    ("approval-notice", "Approval notice", "editorial", 4, False),
    ("publication-delay-letter", "Publication delay letter", "editorial", 4, False),
    ("contributor-request", "Contributor request", "contributor", 4, True),
    ("compliance-acknowledgement", "Compliance acknowledgement", "editorial", 4, True),
    ("retailer-notice", "Retailer notice", "partner", 5, False),
    ("advance-reader-communication", "Advance reader communication", "marketing", 5, False),
    ("launch-email", "Launch e-mail", "marketing", 5, False),
    ("post-launch-follow-up", "Post-launch follow-up", "marketing", 5, False),
    ("delay-notice", "Delay notice", "customer_service", 6, False),
    ("out-of-stock-notice", "Out-of-stock notice", "customer_service", 6, False),
    ("format-substitution-notice", "Format substitution notice", "customer_service", 6, True),
    ("revised-date-notice", "Revised date notice", "customer_service", 6, False),
    ("catalogue-update", "Catalogue update", "partner", 7, False),
    ("metadata-change-notice", "Metadata change notice", "partner", 7, False),
    ("release-alert", "Release alert", "partner", 7, False),
    ("review-request", "Review request", "contributor", 8, True),
    ("proof-approval", "Proof approval", "contributor", 8, True),
    ("cover-copy-confirmation", "Cover copy confirmation", "contributor", 8, True),
    ("publication-notification", "Publication notification", "contributor", 8, False),
]


def seed(apps, schema_editor):
    CommunicationType = apps.get_model("integration", "CommunicationType")
    for code, name, category, flow, response in TYPES:
        CommunicationType.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "flow": flow,
                "response_expected": response,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("integration", "CommunicationType").objects.filter(
        code__in=[t[0] for t in TYPES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integration", "0002_setup")]

    operations = [migrations.RunPython(seed, unseed)]
