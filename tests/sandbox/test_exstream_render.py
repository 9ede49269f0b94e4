"""The sandbox renders each communication as its kind of document (letter, e-mail, statement);
its hand-written PDF must be structurally valid (xref offsets, stream length)."""

from __future__ import annotations

import datetime
import re

import pytest

from sandbox.exstream.render import (
    EMAIL,
    LETTER,
    STATEMENT,
    WATERMARK,
    display,
    document_kind,
    field_label,
    render_html,
    render_pdf,
    render_text,
)
from sandbox.models import SandboxWork

LETTER_DRIVER = {
    "customerKey": "36e5c0de",
    "recipientName": "Ada Lovelace",
    "recipientAddress": "12 St James's Square\nLondon\nSW1Y 4JH",
    "imprintName": "Harbour Lights",
    "workTitle": "The Analytical Engine",
    "isbn": "9780000000001",
    "territories": "FR, DE",
    "rightsGranted": "Translation",
    "confirmByDate": "2026-03-19",
}


def test_pdf_xref_offsets_and_stream_length_are_exact():
    data = render_pdf(
        "Letter (draft)", {"path": "a\\b", "recipientName": "Zoë — editor"}, watermark=True
    )
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    startxref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[startxref : startxref + 4] == b"xref"
    lines = data[startxref:].split(b"\n")
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number][:10])
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    match = re.search(rb"/Length (\d+) >>\nstream\n", data)
    assert match is not None
    end = match.end() + int(match.group(1))
    assert data[end : end + 10] == b"\nendstream"
    assert b"(Letter \\(draft\\)) Tj" in data and b"(Path: a\\\\b) Tj" in data
    assert b"(Dear Zo\xeb \x97 editor,) Tj" in data  # WinAnsi
    assert b"PREVIEW \x97 NOT FOR DISTRIBUTION" in data


def test_document_kind_follows_the_communication():
    assert document_kind("Royalty statement", ["PDF", "HTML"]) == STATEMENT
    assert document_kind("Permission letter", ["PDF", "HTML"]) == LETTER
    assert document_kind("Launch announcement e-mail", ["HTML"]) == EMAIL


def test_letter_has_letterhead_date_address_salutation_and_body():
    text = render_text("Rights confirmation letter", LETTER_DRIVER, watermark=False, kind=LETTER)
    lines = text.splitlines()
    assert lines[0] == "Harbour Lights"  # letterhead
    today = datetime.date.today()
    assert any(line.startswith(str(today.day)) and str(today.year) in line for line in lines[:4])
    address = lines.index("Ada Lovelace")
    assert lines[address + 1 : address + 4] == ["12 St James's Square", "London", "SW1Y 4JH"]
    assert "Dear Ada Lovelace," in lines
    assert any("The Analytical Engine (ISBN 9780000000001)" in line for line in lines)
    assert "Confirm by date: 19 March 2026" in lines
    assert "Rights granted: Translation" in lines
    assert "Yours sincerely," in lines
    # Colophon's own key and the raw field names never show.
    assert "36e5c0de" not in text and "customerKey" not in text and "confirmByDate" not in text
    assert WATERMARK not in text


def test_letter_html_escapes_driver_values_and_is_watermarked_outside_production():
    driver = {**LETTER_DRIVER, "rightsGranted": "<script>alert(1)</script>"}
    html = render_html("Permission letter", driver, watermark=True, kind=LETTER)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert WATERMARK in html and 'class="letterhead">Harbour Lights<' in html
    assert "Dear Ada Lovelace," in html and "12 St James&#x27;s Square<br>London" in html
    assert WATERMARK not in render_html("Permission letter", driver, watermark=False)


@pytest.mark.django_db
def test_email_shows_cover_blurb_formats_and_prices():
    work = SandboxWork.objects.create(
        id=7, imprint_id=101, data={"title": "The Lighthouse Keeper", "contributorPrettyList": "A"}
    )
    driver = {
        "customerKey": "k",
        "recipientName": "Mary Shelley",
        "recipientEmail": "mary@members.test",
        "imprintName": "Harbour Lights",
        "workTitle": "The Lighthouse Keeper",
        "publicationDate": "2026-09-03",
        "blurb": "A keeper's last winter on the rock.",
        "coverImageUrl": f"http://sandbox.test/sandbox/consonance/covers/{work.pk}.svg",
        "formats": ["Hardback — Available", "E-book — Not yet available"],
        "prices": ["16.99 GBP (GB)", "24.99 USD (US)"],
    }
    html = render_html("Launch announcement e-mail", driver, watermark=True, kind=EMAIL)
    # The sandbox's own cover is inlined (a preview frame loads nothing from elsewhere).
    assert (
        'src="data:image/svg+xml;base64,' in html and 'alt="Cover of The Lighthouse Keeper"' in html
    )
    assert "A keeper&#x27;s last winter on the rock." in html
    assert "<li>Hardback — Available</li>" in html and "<li>24.99 USD (US)</li>" in html
    assert "Publication date</dt><dd>3 September 2026" in html
    assert "To: mary@members.test" in html and WATERMARK in html
    # A cover elsewhere is left for the mail client to fetch.
    other = render_html(
        "Launch announcement e-mail",
        {**driver, "coverImageUrl": "https://covers.example.test/a.jpg"},
        watermark=False,
        kind=EMAIL,
    )
    assert 'src="https://covers.example.test/a.jpg"' in other


def test_statement_lists_its_lines_and_total():
    driver = {
        "recipientName": "Jane Doe",
        "imprintName": "Harbour Lights",
        "statementPeriod": "1 January – 30 June 2026",
        "amountDue": "734.56",
        "currency": "GBP",
        "statementLines": [
            {"isbn": "9780000000001", "channel": "Home", "territory": "GB", "units": 1520,
             "royalty": "1234.56"},
            {"isbn": "9780000000002", "channel": "Export", "territory": "US", "units": -3,
             "royalty": "-2.10"},
        ],
    }  # fmt: skip
    html = render_html("Royalty statement", driver, watermark=False, kind=STATEMENT)
    assert '<table class="lines">' in html
    assert "<td>9780000000002</td><td>Export</td><td>US</td><td class=num>-3</td>" in html
    assert 'Amount due</td><td class="num">734.56 GBP</td>' in html
    text = render_text("Royalty statement", driver, watermark=False, kind=STATEMENT)
    assert "9780000000001 | Home | GB | 1520 | 1234.56" in text
    assert "Amount due: 734.56 GBP" in text and "1 January – 30 June 2026" in text
    formatted = render_text(
        "Royalty statement", {**driver, "amountDue": "£734.56"}, watermark=False, kind=STATEMENT
    )
    assert "Amount due: £734.56" in formatted.splitlines()


def test_values_read_as_words_never_reprs():
    assert field_label("confirmByDate") == "Confirm by date" and field_label("isbn") == "ISBN"
    assert display({"amount": "16.99", "currency": "GBP"}) == "16.99 GBP"
    assert display(["FR", "DE"]) == "FR, DE" and display(True) == "Yes"
    assert display("2026-02-30") == "2026-02-30"  # not a real date: shown as given
    assert "{" not in display({"right_type": "Translation", "territory": "FR"})
