"""Consonance records → normalised documents.

The normalised document is what the mirror stores in ``snapshot``, what the content hash is taken
of, and what change events are computed from. ONIX imports produce the same shape, so both feed
the same upsert and the same change events.

Choices documented here:
* ISBNs: hyphens and spaces are stripped; ``"No ISBN"`` (any case) and empty become ``None``.
* Amounts: Float on the wire → ``Decimal`` quantised to 0.01, kept as a string in documents. A
  price without an amount or a currency (both nullable in the SDL) is left out.
* Price territory: Consonance's price has no territory field; the price's currency stands for its
  home market (GBP → GB, USD → US, EUR → EU …), ONIX prices carry their own territory.
* Audience: Work has no audience field in Consonance; the first marketing text's
  ``onixContentAudienceCodes`` (ONIX list 154) is used.
* Marketing text type: GraphQL gives ``variant`` (MarketingTextVariant), whose values are the
  ONIX 3.0 list 153 text types by name; we store the list 153 code. The reference documents no
  language field on MarketingText, so ``language`` stays empty.
* Availability (ONIX list 65): the reference names no Product field for it. When the server's
  schema has a Product field of the documented type ``ONIXProductAvailabilityCode``, the client
  selects it under the alias ``availability`` (see ``schema.py``); otherwise it stays empty.
* Contract parties: ``client`` is the publisher's own client record (type Client), kept as
  ``client`` ``{id, name}`` and never stored as a contact. A contract names a contributor only
  through its gratis copies' ``contactId`` (documented); see ``party_contact_ids``.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson

CURRENCY_TERRITORY = {
    "GBP": "GB",
    "USD": "US",
    "EUR": "EU",
    "AUD": "AU",
    "CAD": "CA",
    "NZD": "NZ",
    "INR": "IN",
    "CHF": "CH",
    "JPY": "JP",
    "ZAR": "ZA",
    "SEK": "SE",
    "NOK": "NO",
    "DKK": "DK",
}


# MarketingTextVariant (documented enum) → ONIX 3.0 list 153 text type code.
TEXT_TYPE_CODES = {
    "SENDER_DEFINED": "01",
    "SHORT_DESCRIPTION": "02",
    "DESCRIPTION": "03",
    "TABLE_OF_CONTENTS": "04",
    "PRIMARY_COVER_COPY": "05",
    "REVIEW_QUOTE": "06",
    "PREVIOUS_EDITION_REVIEW_QUOTE": "07",
    "PREVIOUS_WORK_REVIEW_QUOTE": "08",
    "ENDORSEMENT": "09",
    "PROMOTIONAL_HEADLINE": "10",
    "FEATURE": "11",
    "BIOGRAPHICAL_NOTE": "12",
    "PUBLISHERS_NOTICE": "13",
    "EXCERPT": "14",
}


class RecordError(ValueError):
    """A record Consonance sent cannot be mirrored; the message says why."""


# Compiled once: a sync maps every record of every page, a full resync of 10,000 products some
# 170,000 dates and 100,000 prices, so the per-call lookup in ``re``'s cache shows up.
_ISBN_NOISE = re.compile(r"[\s-]")
_ISBN13 = re.compile(r"\d{13}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CENT = Decimal("0.01")


def content_hash(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# The version of the normalisers below (``normalise_work``, ``normalise_contract`` and what they
# call). Bump it whenever a normaliser's output for the same record changes: it is part of
# every ``raw_hash``, so the next sync maps every record again instead of trusting documents
# mapped the old way (``tests/integration/connectors/consonance/test_mapping_version.py``
# pins the output).
NORMALISER_VERSION = 1


def raw_hash(record: dict[str, Any], kind: str) -> str:
    """A hash of a record exactly as the source sent it (keys sorted), with its kind and the
    normalisers' version: equal hashes mean the record normalises to the same document, so a
    resync skips mapping it. Not ``content_hash``, which is of the normalised document."""
    try:
        text = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON-like (e.g. an integer beyond 64 bits): the slow, exact way
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
    digest = hashlib.blake2b(f"{kind}:{NORMALISER_VERSION}:".encode(), digest_size=20)
    digest.update(text)
    return digest.hexdigest()


def clean_isbn(value: Any) -> str | None:
    if value is None:
        return None
    text = _ISBN_NOISE.sub("", str(value))
    if not text or text.lower() == "noisbn":
        return None
    if not _ISBN13.fullmatch(text):
        raise RecordError(f"ISBN {value!r} is not 13 digits.")
    return text


def money(value: Any) -> str:
    try:
        return str(Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"Price amount {value!r} is not a number.") from exc


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _date(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)[:10]
    if not _ISO_DATE.fullmatch(text):
        raise RecordError(f"Date {value!r} is not YYYY-MM-DD.")
    return text


def _id(record: dict[str, Any], what: str) -> int:
    value = record.get("id")
    if not isinstance(value, int):
        raise RecordError(f"{what} has no integer id.")
    return value


def normalise_contact(record: dict[str, Any]) -> dict[str, Any]:
    kind = "organisation" if record.get("__typename") == "Organisation" else "person"
    return {
        "id": _id(record, "Contact"),
        "kind": kind,
        "name": _s(record.get("name") or record.get("organisationName")),
        "key_names": _s(record.get("keyNames")),
        "person_name_inverted": _s(record.get("personNameInverted")),
        "isni": _s(record.get("isni")),
        "country": _s(record.get("organisationCountry")),
        "emails": [e["email"] for e in record.get("emails") or [] if e.get("email")],
        "phones": [
            {"number": p.get("phoneNumber"), "type": p.get("phoneType")}
            for p in record.get("phones") or []
        ],
        "addresses": [
            {
                "lines": [
                    a.get(k) for k in ("addressLine1", "addressLine2", "addressLine3") if a.get(k)
                ],
                "postcode": a.get("postcode"),
                "country": (a.get("country") or {}).get("value"),
            }
            for a in record.get("addresses") or []
        ],
    }


def normalise_price(record: dict[str, Any]) -> dict[str, Any]:
    currency = _s(record.get("currencyCode")).upper()
    if not _CURRENCY.fullmatch(currency):
        raise RecordError(f"Price currency {record.get('currencyCode')!r} is not an ISO code.")
    return {
        "id": _s(record.get("id")),
        "amount": money(record.get("amount")),
        "currency": currency,
        "type": _s(record.get("onixPriceTypeCode")).lstrip("_"),
        "qualifier": _s(record.get("onixPriceTypeQualifierCode")).lstrip("_"),
        "territory": _s(record.get("territory")) or CURRENCY_TERRITORY.get(currency, ""),
        "from": _date(record.get("effectiveFrom")),
        "to": _date(record.get("effectiveTo")),
    }


def _quotable(price: Any) -> bool:
    """The SDL makes ``Price.amount`` and ``Price.currencyCode`` nullable: a price without
    either has nothing to quote and is left out (the work and its other prices are still
    mirrored). A value that is there but wrong stays an error on the record."""
    return not isinstance(price, dict) or (
        price.get("amount") is not None and price.get("currencyCode") is not None
    )


def _availability(value: Any) -> str:
    """The aliased availability field when the server offers one: a code, or an object with
    ``code`` (ONIXCode-like). Both readings are tolerated; absent → empty."""
    if isinstance(value, dict):
        value = value.get("code")
    return _s(value).lstrip("_")


def normalise_product(record: dict[str, Any]) -> dict[str, Any]:
    isbn = record.get("isbn")
    form = record.get("onix21ProductForm") or {}
    prices = sorted(
        (normalise_price(p) for p in record.get("prices") or [] if _quotable(p)),
        key=lambda p: (p["currency"], p["type"], p["qualifier"], p["territory"]),
    )
    return {
        "id": _id(record, "Product"),
        "isbn13": clean_isbn(isbn.get("isbn13") if isinstance(isbn, dict) else isbn),
        "full_title": _s(record.get("fullTitle")),
        "product_form": _s(record.get("onix21ProductFormCode") or form.get("code")),
        "product_form_description": _s(form.get("description")),
        "publication_date": _date(record.get("publicationDate")),
        "planned_publication_date": _date(record.get("plannedPublicationDate")),
        "publishing_status": _s(record.get("onixPublishingStatusCode")),
        "availability": _availability(record.get("availability")),
        "for_sale": sorted(record.get("forSaleCountryCodes") or []),
        "not_for_sale": sorted(record.get("notForSaleCountryCodes") or []),
        "prices": prices,
    }


def normalise_work(record: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL work (with products, contributions, texts, covers) as a document."""
    imprint = record.get("imprint")
    if not isinstance(imprint, dict) or not isinstance(imprint.get("id"), int):
        raise RecordError(f"Work {record.get('id')} has no imprint.")
    title = _s(record.get("title")).strip()
    if not title:
        raise RecordError(f"Work {record.get('id')} has no title.")
    texts = record.get("marketingTexts") or []
    audience = ""
    for text in texts:
        if text.get("onixContentAudienceCodes"):
            audience = str(text["onixContentAudienceCodes"][0])
            break
    contributions = []
    for c in record.get("contributions") or []:
        contributor = c.get("contributor")
        if not isinstance(contributor, dict):
            raise RecordError(f"Contribution {c.get('id')} has no contributor.")
        contributions.append(
            {
                "id": c.get("id"),
                "contact": normalise_contact(contributor),
                "role": _s(c.get("onixContributorRoleCode")),
                "role_description": _s((c.get("onixContributorRole") or {}).get("description")),
                "sequence": int(c.get("sequenceNumber") or 1),
                "product_ids": sorted(c.get("productIds") or []),
            }
        )
    return {
        "id": _id(record, "Work"),
        "title": title,
        "subtitle": _s(record.get("subtitle")),
        "in_house_reference": _s(record.get("inHouseWorkReference")),
        "work_type": _s(record.get("workType")),
        "project_stage": _s(record.get("projectStage")),
        "season": _s(record.get("season")),
        "marketing_tier": _s(record.get("marketingTier")),
        "audience": audience,
        "imprint": {"id": imprint["id"], "name": _s(imprint.get("name"))},
        "contributor_list": _s(record.get("contributorPrettyList")),
        "products": sorted(
            (normalise_product(p) for p in record.get("products") or []), key=lambda p: p["id"]
        ),
        "contributions": sorted(contributions, key=lambda c: (c["sequence"], c["id"] or 0)),
        "marketing_texts": [
            {
                "id": t.get("id"),
                "type": TEXT_TYPE_CODES.get(_s(t.get("variant")), ""),
                "text": _s(t.get("externalText")),
                "language": "",
            }
            for t in texts
        ],
        "resources": [
            {
                "id": r.get("id"),
                "url": _s(r.get("url")),
                "caption": _s(r.get("caption")),
                "content_type": _s(r.get("imageContentType")),
                "is_cover": "cover" in _s(r.get("caption")).lower() or not i,
            }
            for i, r in enumerate(record.get("supportingResources") or [])
            if r.get("url")
        ],
    }


def normalise_contract(record: dict[str, Any]) -> dict[str, Any]:
    work = record.get("work")
    client = record.get("client")
    term = record.get("term")
    try:
        term_months = int(str(term)) if term not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise RecordError(f"Contract {record.get('id')} term {term!r} is not months.") from exc
    return {
        "id": _id(record, "Contract"),
        "name": _s(record.get("contractName")),
        "signed_date": _date(record.get("signedDate")),
        "term_months": term_months,
        "terminated_date": _date(record.get("terminatedDate")),
        "ms_delivery_date": _date(record.get("msDeliveryDate")),
        "pub_before_date": _date(record.get("pubBeforeDate")),
        "review_date": _date(record.get("reviewDate")),
        "work_id": work.get("id") if isinstance(work, dict) else None,
        # The publisher's own client record (type Client), not a party to notify.
        "client": (
            {"id": client.get("id", record.get("clientId")), "name": _s(client.get("name"))}
            if isinstance(client, dict)
            else ({"id": record["clientId"], "name": ""} if record.get("clientId") else None)
        ),
        "rights": sorted(
            (
                {
                    "id": r.get("id"),
                    "right_type": _s(r.get("rightType")),
                    "territory": _s(r.get("territory")),
                    "author_cut": money(r["authorCut"]) if r.get("authorCut") is not None else None,
                }
                for r in record.get("licensedRights") or []
            ),
            key=lambda r: r["id"] or 0,
        ),
        "deliveries": sorted(
            (
                {
                    "id": d.get("id"),
                    "type": _s(d.get("deliverableType")),
                    "requirement": _s(d.get("deliveryRequirement")),
                    "due": _date(d.get("dateDue")),
                    "slipped": _date(d.get("slippedDate")),
                    "percentage": (
                        money(d["percentageOfTotal"])
                        if d.get("percentageOfTotal") is not None
                        else None
                    ),
                }
                for d in record.get("deliveryDates") or []
            ),
            key=lambda d: d["id"] or 0,
        ),
        "gratis": sorted(
            (
                {
                    "id": g.get("id"),
                    "product_id": g.get("productId"),
                    "contact_id": g.get("contactId"),
                    "copies": int(g.get("numberOfCopies") or 0),
                    "send_on": _date(g.get("sendOn")),
                    "sent_on": _date(g.get("sentOn")),
                    "note": _s(g.get("note")),
                }
                for g in record.get("gratisCopies") or []
            ),
            key=lambda g: g["id"] or 0,
        ),
    }


def normalise_rest_product(record: dict[str, Any]) -> dict[str, Any]:
    """A REST v4 product (snake_case, hyphenated ISBN or ``"No ISBN"``) as a product document,
    for the fallback path when GraphQL is unavailable."""
    prices = sorted(
        (
            normalise_price(
                {
                    "id": f"{p.get('currency_code')}-{p.get('price_type') or ''}-"
                    f"{p.get('price_qualifier') or ''}",
                    "amount": p.get("price_amount"),
                    "currencyCode": p.get("currency_code"),
                    "onixPriceTypeCode": p.get("price_type"),
                    "onixPriceTypeQualifierCode": p.get("price_qualifier"),
                }
            )
            for p in record.get("prices") or []
        ),
        key=lambda p: (p["currency"], p["type"], p["qualifier"], p["territory"]),
    )
    return {
        "id": _id(record, "Product"),
        "isbn13": clean_isbn(record.get("isbn")),
        "full_title": _s(record.get("full_title")),
        "product_form": _s(record.get("product_form")),
        "product_form_description": "",
        "publication_date": _date(record.get("pub_date")),
        "planned_publication_date": None,
        "publishing_status": _s(record.get("publishing_status")),
        "availability": "",
        "for_sale": [],
        "not_for_sale": sorted(record.get("rights_not_available_countries") or []),
        "prices": prices,
    }


REST_PRODUCT_FIELDS = (
    "isbn13",
    "full_title",
    "product_form",
    "publication_date",
    "publishing_status",
    "not_for_sale",
)


def merge_rest_product(old: dict[str, Any] | None, rest: dict[str, Any]) -> dict[str, Any]:
    """A product document from a REST v4 product (``normalise_rest_product``) laid over the
    document last mirrored from GraphQL: what REST carries replaces the old value; what it lacks
    (availability, planned date, for-sale territories, price territories and ids) stays as it
    was. So a REST read of unchanged data hashes exactly as the GraphQL document did."""
    if old is None:
        return rest
    merged = dict(old)
    for name in REST_PRODUCT_FIELDS:
        merged[name] = rest[name]
    previous: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for price in old.get("prices") or []:
        key = (price["currency"], price["type"], price["qualifier"])
        previous.setdefault(key, []).append(price)
    # REST v4 documents no price type on a price (`currency_code, price_qualifier,
    # price_amount`); when it is absent, match the old price on currency and qualifier alone.
    loose: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, group in previous.items():
        loose.setdefault((key[0], key[2]), []).extend(group)
    prices = []
    for price in rest["prices"]:
        if price["type"]:
            matches = previous.get((price["currency"], price["type"], price["qualifier"]))
        else:
            matches = loose.get((price["currency"], price["qualifier"]))
        prices.append({**matches.pop(0), "amount": price["amount"]} if matches else price)
    merged["prices"] = sorted(
        prices, key=lambda p: (p["currency"], p["type"], p["qualifier"], p["territory"])
    )
    return merged


def party_contact_ids(doc: dict[str, Any]) -> list[int]:
    """The Consonance contact ids a normalised contract names: its gratis copies' ``contactId``
    (documented on GratisCopy and CreateGratisCopyInput). ``client`` is the publisher's own client
    record and is not a party here."""
    return sorted({g["contact_id"] for g in doc.get("gratis") or [] if g.get("contact_id")})
