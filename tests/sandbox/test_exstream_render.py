"""The sandbox's hand-written PDF must be structurally valid (xref offsets, stream length)."""

from __future__ import annotations

import re

from sandbox.exstream.render import WATERMARK, render_html, render_pdf, render_text


def test_pdf_xref_offsets_and_stream_length_are_exact():
    data = render_pdf("Letter (draft)", {"path": "a\\b", "name": "Zoë — editor"}, watermark=True)
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
    assert b"(Letter \\(draft\\)) Tj" in data and b"(path: a\\\\b) Tj" in data
    assert b"Zo\xeb \x97 editor" in data  # WinAnsi


def test_html_escapes_driver_values_and_text_is_plain():
    html = render_html("T", {"x": "<script>alert(1)</script>"}, watermark=False)
    assert "<script>" not in html and "&lt;script&gt;" in html and WATERMARK not in html
    assert render_text("T", {"b": 2, "a": 1}, watermark=True).splitlines() == [
        WATERMARK,
        "T",
        "a: 1",
        "b: 2",
    ]
