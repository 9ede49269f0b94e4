"""Demo customer-service outcomes for the demo imprints, imported through the same CSV import
staff use (so the report has something to show after `make run`). Deterministic; idempotent
because the import skips rows it has already seen (same event id)."""

from __future__ import annotations

import datetime
import io
import random
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.demo import require_demo_environment
from accounts.models import Imprint, Membership, Role
from integration.models import Product
from integration.status.customer_service import customer_service_import_csv

ISSUES = [
    ("delay", ["accepted", "cancelled", "no_response"]),
    ("out_of_stock", ["cancelled", "refunded", "accepted"]),
    ("format_substitution", ["substituted", "cancelled"]),
    ("revised_date", ["accepted", "no_response"]),
]


class Command(BaseCommand):
    help = "Import deterministic demo customer-service outcomes for each demo imprint."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--per-imprint", type=int, default=60)

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_environment("seed_demo_outcomes")
        today = timezone.localdate()
        for imprint in Imprint.objects.order_by("pk"):
            admin = (
                Membership.objects.filter(imprint=imprint, role=Role.IMPRINT_ADMIN)
                .select_related("user")
                .first()
            )
            isbns = list(
                Product.objects.filter(work__imprint=imprint, isbn13__isnull=False)
                .order_by("pk")
                .values_list("isbn13", flat=True)[:8]
            )
            if admin is None or not isbns:
                why = "it has no imprint admin" if admin is None else "it has no titles yet"
                self.stdout.write(f"{imprint}: skipped, no demo outcomes ({why}).")
                continue
            rng = random.Random(imprint.pk)
            # Generated values only (no commas, quotes or formulas), so plain joins suffice.
            out = io.StringIO()
            out.write("isbn,issue_type,case_reference,outcome,date,event_id\n")
            # A few titles get most of the trouble, so "recurring issues" stand out.
            weights = [8, 5, 3, 1, 1, 1, 1, 1][: len(isbns)]
            for n in range(options["per_imprint"]):
                isbn = rng.choices(isbns, weights=weights)[0]
                issue, outcomes = ISSUES[rng.randrange(len(ISSUES))]
                day = today - datetime.timedelta(days=rng.randrange(180))
                row = [
                    isbn,
                    issue,
                    f"CS-{imprint.code.upper()}-{1000 + n}",
                    rng.choice(outcomes),
                    day.isoformat(),
                    f"demo-{imprint.code}-{n}",
                ]
                out.write(",".join(str(cell) for cell in row) + "\n")
            created, skipped = customer_service_import_csv(
                actor=admin.user,
                imprint_id=imprint.pk,
                raw=out.getvalue().encode(),
                filename="demo-outcomes.csv",
            )
            self.stdout.write(f"{imprint}: {created} outcomes imported, {skipped} already there.")
