"""A royalty period for the demo's royalties journey, imported through the same import staff
use (Titles → Imports → Royalty lines): for each Harbour Lights title, lines for the authors its
contract names, for January to June 2026. The import's change events fire the seeded trigger
"Royalty statements when royalty lines arrive" as any import does.

Deterministic (amounts derived from the Consonance ids); idempotent: nothing happens once the
imprint has an imported royalty period.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import require_demo_environment
from accounts.models import Imprint, Membership, Role
from integration.catalogue.royalty_import import royalty_import
from integration.connectors.consonance.royalties import COLUMNS
from integration.management.inline import tasks_inline
from integration.models import Contract, GratisCopy, RoyaltyImport

IMPRINT = "harbour"
CHANNELS = [("Home trade", "GB", Decimal("0.075")), ("Export", "US", Decimal("0.06"))]


def royalty_rows(imprint: Imprint) -> list[list[str]]:
    rows: list[list[str]] = []
    contracts = Contract.objects.filter(
        imprint=imprint, withdrawn_at__isnull=True, consonance_id__isnull=False
    ).select_related("work")
    for contract in contracts.order_by("consonance_id"):
        if contract.work is None:
            continue
        product = contract.work.products.exclude(isbn13__isnull=True).order_by("pk").first()
        authors = {
            c.contact.consonance_id
            for c in contract.work.contributions.select_related("contact").filter(role="A01")
        }
        # the payees: authors of the title that the contract names (through its gratis copies)
        named = set(
            GratisCopy.objects.filter(contract=contract).values_list(
                "contact_consonance_id", flat=True
            )
        )
        payees = sorted(p for p in authors & named if p is not None)
        if product is None or not product.isbn13:
            continue
        for payee in payees:
            for channel, territory, rate in CHANNELS:
                seed = (contract.consonance_id or 0) + payee + len(channel)
                units = 200 + seed % 1400
                returns = seed % 37
                net = (Decimal(units - returns) * Decimal("6.40")).quantize(Decimal("0.01"))
                royalty = (net * rate).quantize(Decimal("0.01"))
                offset = Decimal("100.00") if channel == "Home trade" else Decimal("0.00")
                rows.append(
                    [
                        str(payee),
                        str(contract.consonance_id),
                        "2026-01-01",
                        "2026-06-30",
                        product.isbn13,
                        channel,
                        territory,
                        str(units),
                        str(returns),
                        str(net),
                        str(rate),
                        str(royalty),
                        str(offset),
                        str(royalty - offset),
                        "GBP",
                    ]
                )
    return rows


class Command(BaseCommand):
    help = "Import a demo royalty period (January–June 2026) for Harbour Lights."

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_environment("seed_demo_royalties")
        imprint = Imprint.objects.filter(code=IMPRINT).first()
        if imprint is None:
            self.stdout.write("No Harbour Lights imprint; run seed_demo first.")
            return
        if RoyaltyImport.objects.filter(imprint=imprint, imported=True).exists():
            self.stdout.write(f"{imprint}: a royalty period is already imported.")
            return
        rows = royalty_rows(imprint)
        royalties = (
            Membership.objects.filter(imprint=imprint, role=Role.ROYALTIES)
            .select_related("user")
            .first()
        )
        if not rows or royalties is None:
            self.stdout.write(f"{imprint}: skipped (no titles with contracts or royalties user).")
            return
        # Generated values only (no commas, quotes or formulas), so plain joins suffice.
        text = "\n".join(",".join(row) for row in [COLUMNS, *rows]) + "\n"
        with tasks_inline():
            record = royalty_import(
                stream=io.BytesIO(text.encode()),
                filename="royalties-2026-h1.csv",
                imprint=imprint,
                actor=royalties.user,
            )
        if not record.imported:
            problems = "; ".join(str(e.get("error")) for e in record.errors[:5])
            self.stdout.write(self.style.ERROR(f"{imprint}: royalty import refused: {problems}"))
            return
        self.stdout.write(f"{imprint}: {record.line_count} royalty lines imported (2026 H1).")
