"""Royalty / sales line imports: validated row by row; imported whole or not at all.

No import crosses an imprint: a row whose contract (its source id) or ISBN belongs to another
imprint is refused with a per-row error, and then nothing is imported."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from decimal import Decimal
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import log_action
from accounts.models import Imprint
from accounts.types import Actor, person
from integration.catalogue.changes import notify_catalogue_changed
from integration.connectors.consonance.royalties import (
    MAX_ROWS,
    RoyaltyFileError,
    read_rows,
    validate_row,
)
from integration.lib.csv import spreadsheet_safe
from integration.models import (
    ChangeEvent,
    Contact,
    Contract,
    Product,
    RoyaltyImport,
    RoyaltyLine,
)


def royalty_import(
    *, stream: IO[bytes], filename: str, imprint: Imprint, actor: Actor = None
) -> RoyaltyImport:
    """Validate every row; when all are valid store them with one ``royalties_imported`` event
    per affected work. Otherwise store nothing but the refused import with its errors."""
    content = stream.read()
    digest = hashlib.sha256(content).hexdigest()
    errors: list[dict[str, Any]] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        if RoyaltyImport.objects.filter(imprint=imprint, sha256=digest, imported=True).exists():
            raise RoyaltyFileError("This exact file has already been imported for this imprint.")
        for number, row in read_rows(io.BytesIO(content), filename):
            if len(rows) + len(errors) >= MAX_ROWS:
                raise RoyaltyFileError(f"The file has more than {MAX_ROWS} rows; split it.")
            values, problems = validate_row(row)
            for column, problem in problems:
                errors.append(
                    {
                        "row": number,
                        "column": column,
                        "value": row.get(column, ""),
                        "error": f"{column} {problem}",
                    }
                )
            rows.append((number, values))
        if not rows and not errors:
            raise RoyaltyFileError("The file has a header but no rows.")
    except RoyaltyFileError as exc:
        errors = [{"row": "", "column": "", "value": "", "error": str(exc)}]
        rows = []
    contracts: dict[int, Contract] = {}
    payees: dict[int, int] = {}
    if rows and not errors:
        contract_ids = {v["contract_id"] for _, v in rows}
        contracts = {
            c.consonance_id: c
            for c in Contract.objects.filter(consonance_id__in=contract_ids).select_related("work")
        }
        payees = dict(
            Contact.objects.filter(
                consonance_id__in={v["payee_contact_id"] for _, v in rows}
            ).values_list("consonance_id", "pk")
        )
        isbn_imprints: dict[str, set[int]] = defaultdict(set)
        for isbn, imprint_id in Product.objects.filter(
            isbn13__in={v["isbn"] for _, v in rows if v["isbn"]}
        ).values_list("isbn13", "work__imprint_id"):
            isbn_imprints[isbn or ""].add(imprint_id)
        for number, v in rows:
            holders = isbn_imprints.get(v["isbn"], set())
            if holders and imprint.pk not in holders:
                errors.append(
                    {
                        "row": number,
                        "column": "isbn",
                        "value": v["isbn"],
                        "error": f"isbn belongs to a title of another imprint, not {imprint}",
                    }
                )
            contract = contracts.get(v["contract_id"])
            if contract is None:
                errors.append(
                    {
                        "row": number,
                        "column": "contract_id",
                        "value": v["contract_id"],
                        "error": "contract_id is not a contract in the mirror (sync first)",
                    }
                )
            elif contract.imprint_id != imprint.pk:
                errors.append(
                    {
                        "row": number,
                        "column": "contract_id",
                        "value": v["contract_id"],
                        "error": f"contract_id belongs to another imprint, not {imprint}",
                    }
                )
            if v["payee_contact_id"] not in payees:
                errors.append(
                    {
                        "row": number,
                        "column": "payee_contact_id",
                        "value": v["payee_contact_id"],
                        "error": "payee_contact_id is not a contact in the mirror",
                    }
                )
    with transaction.atomic():
        record = RoyaltyImport.objects.create(
            imprint=imprint,
            filename=filename[:300],
            uploaded_by=person(actor),
            sha256=digest,
            imported=not errors,
            errors=errors[:1000],
            line_count=0 if errors else len(rows),
        )
        if errors:
            log_action(
                actor=actor,
                verb="royalties.refused",
                target=record,
                imprint=imprint,
                data={"filename": filename, "errors": len(errors)},
            )
            return record
        lines = []
        per_work: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"lines": 0, "royalty": Decimal("0"), "currencies": set()}
        )
        for _number, v in rows:
            contract = contracts[v["contract_id"]]
            lines.append(
                RoyaltyLine(
                    royalty_import=record,
                    imprint=imprint,
                    payee_id=payees[v["payee_contact_id"]],
                    payee_consonance_id=v["payee_contact_id"],
                    contract=contract,
                    contract_consonance_id=v["contract_id"],
                    work_id=contract.work_id,
                    period_start=v["period_start"],
                    period_end=v["period_end"],
                    isbn13=v["isbn"],
                    channel=v["channel"],
                    territory=v["territory"],
                    units=v["units"],
                    returns=v["returns"],
                    net_receipts=v["net_receipts"],
                    rate=v["rate"],
                    royalty=v["royalty"],
                    advance_offset=v["advance_offset"],
                    balance=v["balance"],
                    currency=v["currency"],
                )
            )
            if contract.work_id:
                summary = per_work[contract.work_id]
                summary["lines"] += 1
                summary["royalty"] += v["royalty"]
                summary["currencies"].add(v["currency"])
        RoyaltyLine.objects.bulk_create(lines)
        now = timezone.now()
        ChangeEvent.objects.bulk_create(
            [
                ChangeEvent(
                    created_at=now,
                    kind=ChangeEvent.Kind.ROYALTIES_IMPORTED,
                    imprint=imprint,
                    work_id=work_id,
                    field="royalty_lines",
                    source="royalties",
                    new_value={
                        "import_id": record.pk,
                        "filename": filename,
                        "lines": s["lines"],
                        "royalty_total": str(s["royalty"]),
                        "currencies": sorted(s["currencies"]),
                    },
                )
                for work_id, s in per_work.items()
            ]
        )
        notify_catalogue_changed(per_work.keys())
        log_action(
            actor=actor,
            verb="royalties.imported",
            target=record,
            imprint=imprint,
            data={"filename": filename, "lines": len(lines), "works": len(per_work)},
        )
    return record


def error_report_csv(record: RoyaltyImport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "value", "error"])
    for e in record.errors:
        # ``value`` comes from the uploaded file: a spreadsheet must not run it as a formula.
        writer.writerow(
            [
                spreadsheet_safe(v)
                for v in (e.get("row", ""), e.get("column", ""), e.get("value", ""), e["error"])
            ]
        )
    return out.getvalue()
