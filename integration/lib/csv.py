"""Reading and writing spreadsheets people upload and download: uploaded CSV decoded and
checked with errors a person can act on, dates in the two forms staff type, and cells that a
spreadsheet will not run as formulas."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

from django.core.exceptions import ValidationError

from integration.lib import uploads

MAX_CSV_BYTES = 5 * 1024 * 1024


MAX_CSV_ROWS = 20_000


def parse_date(text: str) -> datetime.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date (use YYYY-MM-DD)")


def read_csv(raw: bytes, *, required: list[str]) -> list[dict[str, str]]:
    """Decode and parse an uploaded CSV into rows keyed by lower-case header, or raise a
    ValidationError a person can act on."""
    if len(raw) > MAX_CSV_BYTES:
        raise ValidationError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text; save it as CSV UTF-8.") from exc
    if not text.strip():
        raise ValidationError("The file is empty.")
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [h for h in required if h not in headers]
    if missing:
        raise ValidationError(
            f"The header row lacks {', '.join(missing)}; expected columns: {', '.join(required)}."
        )
    rows = []
    budget = uploads.RowBudget(limit=MAX_CSV_ROWS * 2)  # lines read, blank ones too
    for row in reader:
        try:
            while budget.read < reader.line_num:  # the reader skips empty lines silently
                budget.take()
        except uploads.UploadTooLarge as exc:
            raise ValidationError(str(exc)) from exc
        clean = {
            (k or "").strip().lower(): (v or "").strip()
            for k, v in row.items()
            if isinstance(v, str) or v is None
        }
        if any(clean.values()):
            rows.append(clean)
        if len(rows) > MAX_CSV_ROWS:
            raise ValidationError(f"The file has more than {MAX_CSV_ROWS} rows; split it.")
    if not rows:
        raise ValidationError("The file has no data rows.")
    return rows


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
