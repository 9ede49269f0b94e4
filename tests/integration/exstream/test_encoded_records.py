"""Batch records sent as stored: the spliced wire text must be exactly the record the
decode → add key → nest → encode path gives, and the fast path must step aside when it is not."""

from __future__ import annotations

import json

import pytest

from integration.connectors.exstream.driver import (
    EncodedRecord,
    nest,
    wire_prefix,
    wire_record,
    with_customer_key,
)

KEY = "0b6f3c1e-8d4a-4e2b-9a57-3f1d2c4b5a69"


@pytest.mark.parametrize(
    "flat",
    [
        {"recipientName": 'Zoë "Z" O\'Brien', "workTitle": "Tides\n(revised)", "n": 3},
        {"recipientName": "A", "nested": {"x": [1, 2]}, "none": None},
        {},
    ],
)
@pytest.mark.parametrize("key_field", ["customer.customerNumber", "customerNumber"])
def test_spliced_wire_form_is_the_nested_record(flat, key_field):
    prefix = wire_prefix(list(flat), key_field)
    assert prefix is not None
    for stored in (json.dumps(flat), json.dumps(flat, separators=(",", ":"), sort_keys=True)):
        wire = wire_record(prefix, KEY, stored)
        assert wire is not None
        assert json.loads(wire) == nest(with_customer_key(flat, key_field, KEY))


def test_no_fast_path_where_the_stored_form_is_not_the_wire_form():
    assert wire_prefix(["customer.name", "title"], "customer.customerNumber") is None
    assert wire_prefix(["customer", "title"], "customer.customerNumber") is None
    assert wire_prefix(["customerNumber"], "customerNumber") is None
    assert wire_prefix(["title"], "") is None
    assert wire_record("{%s", KEY, "[1, 2]") is None


def test_encoded_record_reads_as_the_flat_record_with_its_key():
    flat = {"recipientName": "A", "customer.name": "B"}
    record = EncodedRecord(json.dumps(flat), "customer.customerNumber", KEY)
    assert dict(record) == {**flat, "customer.customerNumber": KEY}
    assert record["recipientName"] == "A" and "customerKey" not in record
    assert record.wire is None
