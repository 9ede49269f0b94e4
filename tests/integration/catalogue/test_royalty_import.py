"""Royalty / sales line imports: whole file or nothing, with a row-by-row error report."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from integration.catalogue.royalty_import import error_report_csv, royalty_import
from integration.connectors.consonance.royalties import COLUMNS
from integration.models import ChangeEvent, RoyaltyImport, RoyaltyLine
from tests.factories import ContactFactory, ContractFactory, ProductFactory, WorkFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)


@pytest.fixture
def contracts(imprint_a, imprint_b):
    work_a = WorkFactory(imprint=imprint_a)
    work_b = WorkFactory(imprint=imprint_a)
    other = WorkFactory(imprint=imprint_b)
    ProductFactory(work=work_a, isbn13="9780000000017")
    ContactFactory(consonance_id=1003)  # the payee
    return {
        "a": ContractFactory(work=work_a, consonance_id=500002),
        "b": ContractFactory(work=work_b, consonance_id=500003),
        "other": ContractFactory(work=other, consonance_id=600001),
    }


def _row(contract: int = 500002, **overrides: str) -> str:
    values = {
        "payee_contact_id": "1003",
        "contract_id": str(contract),
        "period_start": "2026-01-01",
        "period_end": "2026-06-30",
        "isbn": "978-0-00-000001-7",
        "channel": "Home trade",
        "territory": "GB",
        "units": "1200",
        "returns": "35",
        "net_receipts": "8450.20",
        "rate": "0.075",
        "royalty": "633.77",
        "advance_offset": "500.00",
        "balance": "133.77",
        "currency": "GBP",
    }
    values.update(overrides)
    return ",".join(values[c] for c in COLUMNS)


def _csv(*rows: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([HEADER, *rows]) + "\n").encode())


def test_valid_csv_imports_lines_and_one_event_per_work(imprint_a, contracts):
    record = royalty_import(
        stream=_csv(_row(), _row(channel="Export"), _row(500003)),
        filename="h1.csv",
        imprint=imprint_a,
    )
    assert record.imported and record.line_count == 3
    assert RoyaltyLine.objects.count() == 3
    events = ChangeEvent.objects.filter(kind="royalties_imported")
    assert events.count() == 2
    event = events.get(work=contracts["a"].work)
    assert isinstance(event.new_value, dict)
    assert event.new_value["lines"] == 2 and event.new_value["royalty_total"] == "1267.54"


def test_xlsx_is_accepted(imprint_a, contracts):
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    sheet.append(
        [
            1003,
            500002,
            "2026-01-01",
            "2026-06-30",
            "9780000000017",
            "Home",
            "GB",
            10,
            0,
            100.5,
            0.1,
            10.05,
            0,
            10.05,
            "GBP",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    record = royalty_import(stream=buffer, filename="h1.xlsx", imprint=imprint_a)
    assert record.imported, record.errors
    assert RoyaltyLine.objects.get().net_receipts == pytest.approx(100.5)


def test_any_bad_row_imports_nothing_and_reports_every_problem(imprint_a, contracts):
    record = royalty_import(
        stream=_csv(
            _row(),
            _row(units="twelve", period_end="2025-01-01"),
            _row(isbn="12345", currency="pounds", rate="7.5"),
        ),
        filename="bad.csv",
        imprint=imprint_a,
    )
    assert not record.imported
    assert RoyaltyLine.objects.count() == 0
    assert not ChangeEvent.objects.filter(kind="royalties_imported").exists()
    problems = {(e["row"], e["column"]) for e in record.errors}
    assert problems == {
        (3, "units"),
        (3, "period_end"),
        (4, "isbn"),
        (4, "currency"),
        (4, "rate"),
    }
    report = error_report_csv(record)
    assert report.splitlines()[0] == "row,column,value,error"
    assert "3,units,twelve,units 'twelve' is not a whole number" in report


def test_unknown_or_foreign_contracts_are_refused(imprint_a, contracts):
    record = royalty_import(
        stream=_csv(_row(999999), _row(600001)), filename="x.csv", imprint=imprint_a
    )
    assert not record.imported
    messages = [e["error"] for e in record.errors]
    assert any("not a contract in the mirror" in m for m in messages)
    assert any("belongs to another imprint" in m for m in messages)


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"payee_contact_id,contract_id\n1,2\n", "x.csv", "lacks these columns"),
        (b"", "x.csv", "empty"),
        (HEADER.encode() + b"\n", "x.csv", "no rows"),
        (b"\xff\xfe\x00garbage", "x.csv", "not UTF-8"),
        (b"not a zip", "x.xlsx", "not a readable XLSX"),
        (b"a,b", "x.pdf", "Upload a .csv or .xlsx"),
    ],
)
def test_unreadable_files_give_one_clear_error(imprint_a, content, filename, expected):
    record = royalty_import(stream=io.BytesIO(content), filename=filename, imprint=imprint_a)
    assert not record.imported
    assert expected in record.errors[0]["error"]
    assert RoyaltyLine.objects.count() == 0


def test_the_same_file_is_not_imported_twice(imprint_a, contracts):
    royalty_import(stream=_csv(_row()), filename="a.csv", imprint=imprint_a)
    again = royalty_import(stream=_csv(_row()), filename="a.csv", imprint=imprint_a)
    assert not again.imported and "already been imported" in again.errors[0]["error"]
    assert RoyaltyLine.objects.count() == 1
    assert RoyaltyImport.objects.count() == 2


# --- issue 12: no import crosses an imprint ------------------------------------------------


def test_a_contract_of_another_imprint_is_refused_and_nothing_of_it_changes(
    imprint_a, imprint_b, contracts
):
    """By source id: Harbour Lights' file names Northwind's contract."""
    other = contracts["other"]
    record = royalty_import(stream=_csv(_row(), _row(600001)), filename="x.csv", imprint=imprint_a)
    assert not record.imported
    assert [(e["row"], e["column"]) for e in record.errors] == [(3, "contract_id")]
    assert "contract_id belongs to another imprint" in record.errors[0]["error"]
    assert RoyaltyLine.objects.count() == 0
    assert not ChangeEvent.objects.filter(work=other.work).exists()


def test_an_isbn_of_another_imprint_is_refused(imprint_a, imprint_b, contracts):
    """By ISBN: a line of this imprint's contract quoting Northwind's ISBN is refused."""
    foreign = ProductFactory.create(work=contracts["other"].work, isbn13="9781908435500")
    record = royalty_import(
        stream=_csv(_row(isbn="978-1-908435-50-0")), filename="x.csv", imprint=imprint_a
    )
    assert not record.imported
    assert record.errors[0]["column"] == "isbn"
    assert "isbn belongs to a title of another imprint" in record.errors[0]["error"]
    assert RoyaltyLine.objects.count() == 0
    assert not ChangeEvent.objects.filter(work=foreign.work).exists()


# --- issue 12: work is bounded by rows read and uncompressed size, not by rows kept --------


def test_blank_csv_rows_count_against_the_row_limit(imprint_a, contracts, monkeypatch):
    from integration.lib import uploads

    monkeypatch.setattr(uploads, "MAX_ROWS_READ", 50)
    content = (HEADER + "\n" + _row() + "\n" + "\n" * 5000).encode()
    record = royalty_import(stream=io.BytesIO(content), filename="blank.csv", imprint=imprint_a)
    assert not record.imported
    assert "more than 50 rows (blank rows count too)" in record.errors[0]["error"]
    assert RoyaltyLine.objects.count() == 0


def test_blank_xlsx_rows_count_against_the_row_limit(imprint_a, contracts, monkeypatch):
    from integration.lib import uploads

    monkeypatch.setattr(uploads, "MAX_ROWS_READ", 50)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    for _ in range(200):
        sheet.append([""] * len(COLUMNS))
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    record = royalty_import(stream=buffer, filename="blank.xlsx", imprint=imprint_a)
    assert not record.imported
    assert "blank rows count too" in record.errors[0]["error"]


def test_a_zip_bomb_workbook_is_refused_before_it_is_opened(imprint_a, monkeypatch):
    import zipfile

    from integration.lib import uploads

    monkeypatch.setattr(uploads, "XLSX_MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (3 * 1024 * 1024))
    buffer.seek(0)

    def never(*args, **kwargs):
        raise AssertionError("the workbook must not be opened")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    record = royalty_import(stream=buffer, filename="bomb.xlsx", imprint=imprint_a)
    assert not record.imported
    assert "The workbook expands to 3 MB" in record.errors[0]["error"]
