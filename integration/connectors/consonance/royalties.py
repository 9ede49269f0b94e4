"""Reading and validating royalty / sales line files (CSV or XLSX). Format: docs/royalty-import.md.

``read_rows`` turns a file into (row number, {column: text}) pairs; ``validate_row`` turns one
row into typed values or a list of problems a person can fix in the file.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from integration.lib import uploads

COLUMNS = [
    "payee_contact_id",
    "contract_id",
    "period_start",
    "period_end",
    "isbn",
    "channel",
    "territory",
    "units",
    "returns",
    "net_receipts",
    "rate",
    "royalty",
    "advance_offset",
    "balance",
    "currency",
]
OPTIONAL = {"returns", "advance_offset"}
MAX_ROWS = 100_000


class RoyaltyFileError(ValueError):
    """The file as a whole cannot be read (wrong type, missing columns, empty)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(cells: list[str]) -> list[str]:
    names = [re.sub(r"[\s-]+", "_", c.strip().lower()) for c in cells]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise RoyaltyFileError(
            "The header row lacks these columns: "
            + ", ".join(missing)
            + ". See docs/royalty-import.md for the format."
        )
    return names


def read_rows(stream: IO[bytes], filename: str) -> Iterator[tuple[int, dict[str, str]]]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        import zipfile

        from openpyxl import load_workbook

        budget = uploads.RowBudget()
        try:
            uploads.check_xlsx_archive(stream)
        except uploads.UploadTooLarge as exc:
            raise RoyaltyFileError(str(exc)) from exc
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise RoyaltyFileError(f"{filename} is not a readable XLSX workbook.") from exc
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = _header([_cell(c) for c in next(rows)])
        except StopIteration as exc:
            raise RoyaltyFileError(f"{filename} is empty.") from exc
        for number, values in enumerate(rows, start=2):
            try:
                budget.take()
            except uploads.UploadTooLarge as exc:
                raise RoyaltyFileError(str(exc)) from exc
            cells = [_cell(c) for c in values]
            if any(cells):
                yield number, dict(zip(header, cells, strict=False))
        return
    if not name.endswith(".csv"):
        raise RoyaltyFileError("Upload a .csv or .xlsx file.")
    try:
        text = stream.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RoyaltyFileError(f"{filename} is not UTF-8 text; save it as CSV UTF-8.") from exc
    reader = csv.reader(io.StringIO(text))
    try:
        header = _header(next(reader))
    except StopIteration as exc:
        raise RoyaltyFileError(f"{filename} is empty.") from exc
    except csv.Error as exc:
        raise RoyaltyFileError(f"{filename} is not valid CSV: {exc}") from exc
    budget = uploads.RowBudget()
    try:
        for number, cells in enumerate(reader, start=2):
            budget.take()
            if any(c.strip() for c in cells):
                yield number, dict(zip(header, (c.strip() for c in cells), strict=False))
    except csv.Error as exc:
        raise RoyaltyFileError(f"{filename} is not valid CSV: {exc}") from exc
    except uploads.UploadTooLarge as exc:
        raise RoyaltyFileError(str(exc)) from exc


def validate_row(row: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Typed values and a list of (column, problem)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in COLUMNS:
        if not row.get(column) and column not in OPTIONAL:
            problems.append((column, "is required"))

    def integer(column: str, default: int | None = None) -> None:
        text = row.get(column, "")
        if not text:
            values[column] = default
            return
        try:
            values[column] = int(text)
        except ValueError:
            problems.append((column, f"{text!r} is not a whole number"))

    def decimal(column: str, default: Decimal | None = None) -> None:
        text = row.get(column, "").replace(",", "")
        if not text:
            values[column] = default
            return
        try:
            values[column] = Decimal(text)
            if not values[column].is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append((column, f"{row.get(column)!r} is not a number"))

    def date(column: str) -> None:
        text = row.get(column, "")
        if not text:
            return
        try:
            values[column] = datetime.date.fromisoformat(text[:10])
        except ValueError:
            problems.append((column, f"{text!r} is not a date (YYYY-MM-DD)"))

    for column in ("payee_contact_id", "contract_id", "units"):
        integer(column)
    integer("returns", 0)
    for column in ("net_receipts", "royalty", "balance"):
        decimal(column)
    decimal("rate")
    decimal("advance_offset", Decimal("0"))
    date("period_start")
    date("period_end")
    if (
        values.get("period_start")
        and values.get("period_end")
        and values["period_end"] < values["period_start"]
    ):
        problems.append(("period_end", "is before period_start"))
    isbn = re.sub(r"[\s-]", "", row.get("isbn", ""))
    if isbn and not re.fullmatch(r"97[89]\d{10}", isbn):
        problems.append(("isbn", f"{row.get('isbn')!r} is not an ISBN-13"))
    values["isbn"] = isbn
    currency = row.get("currency", "").upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(("currency", f"{row.get('currency')!r} is not a 3-letter currency code"))
    values["currency"] = currency
    rate = values.get("rate")
    if isinstance(rate, Decimal) and not (Decimal("0") <= rate <= Decimal("1")):
        problems.append(("rate", "must be a fraction between 0 and 1 (e.g. 0.075 for 7.5%)"))
    values["channel"] = row.get("channel", "")[:50]
    values["territory"] = row.get("territory", "").upper()[:10]
    return values, problems
