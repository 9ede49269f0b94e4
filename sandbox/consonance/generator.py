"""Deterministic demo data for the sandbox Consonance: works with products, prices,
contributors, contracts, licensed rights, delivery dates, gratis copies and covers.

The same ``works`` count always yields the same records (seeded ``random.Random``), so tests and
benchmarks can rely on it. Every fourth work has 3 products, the rest 2 or 3 alternately:
``works`` × 2.5 = products (8,000 works → 20,000 products).
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

IMPRINTS = [(101, "Harbour Lights"), (102, "Northwind Press"), (103, "Little Acorn Books")]

FIRST = [
    "Ada",
    "Ben",
    "Cora",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hugo",
    "Isla",
    "Jonah",
    "Kiri",
    "Lena",
    "Mateo",
    "Nia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tova",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Hughes",
    "Novak",
    "Silva",
    "Byrne",
    "Kowalski",
    "Haddad",
    "Fischer",
    "Osei",
    "Marsh",
    "Rinaldi",
    "Quist",
    "Varga",
]
WORDS = [
    "Harbour",
    "Winter",
    "Lantern",
    "Salt",
    "Orchard",
    "Glass",
    "River",
    "Northern",
    "Quiet",
    "Paper",
    "Island",
    "Copper",
    "Hidden",
    "Long",
    "Bright",
    "Last",
    "Wild",
    "Small",
    "Silent",
    "Summer",
]
NOUNS = [
    "Light",
    "Garden",
    "Shore",
    "Letters",
    "Crossing",
    "House",
    "Map",
    "Tide",
    "Season",
    "Songs",
    "Atlas",
    "Orchard",
    "Harvest",
    "Road",
    "Hours",
    "Keeper",
]
STAGES = ["Acquisition", "Editorial", "Production", "Published"]
SEASONS = ["Spring 2026", "Autumn 2026", "Spring 2027", "Autumn 2027"]
TIERS = ["Lead", "Core", "Backlist"]
AUDIENCES = ["01", "02", "03"]  # ONIX list 154: general, children, young adult
FORMS = [
    ("BB", "Hardback", "PhysicalBookProduct"),
    ("BC", "Paperback", "PhysicalBookProduct"),
    ("DG", "E-book", "ElectronicBookProduct"),
]
# currency -> (price type, for-sale country codes)
CURRENCIES = [
    ("GBP", "02", ["GB", "IE"]),
    ("USD", "01", ["US"]),
    ("EUR", "02", ["FR", "DE"]),
    ("AUD", "02", ["AU", "NZ"]),
    ("CAD", "01", ["CA"]),
]
RIGHTS = ["Translation", "Audio", "Serial", "Film and TV", "US", "Large print"]
RIGHT_TERRITORIES = ["WORLD", "GB", "US", "EU", "DE", "FR", "ANZ", "JP"]
DELIVERABLES = ["Manuscript", "Revised manuscript", "Proofs", "Index", "Cover copy"]

BASE_DATE = datetime.date(2026, 11, 1)
# The publisher's own client record in Consonance (Contract.client / clientId, type Client).
CLIENT = {"id": 1, "name": "Lighthouse Publishing Group Ltd"}


@dataclass
class Dataset:
    contacts: list[dict[str, Any]] = field(default_factory=list)
    works: list[dict[str, Any]] = field(default_factory=list)
    # work id -> its products
    products: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    contracts: list[dict[str, Any]] = field(default_factory=list)


def _isbn13(n: int) -> str:
    digits = f"978{n:09d}"[:12]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _dashed(isbn: str) -> str:
    return f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12]}"


def contact_id(n: int) -> int:
    return 1_000 + n


def work_id(n: int) -> int:
    return 10_000 + n


def contract_id(n: int) -> int:
    return 500_000 + n


def product_count(n: int) -> int:
    return 3 if n % 2 else 2


def iter_contacts(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for n in range(count):
        cid = contact_id(n)
        if n % 10 == 9:
            name = f"{rng.choice(WORDS)} Literary Agency"
            yield {
                "__typename": "Organisation",
                "id": cid,
                "name": name,
                "organisationName": name,
                "organisationCountry": "GB",
                "isni": None,
                "emails": [{"email": f"rights{n}@agency.example"}],
                "phones": [{"phoneNumber": f"+44 20 7946 {n % 10000:04d}", "phoneType": "work"}],
                "addresses": [
                    {
                        "addressLine1": f"{n % 90 + 1} Fleet Street",
                        "addressLine2": None,
                        "addressLine3": "London",
                        "postcode": "EC4A 2AB",
                        "country": {"value": "GB", "description": "United Kingdom"},
                    }
                ],
            }
            continue
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
        yield {
            "__typename": "Person",
            "id": cid,
            "name": f"{first} {last}",
            "personName": f"{first} {last}",
            "keyNames": last,
            "personNameInverted": f"{last}, {first}",
            "gender": None,
            "isni": None,
            "emails": [{"email": f"{first.lower()}.{last.lower()}{n}@authors.example"}],
            "phones": [{"phoneNumber": f"+44 1632 {n % 1000000:06d}", "phoneType": "mobile"}],
            "addresses": [
                {
                    "addressLine1": f"{n % 120 + 1} {rng.choice(WORDS)} Road",
                    "addressLine2": None,
                    "addressLine3": "Bristol",
                    "postcode": "BS1 4DJ",
                    "country": {"value": "GB", "description": "United Kingdom"},
                }
            ],
        }


def generate(works: int = 60, seed: int = 1842) -> Dataset:
    rng = random.Random(seed)
    data = Dataset()
    contact_pool = max(20, works // 2)
    data.contacts = list(iter_contacts(contact_pool, rng))
    people = [c for c in data.contacts if c["__typename"] == "Person"]
    agencies = [c for c in data.contacts if c["__typename"] == "Organisation"]
    isbn_seq = 0
    for n in range(works):
        wid = work_id(n)
        imprint_id, imprint_name = IMPRINTS[n % len(IMPRINTS)]
        title = f"The {rng.choice(WORDS)} {rng.choice(NOUNS)}"
        pub_date = BASE_DATE + datetime.timedelta(days=rng.randint(-400, 400))
        products = []
        for k in range(product_count(n)):
            pid = wid * 10 + k
            form, form_desc, typename = FORMS[k % len(FORMS)]
            if n % 17 == 5 and k == 2:
                isbn = None  # an e-book with no ISBN assigned yet
            else:
                isbn_seq += 1
                isbn = _isbn13(isbn_seq)
            prices = []
            for i, (currency, price_type, _) in enumerate(CURRENCIES[: 2 + (n + k) % 4]):
                amount = round(rng.choice([8.99, 9.99, 12.99, 16.99, 20.0, 25.0]) + k * 2, 2)
                prices.append(
                    {
                        "id": pid * 10 + i,  # Price.id is an Int in the documented SDL
                        "amount": amount,
                        "amountWithCurrencyCode": f"{amount:.2f} {currency}",
                        "currencyCode": currency,
                        "onixPriceTypeCode": price_type,
                        "onixPriceTypeQualifierCode": "05",
                        "effectiveFrom": None,
                        "effectiveTo": None,
                    }
                )
            status = "04" if pub_date <= BASE_DATE else "02"
            products.append(
                {
                    "__typename": typename,
                    "id": pid,
                    "isbn": (
                        {"isbn13": isbn, "isbn10": None, "isbnWithDashes": _dashed(isbn)}
                        if isbn
                        else None
                    ),
                    "fullTitle": f"{title} ({form_desc})",
                    "subtitle": None,
                    "onix21ProductFormCode": form,
                    "onix21ProductForm": {"code": form, "description": form_desc},
                    "onixPublishingStatusCode": status,
                    "publicationDate": pub_date.isoformat(),
                    "plannedPublicationDate": pub_date.isoformat(),
                    "forSaleCountryCodes": ["GB", "IE", "US", "CA", "AU", "NZ"]
                    if k != 1
                    else ["GB"],
                    "notForSaleCountryCodes": [] if k != 1 else ["US"],
                    "isForSaleWorldwide": False,
                    "prices": prices,
                }
            )
        data.products[wid] = products
        pids = [p["id"] for p in products]
        authors = [people[(n * 3 + j) % len(people)] for j in range(1 + (n % 3 == 0))]
        contributions = [
            {
                "id": wid * 10 + j,
                "sequenceNumber": j + 1,
                "onixContributorRoleCode": "A01" if j == 0 else "B06",
                "onixContributorRole": {
                    "description": "By (author)" if j == 0 else "Translated by"
                },
                "productIds": pids,
                "workId": wid,
                "contributor": a,
            }
            for j, a in enumerate(authors)
        ]
        pretty = " and ".join(a["name"] for a in authors)
        blurb = f"A {rng.choice(WORDS).lower()} story by {pretty}."
        data.works.append(
            {
                "id": wid,
                "title": title,
                "subtitle": "A novel" if n % 4 == 0 else None,
                "inHouseWorkReference": f"HL{n:05d}",
                "workType": "Fiction",
                "projectStage": STAGES[3 if pub_date <= BASE_DATE else n % 3],
                "season": SEASONS[n % len(SEASONS)],
                "marketingTier": TIERS[n % len(TIERS)],
                "imprint": {"id": imprint_id, "name": imprint_name},
                "contributorPrettyList": pretty,
                "contributions": contributions,
                "marketingTexts": [
                    {
                        "id": wid,
                        "variant": "DESCRIPTION",
                        "externalText": blurb,
                        "externalTextMarkdown": blurb,
                        "externalTextNumberOfCharacters": len(blurb),
                        "internalText": "",
                        "fromDate": None,
                        "onixContentAudienceCodes": [AUDIENCES[n % len(AUDIENCES)]],
                        "productIds": pids,
                    }
                ],
                "supportingResources": [
                    {
                        "id": wid,
                        "url": f"{settings.SANDBOX_BASE_URL}/sandbox/consonance/covers/{wid}.svg",
                        "caption": "Front cover",
                        "filename": f"{wid}.svg",
                        "imageContentType": "image/svg+xml",
                        "productIds": pids,
                    }
                ],
            }
        )
        # The rights holder: the contributor, or for some works their agency. Consonance names a
        # contract's party only through its gratis copies' contactId (documented); ``client`` is
        # the publisher's own client record (type Client), never a contact.
        holder = agencies[n % len(agencies)] if n % 5 == 4 and agencies else authors[0]
        signed = pub_date - datetime.timedelta(days=500 + rng.randint(0, 200))
        rights = [
            {
                "id": contract_id(n) * 10 + r,
                "rightType": RIGHTS[(n + r) % len(RIGHTS)],
                "territory": RIGHT_TERRITORIES[(n + r) % len(RIGHT_TERRITORIES)],
                "authorCut": float(50 + 10 * (r % 3)),
            }
            for r in range(1 + n % 3)
        ]
        deliveries = []
        for d, kind in enumerate(DELIVERABLES[: 2 + n % 2]):
            due = signed + datetime.timedelta(days=180 + 60 * d)
            deliveries.append(
                {
                    "id": contract_id(n) * 10 + d,
                    "contractId": contract_id(n),
                    "dateDue": due.isoformat(),
                    "deliverableType": kind,
                    "deliveryRequirement": f"{kind} as agreed",
                    "percentageOfTotal": None,
                    "slippedDate": None,
                    "actualDate": None,
                    "note": None,
                }
            )
        named = [holder] + [a for a in authors if a["id"] != holder["id"]]
        data.contracts.append(
            {
                "id": contract_id(n),
                "clientId": CLIENT["id"],
                "client": dict(CLIENT),
                "contractName": f"{title} — {holder['name']}",
                "description": None,
                "signedDate": signed.isoformat(),
                "term": 84,
                "terminatedDate": None,
                "msDeliveryDate": deliveries[0]["dateDue"],
                "pubBeforeDate": None,
                "reviewDate": None,
                "freeCopies": "12",
                "freeCopiesUsed": "0",
                "work": {"id": wid, "title": title},
                "licensedRights": rights,
                "deliveryDates": deliveries,
                "gratisCopies": [
                    {
                        "id": contract_id(n) * 10 + g,
                        "contractId": contract_id(n),
                        "productId": pids[0],
                        "contactId": party["id"],
                        "numberOfCopies": 12 if g == 0 else 6,
                        "sendOn": pub_date.isoformat(),
                        "sentOn": None,
                        "note": None,
                    }
                    for g, party in enumerate(named)
                ],
            }
        )
    return data
