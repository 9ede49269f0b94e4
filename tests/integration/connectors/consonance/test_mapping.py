"""Mapping Consonance records to documents: sentinels, hyphens, amounts."""

from __future__ import annotations

import pytest

from integration.connectors.consonance.mapping import (
    RecordError,
    clean_isbn,
    content_hash,
    normalise_rest_product,
    normalise_work,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("978-0-00-723283-3", "9780007232833"),
        ("No ISBN", None),
        ("no isbn", None),
        (None, None),
        ("", None),
        ("978 0 00 723283 3", "9780007232833"),
    ],
)
def test_isbns(value, expected):
    assert clean_isbn(value) == expected


def test_bad_isbn_is_a_record_error():
    with pytest.raises(RecordError, match="not 13 digits"):
        clean_isbn("12-34")


def test_rest_product_fallback_maps_sentinels_and_amounts():
    doc = normalise_rest_product(
        {
            "id": 7,
            "isbn": "978-1-909679-64-1",
            "full_title": "Gold",
            "pub_date": "2026-03-05",
            "publishing_status": "04",
            "product_form": "BC",
            "prices": [
                {
                    "currency_code": "GBP",
                    "price_type": "02",
                    "price_qualifier": "05",
                    "price_amount": 8.999,
                }
            ],
            "rights_not_available_countries": ["US"],
        }
    )
    assert doc["isbn13"] == "9781909679641"
    assert doc["prices"][0]["amount"] == "9.00" and doc["prices"][0]["territory"] == "GB"
    assert normalise_rest_product({"id": 8, "isbn": "No ISBN"})["isbn13"] is None


def test_work_hash_ignores_order_of_products_and_rejects_missing_imprint():
    products: list[dict[str, object]] = [{"id": 2, "prices": []}, {"id": 1, "prices": []}]
    work: dict[str, object] = {
        "id": 1,
        "title": "T",
        "imprint": {"id": 101, "name": "H"},
        "products": products,
    }
    flipped = {**work, "products": list(reversed(products))}
    assert content_hash(normalise_work(work)) == content_hash(normalise_work(flipped))
    with pytest.raises(RecordError, match="no imprint"):
        normalise_work({"id": 1, "title": "T"})


def test_a_price_without_amount_or_currency_leaves_the_price_out_not_the_work():
    """The SDL makes ``Price.amount`` and ``Price.currencyCode`` nullable: a real Consonance may
    send a price with neither (nothing to quote). The work and its other prices are mirrored."""
    prices = [
        {"id": 1, "amount": None, "currencyCode": "GBP", "onixPriceTypeCode": "02"},
        {"id": 2, "amount": 9.99, "currencyCode": None, "onixPriceTypeCode": "02"},
        {"id": 3, "amount": 12.5, "currencyCode": "USD", "onixPriceTypeCode": "01"},
    ]
    doc = normalise_work(
        {
            "id": 1,
            "title": "T",
            "imprint": {"id": 101, "name": "H"},
            "products": [{"id": 5, "prices": prices}],
        }
    )
    assert [(p["currency"], p["amount"]) for p in doc["products"][0]["prices"]] == [
        ("USD", "12.50")
    ]
    # A value that is there but wrong is still an error on the record.
    bad = [{"id": 4, "amount": "lots", "currencyCode": "GBP"}]
    with pytest.raises(RecordError, match="not a number"):
        normalise_work(
            {
                "id": 1,
                "title": "T",
                "imprint": {"id": 101, "name": "H"},
                "products": [{"id": 5, "prices": bad}],
            }
        )
