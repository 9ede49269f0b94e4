"""The normalisers' version is part of every raw hash (``mapping.raw_hash``): a resync skips
mapping a record whose hash it has already seen, so a change to what a record normalises to must
come with a new ``NORMALISER_VERSION``. These pins fail when the output changes without one."""

from __future__ import annotations

from integration.connectors.consonance import mapping

WORK = {
    "id": 10001,
    "title": " The Quiet Songs ",
    "subtitle": None,
    "inHouseWorkReference": "HL-001",
    "workType": "Novel",
    "projectStage": "Editorial",
    "season": "Spring 2027",
    "marketingTier": "Lead",
    "contributorPrettyList": "Jane Doe",
    "imprint": {"id": 101, "name": "Harbour Lights"},
    "products": [
        {
            "id": 100011,
            "isbn": {"isbn13": "978-1-909679-64-1"},
            "fullTitle": "The Quiet Songs",
            "onix21ProductFormCode": "BC",
            "onix21ProductForm": {"code": "BC", "description": "Paperback"},
            "publicationDate": "2027-03-05T00:00:00Z",
            "plannedPublicationDate": None,
            "onixPublishingStatusCode": "02",
            "availability": {"code": "_10"},
            "forSaleCountryCodes": ["IE", "GB"],
            "notForSaleCountryCodes": [],
            "prices": [
                {
                    "id": 7,
                    "amount": 8.999,
                    "currencyCode": "gbp",
                    "onixPriceTypeCode": "_02",
                    "onixPriceTypeQualifierCode": "05",
                    "effectiveFrom": "2027-01-01",
                    "effectiveTo": None,
                }
            ],
        },
        {"id": 100010, "isbn": "No ISBN", "fullTitle": "The Quiet Songs (e-book)"},
    ],
    "contributions": [
        {
            "id": 3,
            "sequenceNumber": 1,
            "onixContributorRoleCode": "A01",
            "onixContributorRole": {"description": "By (author)"},
            "productIds": [100011, 100010],
            "contributor": {
                "__typename": "Person",
                "id": 900,
                "name": "Jane Doe",
                "keyNames": "Doe",
                "emails": [{"email": "jane@example.test"}],
                "phones": [{"phoneNumber": "+44 1", "phoneType": "work"}],
                "addresses": [
                    {"addressLine1": "1 Quay", "postcode": "B1", "country": {"value": "GB"}}
                ],
            },
        }
    ],
    "marketingTexts": [
        {
            "id": 5,
            "variant": "DESCRIPTION",
            "externalText": "A quiet book.",
            "onixContentAudienceCodes": ["01"],
        }
    ],
    "supportingResources": [
        {"id": 6, "url": "https://example.test/c.jpg", "caption": "Front cover"},
        {"id": 8, "url": "", "caption": "none"},
    ],
}

CONTRACT = {
    "id": 500001,
    "contractName": "The Quiet Songs: volume rights",
    "signedDate": "2025-01-02",
    "term": "60",
    "reviewDate": None,
    "terminatedDate": None,
    "msDeliveryDate": "2026-05-01",
    "pubBeforeDate": None,
    "work": {"id": 10001},
    "clientId": 44,
    "client": {"id": 44, "name": "Harbour Lights Ltd"},
    "licensedRights": [{"id": 2, "rightType": "Audio", "territory": "WORLD", "authorCut": 12.5}],
    "deliveryDates": [
        {
            "id": 1,
            "deliverableType": "Manuscript",
            "deliveryRequirement": "Complete text",
            "dateDue": "2026-05-01",
            "slippedDate": None,
            "percentageOfTotal": 50,
        }
    ],
    "gratisCopies": [
        {
            "id": 4,
            "productId": 100011,
            "contactId": 900,
            "numberOfCopies": 6,
            "sendOn": None,
            "sentOn": None,
            "note": "",
        }
    ],
}

# The content hashes of the documents WORK and CONTRACT normalise to under NORMALISER_VERSION 1.
PINNED = {
    1: (
        "d133f459bff52961803d62b4662a7a037821951e0663eb9b88c654aa0de50eb8",
        "fcd2a64532b31b22674f21721aa8fabc335e2c83d73b9736e5de1041d01fb4d7",
    )
}


def test_what_a_record_normalises_to_moves_only_with_the_normaliser_version():
    produced = (
        mapping.content_hash(mapping.normalise_work(WORK)),
        mapping.content_hash(mapping.normalise_contract(CONTRACT)),
    )
    assert mapping.NORMALISER_VERSION in PINNED, "pin the new version's output below"
    assert produced == PINNED[mapping.NORMALISER_VERSION], (
        "What a Consonance record normalises to has changed: bump NORMALISER_VERSION in "
        "integration/connectors/consonance/mapping.py (so a resync maps every record again "
        f"instead of trusting documents mapped the old way) and pin {produced} for it."
    )


def test_the_raw_hash_follows_the_record_its_kind_and_the_version(monkeypatch):
    first = mapping.raw_hash(WORK, "work")
    # Key order is not content; any value is.
    assert mapping.raw_hash(dict(reversed(list(WORK.items()))), "work") == first
    assert mapping.raw_hash({**WORK, "season": "Autumn 2027"}, "work") != first
    assert mapping.raw_hash(WORK, "contract") != first
    monkeypatch.setattr(mapping, "NORMALISER_VERSION", mapping.NORMALISER_VERSION + 1)
    assert mapping.raw_hash(WORK, "work") != first
    # What orjson cannot encode (an integer beyond 64 bits) is hashed the slow, exact way.
    assert mapping.raw_hash({"id": 1, "n": 2**70}, "work") != mapping.raw_hash(
        {"id": 1, "n": 2**70 + 1}, "work"
    )
