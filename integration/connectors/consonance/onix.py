"""Streaming, hardened reader for ONIX 3.0 reference-tag messages → normalised work documents.

Safety: lxml ``iterparse`` with ``resolve_entities=False, no_network=True, huge_tree=False,
load_dtd=False``, and any DTD is refused by the parser itself: when the root element starts,
everything before it (where XML allows a DOCTYPE) has been parsed, and a document with a
DOCTYPE, internal subset or external DTD is refused there — wherever in the prolog it appears,
however long the comments before it. ONIX 3.0 files never need a DTD. A quick look at the first
64 KB refuses the obvious cases before parsing starts.
Both EDItEUR namespace spellings (``http://ns.editeur.org/onix/3.0/reference`` and the
non-standard ``http://www.editeur.org/onix/3.0/reference``) and no namespace are accepted.

Ids: ONIX-only records have no Consonance id, so each ``<Product>`` becomes one work and one
product whose ``consonance_id`` is a stable **negative** number derived from the record:
``-int(sha256("onix:" + RecordReference)[:15], 16)``. Negative ids never collide with Consonance
(positive) ids, re-importing the same file updates the same rows, and full Consonance resyncs
leave them alone. Contributors get ``-int(sha256("onix-contact:" + key)[:15], 16)`` where the key
is the ISNI, else the sender's internal identifier, else the inverted name.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from integration.connectors.consonance.mapping import CURRENCY_TERRITORY, RecordError, money

NAMESPACES = {
    "http://ns.editeur.org/onix/3.0/reference",
    "http://www.editeur.org/onix/3.0/reference",
    "",
}
PROLOG_BYTES = 64 * 1024


class OnixError(ValueError):
    """The file cannot be imported; the message says why in words a person can act on."""


@dataclass
class OnixCounts:
    products: int = 0
    contributors: int = 0
    prices: int = 0


def synthetic_id(kind: str, key: str) -> int:
    return -int(hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:15], 16)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(tag: str) -> str:
    return etree.QName(tag).namespace or ""


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: Any, *path: str) -> str:
    node = el
    for name in path:
        if node is None:
            return ""
        node = _child(node, name)
    if node is None:
        return ""
    return "".join(node.itertext()).strip()


def _all(el: Any, name: str) -> Iterator[Any]:
    for node in el.iter():
        if _local(node.tag) == name:
            yield node


def _onix_date(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 8:
        iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
        try:
            datetime.date.fromisoformat(iso)
        except ValueError as exc:
            raise RecordError(f"The date {value!r} is not a calendar date (YYYYMMDD).") from exc
        return iso
    return None


DTD_REFUSED = (
    "The file declares a DOCTYPE (a DTD); ONIX 3.0 files never need one, and files with a "
    "DTD (which can hide entities: XXE, billion laughs) are refused for safety."
)


def check_prolog(head: bytes) -> None:
    """Refuse a DOCTYPE seen in the first bytes before any parsing (the parser refuses the rest)."""
    if b"<!DOCTYPE" in head.upper():
        raise OnixError(DTD_REFUSED)


def refuse_dtd(root: Any) -> None:
    """Refuse a document with any DTD; called when the root element starts."""
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise OnixError(DTD_REFUSED)
    if info.system_url or info.public_id:
        raise OnixError(DTD_REFUSED)


def _territory(el: Any) -> list[str]:
    if el is None:
        return []
    codes: list[str] = []
    for name in ("CountriesIncluded", "RegionsIncluded"):
        codes += _text(el, name).split()
    return codes


def _contributor(el: Any, position: int) -> dict[str, Any]:
    isni = internal = ""
    for ident in _children(el, "NameIdentifier"):
        if _text(ident, "NameIDType") == "16":
            isni = _text(ident, "IDValue")
        elif _text(ident, "NameIDType") == "01":
            internal = _text(ident, "IDValue")
    corporate = _text(el, "CorporateName")
    name = (
        _text(el, "PersonName")
        or corporate
        or " ".join(x for x in (_text(el, "NamesBeforeKey"), _text(el, "KeyNames")) if x)
    )
    inverted = _text(el, "PersonNameInverted")
    key = isni or (f"internal:{internal}" if internal else (inverted or name))
    return {
        "id": None,
        "contact": {
            "id": synthetic_id("onix-contact", key),
            "kind": "organisation" if corporate and not _text(el, "PersonName") else "person",
            "name": name or "Unnamed contributor",
            "key_names": _text(el, "KeyNames"),
            "person_name_inverted": inverted,
            "isni": isni[:20],
            "country": "",
            "emails": [],
            "phones": [],
            "addresses": [],
        },
        "role": _text(el, "ContributorRole"),
        "role_description": "",
        "sequence": int(_text(el, "SequenceNumber") or position),
        "product_ids": [],
    }


def product_document(el: Any) -> tuple[dict[str, Any], OnixCounts]:
    """One ``<Product>`` element → (work document with one product, its counts)."""
    ref = _text(el, "RecordReference")
    if not ref:
        raise RecordError("A <Product> has no <RecordReference>.")
    record_id = synthetic_id("onix", ref)
    isbn = None
    for ident in _children(el, "ProductIdentifier"):
        value = re.sub(r"[\s-]", "", _text(ident, "IDValue"))
        kind = _text(ident, "ProductIDType")
        wanted = kind == "15" or (kind == "03" and value[:3] in ("978", "979") and isbn is None)
        if wanted and re.fullmatch(r"\d{13}", value):
            isbn = value
    detail = _child(el, "DescriptiveDetail")
    title = subtitle = ""
    form = form_detail = audience = ""
    contributions: list[dict[str, Any]] = []
    if detail is not None:
        form = _text(detail, "ProductForm")
        form_detail = _text(detail, "ProductFormDescription") or _text(detail, "ProductFormDetail")
        for td in _children(detail, "TitleDetail"):
            if _text(td, "TitleType") in ("01", ""):
                element = _child(td, "TitleElement")
                if element is not None:
                    title = _text(element, "TitleText") or " ".join(
                        x
                        for x in (
                            _text(element, "TitlePrefix"),
                            _text(element, "TitleWithoutPrefix"),
                        )
                        if x
                    )
                    subtitle = _text(element, "Subtitle")
                break
        audience = _text(detail, "AudienceCode")
    contributors = list(_all(el, "Contributor"))
    for position, contributor in enumerate(contributors, start=1):
        contributions.append(_contributor(contributor, position))
    publishing = _child(el, "PublishingDetail")
    imprint_name = status = pub_date = ""
    for_sale: list[str] = []
    not_for_sale: list[str] = []
    if publishing is not None:
        imprint_name = _text(publishing, "Imprint", "ImprintName") or _text(
            publishing, "Publisher", "PublisherName"
        )
        status = _text(publishing, "PublishingStatus")
        for date in _children(publishing, "PublishingDate"):
            if _text(date, "PublishingDateRole") in ("01", "11", "") and not pub_date:
                pub_date = _onix_date(_text(date, "Date")) or ""
        for rights in _children(publishing, "SalesRights"):
            codes = _territory(_child(rights, "Territory"))
            if _text(rights, "SalesRightsType") in ("03", "04", "05", "06"):
                not_for_sale += codes
            else:
                for_sale += codes
    prices: list[dict[str, Any]] = []
    availability = ""
    for supply in _all(el, "SupplyDetail"):
        availability = availability or _text(supply, "ProductAvailability")
        for price in _children(supply, "Price"):
            currency = _text(price, "CurrencyCode").upper()
            amount = _text(price, "PriceAmount")
            if "," in amount and "." not in amount:
                amount = amount.replace(",", ".")  # decimal comma, as some French feeds send
            if not amount:
                # Unpriced (e.g. free) entries still count as a price line of zero.
                amount = "0"
            starts = ends = None
            for pd in _children(price, "PriceDate"):
                role = _text(pd, "PriceDateRole")
                if role == "14":
                    starts = _onix_date(_text(pd, "Date"))
                elif role == "15":
                    ends = _onix_date(_text(pd, "Date"))
            territory = " ".join(_territory(_child(price, "Territory")))
            price_type, qualifier = _text(price, "PriceType"), _text(price, "PriceQualifier")
            prices.append(
                {
                    "id": f"{currency}-{price_type}-{qualifier}",
                    "amount": money(amount),
                    "currency": currency,
                    "type": price_type,
                    "qualifier": qualifier,
                    "territory": (territory or CURRENCY_TERRITORY.get(currency, ""))[:200],
                    "from": starts,
                    "to": ends,
                }
            )
    texts, resources = [], []
    collateral = _child(el, "CollateralDetail")
    if collateral is not None:
        for n, tc in enumerate(_children(collateral, "TextContent")):
            texts.append(
                {
                    "id": n + 1,
                    "type": _text(tc, "TextType"),
                    "text": _text(tc, "Text"),
                    "language": "",
                }
            )
        for n, sr in enumerate(_children(collateral, "SupportingResource")):
            link = next(
                (t for t in (_text(v, "ResourceLink") for v in _all(sr, "ResourceVersion")) if t),
                "",
            )
            if link:
                resources.append(
                    {
                        "id": n + 1,
                        "url": link[:1000],
                        "caption": "Front cover"
                        if _text(sr, "ResourceContentType") == "01"
                        else "",
                        "content_type": "",
                        "is_cover": _text(sr, "ResourceContentType") == "01",
                    }
                )
    doc = {
        "id": record_id,
        "title": title or f"Untitled ({ref})",
        "subtitle": subtitle,
        "in_house_reference": ref[:100],
        "work_type": "",
        "project_stage": "",
        "season": "",
        "marketing_tier": "",
        "audience": audience,
        "imprint": {"id": None, "name": imprint_name},
        "contributor_list": " and ".join(c["contact"]["name"] for c in contributions)[:1000],
        "products": [
            {
                "id": record_id,
                "isbn13": isbn,
                "full_title": (f"{title}: {subtitle}" if subtitle else title)[:600],
                "product_form": form,
                "product_form_description": form_detail[:200],
                "publication_date": pub_date or None,
                "planned_publication_date": None,
                "publishing_status": status,
                "availability": availability,
                "for_sale": sorted(set(for_sale)),
                "not_for_sale": sorted(set(not_for_sale)),
                "prices": sorted(prices, key=lambda p: (p["currency"], p["type"], p["territory"])),
            }
        ],
        "contributions": contributions,
        "marketing_texts": texts,
        "resources": resources,
    }
    counts = OnixCounts(products=1, contributors=len(contributions), prices=len(prices))
    return doc, counts


def iter_products(
    stream: IO[bytes],
) -> Iterator[tuple[dict[str, Any] | None, str, Exception | None]]:
    """Yield ``(document, record reference, error)`` per ``<Product>``, streaming. Raises
    ``OnixError`` for files that are not ONIX 3.0 or not well-formed XML."""
    head = stream.read(PROLOG_BYTES)
    if not head.strip():
        raise OnixError("The file is empty.")
    check_prolog(head)
    stream.seek(0)
    parser = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
    )
    root_seen = False
    depth = 0
    try:
        for event, el in parser:
            if event == "start":
                depth += 1
                if not root_seen:
                    root_seen = True
                    refuse_dtd(el)
                    if _local(el.tag) != "ONIXMessage":
                        raise OnixError(
                            f"The root element is <{_local(el.tag) or el.tag}>, not "
                            "<ONIXMessage>: this is not an ONIX 3.0 message."
                        )
                    if _ns(el.tag) not in NAMESPACES:
                        raise OnixError(
                            f"Unknown namespace {_ns(el.tag)!r}; expected EDItEUR's ONIX 3.0 "
                            "reference-tag namespace."
                        )
                    release = el.get("release", "")
                    if release and not release.startswith("3"):
                        raise OnixError(f"ONIX release {release} is not supported; send 3.0.")
                continue
            depth -= 1
            if depth == 1 and _local(el.tag) == "Product":
                ref = _text(el, "RecordReference")
                try:
                    doc, _counts = product_document(el)
                    yield doc, ref, None
                except (RecordError, ValueError) as exc:
                    yield None, ref, exc
                el.clear(keep_tail=False)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        raise OnixError(f"The file is not well-formed XML (it may be truncated): {exc}") from exc
    if not root_seen:
        raise OnixError("The file contains no XML elements.")
