"""Documents from driver data, each as its kind of document: a letter (letterhead, date, address
block, salutation, body, sign-off), an e-mail (cover image, blurb, formats and prices) or a
statement (payee, period, lines, totals). Output is a minimal valid PDF, HTML or plain text;
non-production output carries the watermark.

Real Exstream lays documents out from a design; the sandbox has no designs, so it picks the
layout from the communication (a statement by name, a letter when it has a print queue, an
e-mail otherwise) and builds the body from the driver fields it is given — nothing else.
"""

from __future__ import annotations

import datetime
import re
from base64 import b64encode
from collections.abc import Iterable
from html import escape
from typing import Any

from sandbox.consonance.api import cover_svg

WATERMARK = "PREVIEW — NOT FOR DISTRIBUTION"

LETTER, EMAIL, STATEMENT = "letter", "email", "statement"

# Driver fields with a place of their own in the layout (never repeated in the body).
_ADDRESS = ("recipientName", "recipientAddress", "recipientCountry")
_HIDDEN = {"customerKey", "recipientEmail", "imprintName", "letterDate", *_ADDRESS}
_TITLE_FIELDS = ("workTitle", "isbn")
_EMAIL_FIELDS = ("coverImageUrl", "blurb", "formats", "prices")
_STATEMENT_FIELDS = ("statementLines", "statementPeriod", "amountDue", "currency")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
_SANDBOX_COVER = re.compile(r"/sandbox/consonance/covers/(\d+)\.svg$")


def document_kind(name: str, queue_drivers: Iterable[str] = ()) -> str:
    """statement, letter or email for a communication's name and its queues' drivers."""
    if "statement" in name.lower():
        return STATEMENT
    if "PDF" in set(queue_drivers):
        return LETTER
    return EMAIL


def field_label(name: str) -> str:
    """``confirmByDate`` -> "Confirm by date"; ``isbn`` -> "ISBN"."""
    if name.lower() == "isbn":
        return "ISBN"
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


def _long_date(day: datetime.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def display(value: Any) -> str:
    """A driver value as a reader sees it: ISO dates spelled out, lists joined, money as
    "16.99 GBP"; never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            try:
                return _long_date(datetime.date.fromisoformat(value))
            except ValueError:
                return value
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            return f"{value['amount']} {value['currency']}"
        return "; ".join(f"{field_label(str(k))}: {display(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    return str(value)


def _letter_date(driver: dict[str, Any]) -> str:
    # A composition is dated the day it runs, unless the design is given a date to print.
    given = driver.get("letterDate")
    return display(given) if given else _long_date(datetime.date.today())


def _address(driver: dict[str, Any]) -> list[str]:
    lines = [str(driver.get("recipientName") or "")]
    address = driver.get("recipientAddress")
    if isinstance(address, list):
        lines.extend(str(a) for a in address)
    elif address:
        lines.extend(str(address).splitlines())
    if driver.get("recipientCountry"):
        lines.append(str(driver["recipientCountry"]))
    return [ln for ln in lines if ln.strip()]


def _salutation(driver: dict[str, Any]) -> str:
    name = str(driver.get("recipientName") or "").strip()
    return f"Dear {name}," if name else "Dear reader,"


def _subject(title: str, driver: dict[str, Any]) -> str:
    work = driver.get("workTitle")
    return f"{title}: {work}" if work else title


def _opening(title: str, driver: dict[str, Any]) -> str:
    work, isbn = driver.get("workTitle"), driver.get("isbn")
    if work:
        about = f"{work} (ISBN {isbn})" if isbn else str(work)
        return f"We are writing to you about {about}. The details of this {title.lower()} follow."
    return f"Please find the details of this {title.lower()} below."


def _body_rows(driver: dict[str, Any], skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    hidden = _HIDDEN | set(_TITLE_FIELDS) | set(skip)
    return [
        (field_label(k), display(v))
        for k, v in driver.items()
        if k not in hidden and display(v) != ""
    ]


def _statement_lines(driver: dict[str, Any]) -> list[dict[str, Any]]:
    lines = driver.get("statementLines")
    return [ln for ln in lines if isinstance(ln, dict)] if isinstance(lines, list) else []


_LINE_COLUMNS = [("isbn", "ISBN"), ("channel", "Channel"), ("territory", "Territory"),
                 ("units", "Units"), ("royalty", "Royalty")]  # fmt: skip


def _amount_due(driver: dict[str, Any]) -> str:
    amount = display(driver.get("amountDue"))
    currency = driver.get("currency")
    # A bare number gets its currency; an already formatted amount ("£734.56") stays as it is.
    if amount and currency and re.fullmatch(r"-?[\d.,\s]+", amount):
        return f"{amount} {currency}"
    return amount


# --- Plain lines (text and PDF) ---------------------------------------------------------------


def document_lines(
    title: str, driver: dict[str, Any], *, watermark: bool, kind: str | None = None
) -> list[tuple[str, str]]:
    """The document as (style, text) lines: style is "head", "bold", "text" or "gap"."""
    kind = kind or document_kind(title)
    out: list[tuple[str, str]] = []
    if watermark:
        out.append(("bold", WATERMARK))
    out.append(("head", str(driver.get("imprintName") or title)))
    out.append(("gap", ""))
    if kind == EMAIL:
        out.append(("bold", _subject(title, driver)))
        out.append(("text", f"To: {driver.get('recipientEmail') or driver.get('recipientName')}"))
        out.append(("gap", ""))
    else:
        out.append(("text", _letter_date(driver)))
        out.append(("gap", ""))
        out.extend(("text", line) for line in _address(driver))
        out.append(("gap", ""))
        out.append(("bold", _subject(title, driver)))
    out.append(("gap", ""))
    out.append(("text", _salutation(driver)))
    out.append(("gap", ""))
    if kind == STATEMENT:
        out.append(("text", f"Your {title.lower()} for {display(driver.get('statementPeriod'))}."))
        out.append(("gap", ""))
        lines = _statement_lines(driver)
        if lines:
            out.append(("bold", " | ".join(h for _k, h in _LINE_COLUMNS)))
            for ln in lines:
                out.append(("text", " | ".join(display(ln.get(k)) for k, _h in _LINE_COLUMNS)))
            out.append(("gap", ""))
        out.append(("bold", f"Amount due: {_amount_due(driver)}"))
        for label, value in _body_rows(driver, _STATEMENT_FIELDS):
            out.append(("text", f"{label}: {value}"))
    else:
        if kind == EMAIL and driver.get("blurb"):
            out.append(("text", str(driver["blurb"])))
            out.append(("gap", ""))
        out.append(("text", _opening(title, driver)))
        out.append(("gap", ""))
        skip = ("coverImageUrl", "blurb") if kind == EMAIL else ()
        for label, value in _body_rows(driver, skip):
            out.append(("text", f"{label}: {value}"))
    out.append(("gap", ""))
    out.append(("text", "Yours sincerely," if kind != EMAIL else "With best wishes,"))
    out.append(("text", str(driver.get("imprintName") or "")))
    return out


def render_text(
    title: str, driver: dict[str, Any], *, watermark: bool, kind: str | None = None
) -> str:
    return "\n".join(t for _s, t in document_lines(title, driver, watermark=watermark, kind=kind))


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines


def render_pdf(
    title: str, driver: dict[str, Any], *, watermark: bool, kind: str | None = None
) -> bytes:
    """One A4 page in Helvetica (WinAnsi, so the dash survives): letterhead, then the document's
    lines, wrapped; the watermark runs diagonally in grey behind the text."""
    stream = b""
    if watermark:
        stream += (
            b"q 0.85 g BT /F2 40 Tf 0.7071 0.7071 -0.7071 0.7071 110 250 Tm ("
            + _pdf_text(WATERMARK)
            + b") Tj ET Q\n"
        )
    stream += b"BT 60 780 Td\n"
    count = 0
    for style, text in document_lines(title, driver, watermark=watermark, kind=kind):
        if count >= 52:
            break
        font, size, lead = {
            "head": (b"/F2", b"18", b"24"),
            "bold": (b"/F2", b"11", b"15"),
        }.get(style, (b"/F1", b"11", b"15"))
        if style == "gap":
            stream += b"0 -8 Td\n"
            continue
        for part in _wrap(text, 90) if text else [""]:
            stream += (
                font + b" " + size + b" Tf (" + _pdf_text(part) + b") Tj 0 -" + lead + b" Td\n"
            )
            count += 1
    stream += b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 6 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,serif;color:#222;background:#f4f4f0;margin:0;padding:1.5rem}
.doc{position:relative;background:#fff;max-width:40rem;margin:0 auto;padding:2.5rem 3rem;
box-shadow:0 1px 4px rgba(0,0,0,.2);overflow:hidden}
.watermark{position:absolute;top:40%;left:-10%;width:120%;text-align:center;transform:rotate(-30deg);
font:bold 2rem sans-serif;color:rgba(200,0,0,.18);pointer-events:none;letter-spacing:.1em}
.letterhead{border-bottom:3px solid #1f3f6b;margin-bottom:1.5rem;font:bold 1.5rem sans-serif;
color:#1f3f6b;padding-bottom:.5rem}
.date{text-align:right}.address{margin:1.5rem 0;line-height:1.4}.subject{font-weight:bold}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:bold}
dd{margin:0}.email-header{font-family:sans-serif;color:#555;font-size:.9rem;margin-bottom:1rem}
.hero{display:flex;gap:1.5rem;align-items:flex-start}.cover{width:9rem;flex:none}
.cover img{width:100%;border:1px solid #ccc}.cover .placeholder{width:9rem;height:13.5rem;
background:#1f3f6b;color:#fff;display:flex;align-items:center;justify-content:center;
text-align:center;padding:.5rem;box-sizing:border-box}
.blurb{font-style:italic}table.lines{border-collapse:collapse;width:100%;margin:1rem 0;
font-family:sans-serif;font-size:.9rem}table.lines th,table.lines td{border-bottom:1px solid #ddd;
padding:.3rem;text-align:left}td.num,th.num{text-align:right}tr.total td{font-weight:bold;
border-top:2px solid #222}.formats{list-style:none;padding:0}.formats li{margin:.2rem 0}
"""


def _cover_src(url: str) -> str:
    """The sandbox's own covers are inlined (a preview frame loads nothing from elsewhere);
    any other address is left for the mail client to fetch."""
    match = _SANDBOX_COVER.search(url)
    if match:
        svg = cover_svg(int(match.group(1)))
        if svg is not None:
            return "data:image/svg+xml;base64," + b64encode(svg.encode()).decode()
    return url


def _html_list(value: Any) -> str:
    items = value if isinstance(value, list) else [value] if value else []
    return "".join(f"<li>{escape(display(v))}</li>" for v in items)


def _html_details(rows: list[tuple[str, str]]) -> str:
    if not rows:
        return ""
    return (
        '<dl class="details">'
        + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
        + "</dl>"
    )


def _html_letter_top(title: str, driver: dict[str, Any]) -> str:
    address = "<br>".join(escape(line) for line in _address(driver))
    return (
        f'<p class="date">{escape(_letter_date(driver))}</p>'
        f'<p class="address">{address}</p>'
        f'<p class="subject">{escape(_subject(title, driver))}</p>'
    )


def _html_email(title: str, driver: dict[str, Any]) -> str:
    to = driver.get("recipientEmail") or driver.get("recipientName") or ""
    work = str(driver.get("workTitle") or title)
    cover = ""
    if driver.get("coverImageUrl"):
        src = _cover_src(str(driver["coverImageUrl"]))
        cover = f'<div class="cover"><img src="{escape(src)}" alt="Cover of {escape(work)}"></div>'
    blurb = f'<p class="blurb">{escape(str(driver["blurb"]))}</p>' if driver.get("blurb") else ""
    formats = driver.get("formats")
    prices = driver.get("prices")
    extra = ""
    if formats:
        extra += f'<h3>Available as</h3><ul class="formats">{_html_list(formats)}</ul>'
    if prices:
        extra += f'<h3>Prices</h3><ul class="formats">{_html_list(prices)}</ul>'
    rows = _body_rows(driver, _EMAIL_FIELDS)
    return (
        f'<div class="email-header">To: {escape(str(to))}<br>'
        f"Subject: {escape(_subject(title, driver))}</div>"
        f"<p>{escape(_salutation(driver))}</p>"
        f'<div class="hero">{cover}<div><h2>{escape(work)}</h2>{blurb}{extra}</div></div>'
        f"<p>{escape(_opening(title, driver))}</p>{_html_details(rows)}"
        f"<p>With best wishes,<br>{escape(str(driver.get('imprintName') or ''))}</p>"
    )


def _html_statement(title: str, driver: dict[str, Any]) -> str:
    lines = _statement_lines(driver)
    body = ""
    if lines:
        head = "".join(
            f'<th scope="col"{" class=num" if k in ("units", "royalty") else ""}>{h}</th>'
            for k, h in _LINE_COLUMNS
        )
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td{' class=num' if k in ('units', 'royalty') else ''}>"
                f"{escape(display(ln.get(k)))}</td>"
                for k, _h in _LINE_COLUMNS
            )
            + "</tr>"
            for ln in lines
        )
        body = f'<table class="lines"><thead><tr>{head}</tr></thead><tbody>{rows}'
    else:
        body = '<table class="lines"><tbody>'
    body += (
        f'<tr class="total"><td colspan="{len(_LINE_COLUMNS) - 1}">Amount due</td>'
        f'<td class="num">{escape(_amount_due(driver))}</td></tr></tbody></table>'
    )
    period = display(driver.get("statementPeriod"))
    return (
        _html_letter_top(title, driver)
        + f"<p>{escape(_salutation(driver))}</p>"
        + f"<p>Your {escape(title.lower())} for {escape(period)}.</p>"
        + body
        + _html_details(_body_rows(driver, _STATEMENT_FIELDS))
        + f"<p>Yours sincerely,<br>{escape(str(driver.get('imprintName') or ''))}</p>"
    )


def _html_letter(title: str, driver: dict[str, Any]) -> str:
    return (
        _html_letter_top(title, driver)
        + f"<p>{escape(_salutation(driver))}</p>"
        + f"<p>{escape(_opening(title, driver))}</p>"
        + _html_details(_body_rows(driver))
        + f"<p>Yours sincerely,<br>{escape(str(driver.get('imprintName') or ''))}</p>"
    )


def render_html(
    title: str, driver: dict[str, Any], *, watermark: bool, kind: str | None = None
) -> str:
    kind = kind or document_kind(title)
    body = {EMAIL: _html_email, STATEMENT: _html_statement}.get(kind, _html_letter)(title, driver)
    mark = f'<div class="watermark" role="note">{WATERMARK}</div>' if watermark else ""
    head = escape(str(driver.get("imprintName") or title))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(_subject(title, driver))}</title><style>{_CSS}</style></head>"
        f'<body><article class="doc {kind}">{mark}<div class="letterhead">{head}</div>'
        f"{body}</article></body></html>"
    )
