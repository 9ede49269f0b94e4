"""Hostile vendor text through the bulk writers: a Consonance name or title holding tabs,
newlines, backslashes, ``\\N``, COPY's end-of-data marker, quotes, SQL fragments or non-BMP
characters is stored exactly as sent — on PostgreSQL through COPY (``insert_rows`` and the
staging table of ``upsert_rows``), on SQLite through parameters — and never read as a column
separator, a NULL, the end of the data or SQL."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import DataError, connection, transaction

from integration.lib.bulk import insert_rows
from integration.lib.upsert import upsert_rows
from integration.models import Contact, MarketingText, Price
from tests.factories import ProductFactory, WorkFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)

HOSTILE = [
    "tab\there",
    "new\nline",
    "carriage\rreturn\r\n",
    "back\\slash\\",
    "\\N",
    "\\.",
    "line\n\\.\nafter the end marker",
    "\\\\N",
    'O\'Brien "quoted"',
    "'); DROP TABLE integration_contact; --",
    "$$dollar$$ E'\\x41'",
    "emoji \U0001f4da and CJK \U00020000",
    "\u2028\u2029 separators \x7f",
    "",
    " ",
    "NULL",
]


def _contact(cid: int, text: str) -> dict[str, Any]:
    doc = {"id": cid, "name": text, "list": [text, {"k\t\\": text}]}
    return {
        "consonance_id": cid,
        "name": text,
        "emails": [f"{cid}@authors.test", text],
        "raw": doc,
        "snapshot": doc,
        "content_hash": f"h{cid}",
        "synced_at": T0,
    }


def _upsert(rows: list[dict[str, Any]]) -> dict[int, int]:
    return upsert_rows(
        Contact,
        rows,
        key="consonance_id",
        update=["name", "emails", "raw", "snapshot", "content_hash"],
        changed=["content_hash"],
    )


def _assert_stored(rows: list[dict[str, Any]]) -> None:
    stored = {c.consonance_id: c for c in Contact.objects.all()}
    assert len(stored) == len(rows)
    for row in rows:
        got = stored[row["consonance_id"]]
        assert got.name == row["name"]
        assert got.emails == row["emails"]
        assert got.raw == row["raw"] and got.snapshot == row["snapshot"]


def test_hostile_text_round_trips_through_upsert_rows():
    rows = [_contact(i, text) for i, text in enumerate(HOSTILE, start=1)]
    pks = _upsert(rows)
    assert set(pks) == {r["consonance_id"] for r in rows}
    _assert_stored(rows)
    # Updated through the same path (the staging table again on PostgreSQL).
    changed = [
        {**_contact(i, text[::-1] + "\t\\N"), "content_hash": f"g{i}"}
        for i, text in enumerate(HOSTILE, start=1)
    ]
    assert set(_upsert(changed)) == set(pks)
    _assert_stored(changed)


def test_hostile_text_round_trips_through_insert_rows():
    rows = [_contact(i, text) for i, text in enumerate(HOSTILE, start=1)]
    assert insert_rows(Contact, rows) == len(rows)
    _assert_stored(rows)
    work = WorkFactory.create()
    product = ProductFactory.create(work=work)
    texts = [
        {"work_id": work.pk, "consonance_id": i, "text_type": "03", "text": text}
        for i, text in enumerate(HOSTILE)
    ]
    insert_rows(MarketingText, texts)
    assert sorted(MarketingText.objects.values_list("text", flat=True)) == sorted(HOSTILE)
    # A value in a non-text column is a value too: a territory with a tab stays one column.
    insert_rows(
        Price,
        [{"product_id": product.pk, "amount": "1.50", "currency": "GBP", "territory": "G\tB"}],
    )
    assert Price.objects.get().territory == "G\tB"


def test_a_nul_character_in_vendor_text():
    """PostgreSQL cannot store NUL in text (SQLite can): the write is refused whole — an error,
    not a truncated or shifted row — and nothing of the batch is stored."""
    rows = [_contact(1, "fine"), _contact(2, "nul\x00inside")]
    if connection.vendor == "postgresql":
        with pytest.raises(DataError), transaction.atomic():
            _upsert(rows)
        assert not Contact.objects.exists()
    else:
        _upsert(rows)
        _assert_stored(rows)
