"""upsert_rows (one INSERT … ON CONFLICT … WHERE changed … RETURNING per batch) and the
PostgreSQL COPY path of insert_rows, on whichever backend the suite runs."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from integration.lib.bulk import insert_rows
from integration.lib.upsert import upsert_rows
from integration.models import Contact, Price
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(hours=1)
UPDATE = ["name", "emails", "raw", "snapshot", "content_hash", "synced_at", "withdrawn_at"]


def contact(cid: int, name: str, digest: str, *, at: datetime.datetime = T0) -> Contact:
    doc = {"id": cid, "name": name, "nested": {"list": [1, "two", None]}}
    return Contact(
        consonance_id=cid,
        name=name,
        emails=[f"{cid}@authors.test"],
        raw=doc,
        snapshot=doc,  # the same object twice, as the mirror stores products
        content_hash=digest,
        synced_at=at,
    )


def upsert(objs: list[Contact]) -> dict[int, int]:
    return upsert_rows(
        Contact,
        objs,
        key="consonance_id",
        update=UPDATE,
        changed=["content_hash"],
        reinstate="withdrawn_at",
    )


def test_new_rows_are_inserted_and_their_keys_returned():
    pks = upsert([contact(1, "Ann", "h1"), contact(2, "Bo", "h2")])
    assert pks == dict(Contact.objects.values_list("consonance_id", "pk"))
    ann = Contact.objects.get(consonance_id=1)
    assert ann.name == "Ann" and ann.emails == ["1@authors.test"] and ann.synced_at == T0
    assert ann.raw == ann.snapshot == {"id": 1, "name": "Ann", "nested": {"list": [1, "two", None]}}


def test_same_hash_writes_nothing_and_returns_nothing():
    upsert([contact(1, "Ann", "h1")])
    # Different values, same hash: the database compares the hashes and leaves the row alone.
    assert upsert([contact(1, "Someone else", "h1", at=T1)]) == {}
    ann = Contact.objects.get(consonance_id=1)
    assert ann.name == "Ann" and ann.synced_at == T0


def test_changed_hash_updates_the_listed_fields_only():
    first = upsert([contact(1, "Ann", "h1")])
    Contact.objects.filter(consonance_id=1).update(isni="0000000121032683", source="onix")
    again = upsert([contact(1, "Ann Lee", "h2", at=T1), contact(3, "Cy", "h3")])
    assert again[1] == first[1] and set(again) == {1, 3}
    ann = Contact.objects.get(consonance_id=1)
    assert (ann.name, ann.content_hash, ann.synced_at) == ("Ann Lee", "h2", T1)
    # Fields not in ``update`` keep their stored values.
    assert (ann.isni, ann.source) == ("0000000121032683", "onix")


def test_withdrawn_row_with_the_same_hash_is_reinstated():
    upsert([contact(1, "Ann", "h1")])
    Contact.objects.filter(consonance_id=1).update(withdrawn_at=T0)
    assert set(upsert([contact(1, "Ann", "h1", at=T1)])) == {1}
    ann = Contact.objects.get(consonance_id=1)
    assert ann.withdrawn_at is None and ann.synced_at == T1


def test_batches_larger_than_one_statement_allows():
    # 700 rows of ~16 columns exceed SQLite's 999 parameters and a 500-row PostgreSQL batch.
    pks = upsert([contact(i, f"C{i}", f"h{i}") for i in range(1, 701)])
    assert len(pks) == 700 == Contact.objects.count()
    assert upsert([contact(i, f"C{i}", f"h{i}") for i in range(1, 701)]) == {}


def test_insert_rows_is_seen_by_query_capture_and_raises_integrity_errors():
    product = ProductFactory.create()

    def price(ident: str) -> Price:
        return Price(
            product=product, consonance_id=ident, amount="12.99", currency="GBP",
            price_type="02", territory="GB", effective_from=datetime.date(2026, 1, 5),
        )  # fmt: skip

    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(Price, [price("a"), price("b")]) == 2
    assert any("integration_price" in q["sql"] for q in queries.captured_queries)
    stored = Price.objects.get(consonance_id="a")
    assert str(stored.amount) == "12.99" and stored.effective_from == datetime.date(2026, 1, 5)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Contact, [contact(1, "Ann", "h1"), contact(1, "Ann", "h1")])
    assert not Contact.objects.exists()


def test_rows_as_mappings_take_field_defaults_and_reject_unknown_names():
    product = ProductFactory.create()
    row = {"product_id": product.pk, "amount": "9.99", "currency": "EUR", "price_type": "02"}
    assert insert_rows(Price, [row]) == 1
    stored = Price.objects.get()
    # Left out: the field's default, as a new instance would have.
    assert (stored.territory, stored.effective_from) == ("", None)
    with pytest.raises(TypeError, match="product"):
        insert_rows(Price, [{"product": product, "amount": "1", "currency": "EUR"}])
    pks = upsert_rows(
        Contact,
        [{"consonance_id": 7, "name": "Di", "content_hash": "h7"}],
        key="consonance_id",
        update=["name", "content_hash"],
        changed=["content_hash"],
    )
    di = Contact.objects.get(pk=pks[7])
    assert (di.name, di.emails, di.raw, di.kind) == ("Di", [], {}, Contact.Kind.PERSON)
