"""Deterministic documents from driver data: a minimal valid PDF, HTML and plain text."""

from __future__ import annotations

from html import escape
from typing import Any

WATERMARK = "PREVIEW — NOT FOR DISTRIBUTION"


def _lines(title: str, driver: dict[str, Any], watermark: bool) -> list[str]:
    lines = [WATERMARK] if watermark else []
    lines.append(title)
    lines.extend(f"{key}: {value}" for key, value in sorted(driver.items()))
    return lines


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def render_pdf(title: str, driver: dict[str, Any], *, watermark: bool) -> bytes:
    """One A4 page, Helvetica, one driver field per line (WinAnsi, so the dash survives)."""
    stream = b"BT /F1 11 Tf 50 790 Td 14 TL\n"
    for line in _lines(title, driver, watermark)[:50]:
        stream += b"(" + _pdf_text(line[:110]) + b") Tj T*\n"
    stream += b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
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


def render_html(title: str, driver: dict[str, Any], *, watermark: bool) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
        for k, v in sorted(driver.items())
    )
    mark = f'<p class="watermark"><strong>{WATERMARK}</strong></p>' if watermark else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body>{mark}<h1>{escape(title)}</h1><table>{rows}</table></body></html>"
    )


def render_text(title: str, driver: dict[str, Any], *, watermark: bool) -> str:
    return "\n".join(_lines(title, driver, watermark)) + "\n"
