"""Upserting normalised documents (see ``integration.connectors.consonance.mapping``) into
the catalogue mirror, with change events. Shared by the Consonance sync and the ONIX import.

* unchanged documents (same content hash) write nothing;
* new works get one ``created`` event; changed ones get field-level events (``diff_work``);
* writes are bulk per batch; when a batch fails in the database each record is retried alone so
  one bad record is recorded as failed and the rest still land.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import log_action
from accounts.models import Imprint
from integration.connectors.consonance.mapping import content_hash
from integration.lib.bulk import insert_rows
from integration.models import (
    ChangeEvent,
    Contact,
    Contract,
    Contribution,
    DeliveryDate,
    GratisCopy,
    LicensedRight,
    MarketingText,
    Price,
    Product,
    SupportingResource,
    SyncRun,
    Work,
)

logger = logging.getLogger(__name__)
Kind = ChangeEvent.Kind

WORK_FIELDS = {
    "title": "title",
    "subtitle": "subtitle",
    "in_house_reference": "in_house_reference",
    "work_type": "work_type",
    "project_stage": "project_stage",
    "season": "season",
    "marketing_tier": "marketing_tier",
    "audience": "audience",
    "contributor_list": "contributor_list",
}
PRODUCT_FIELDS = [
    "isbn13",
    "full_title",
    "product_form",
    "product_form_description",
    "publication_date",
    "planned_publication_date",
    "publishing_status",
    "availability",
]
PRODUCT_EVENT_KINDS = {
    "publication_date": Kind.PUBLICATION_DATE,
    "publishing_status": Kind.PUBLISHING_STATUS,
    "availability": Kind.AVAILABILITY,
}
CONTRACT_FIELDS = [
    "name",
    "signed_date",
    "term_months",
    "terminated_date",
    "ms_delivery_date",
    "pub_before_date",
    "review_date",
]


@dataclass
class Outcome:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    work_ids: set[int] = field(default_factory=set)

    def add(self, other: Outcome) -> None:
        self.seen += other.seen
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.work_ids |= other.work_ids

    def fail(self, record_type: str, record_id: Any, message: str) -> None:
        self.failed += 1
        self.errors.append({"type": record_type, "id": record_id, "error": message[:500]})


@dataclass
class EventSpec:
    kind: str
    field: str
    old: Any
    new: Any
    product_id: int | None = None  # Consonance product id


# --- diffs ---------------------------------------------------------------------------------------


def _price_key(p: dict[str, Any]) -> str:
    return " ".join(x for x in (p["currency"], p["type"], p["qualifier"], p["territory"]) if x)


def diff_work(old: dict[str, Any], new: dict[str, Any]) -> list[EventSpec]:
    """Field-level differences between two versions of a work document."""
    events: list[EventSpec] = []
    for key in WORK_FIELDS:
        if old.get(key) != new.get(key):
            kind = Kind.PROJECT_STAGE if key == "project_stage" else Kind.METADATA
            events.append(EventSpec(kind, key, old.get(key), new.get(key)))
    if (old.get("imprint") or {}).get("name") != (new.get("imprint") or {}).get("name"):
        events.append(
            EventSpec(Kind.METADATA, "imprint", old["imprint"]["name"], new["imprint"]["name"])
        )
    old_products = {p["id"]: p for p in old.get("products", [])}
    for product in new.get("products", []):
        pid = product["id"]
        before = old_products.pop(pid, None)
        if before is None:
            events.append(EventSpec(Kind.CREATED, "product", None, product["isbn13"], pid))
            continue
        for key in [*PRODUCT_FIELDS, "for_sale", "not_for_sale"]:
            if before.get(key) != product.get(key):
                kind = PRODUCT_EVENT_KINDS.get(key, Kind.METADATA)
                events.append(EventSpec(kind, key, before.get(key), product.get(key), pid))
        old_prices = {_price_key(p): p for p in before.get("prices", [])}
        for price in product.get("prices", []):
            key = _price_key(price)
            was = old_prices.pop(key, None)
            if was is None or was["amount"] != price["amount"]:
                events.append(
                    EventSpec(Kind.PRICE, key, was["amount"] if was else None, price["amount"], pid)
                )
            elif (was.get("from"), was.get("to")) != (price.get("from"), price.get("to")):
                events.append(
                    EventSpec(
                        Kind.PRICE,
                        f"{key} dates",
                        [was["from"], was["to"]],
                        [price["from"], price["to"]],
                        pid,
                    )
                )
        for key, was in old_prices.items():
            events.append(EventSpec(Kind.PRICE, key, was["amount"], None, pid))
    for pid, gone in old_products.items():
        events.append(EventSpec(Kind.WITHDRAWN, "product", gone["isbn13"], None, pid))

    def people(doc: dict[str, Any]) -> list[list[Any]]:
        return [[c["contact"]["name"], c["role"], c["sequence"]] for c in doc["contributions"]]

    if people(old) != people(new):
        events.append(EventSpec(Kind.METADATA, "contributors", people(old), people(new)))
    for key in ("marketing_texts", "resources"):
        if old.get(key) != new.get(key):
            events.append(EventSpec(Kind.METADATA, key, None, len(new.get(key, []))))
    return events


def diff_contract(old: dict[str, Any], new: dict[str, Any]) -> list[EventSpec]:
    events: list[EventSpec] = []
    for key in CONTRACT_FIELDS:
        if old.get(key) != new.get(key):
            events.append(EventSpec(Kind.METADATA, f"contract.{key}", old.get(key), new.get(key)))
    old_rights = {r["id"]: r for r in old.get("rights", [])}
    for right in new.get("rights", []):
        if old_rights.pop(right["id"], None) is None:
            label = {"right_type": right["right_type"], "territory": right["territory"]}
            events.append(EventSpec(Kind.LICENSED_RIGHT_ADDED, "licensed_right", None, label))
    for right in old_rights.values():
        label = {"right_type": right["right_type"], "territory": right["territory"]}
        events.append(EventSpec(Kind.LICENSED_RIGHT_ENDED, "licensed_right", label, None))
    old_deliveries = {d["id"]: d for d in old.get("deliveries", [])}
    for delivery in new.get("deliveries", []):
        before = old_deliveries.get(delivery["id"])
        if before is None:
            continue
        was = before["slipped"] or before["due"]
        now = delivery["slipped"] or delivery["due"]
        if was != now:
            events.append(
                EventSpec(Kind.DELIVERY_DATE_SLIPPED, f"delivery:{delivery['type']}", was, now)
            )
    if old.get("gratis") != new.get("gratis"):
        events.append(EventSpec(Kind.METADATA, "gratis_copies", None, len(new.get("gratis", []))))
    return events


# --- imprints and contacts ------------------------------------------------------------------------


def _unique_code(name: str) -> str:
    base = (slugify(name) or "imprint")[:34]
    code, n = base, 1
    while Imprint.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


def resolve_imprints(
    refs: Iterable[dict[str, Any]], *, actor: Any = None, source: str = "graphql"
) -> dict[tuple[Any, str], Imprint]:
    """(consonance id, name) → Imprint, matched by Consonance id (or by name when the id is
    ``None``, as in ONIX). Unknown imprints are created, audited, rather than losing data."""
    out: dict[tuple[Any, str], Imprint] = {}
    wanted = {(r.get("id"), r.get("name") or "") for r in refs}
    by_id = {
        i.consonance_id: i
        for i in Imprint.objects.filter(
            consonance_id__in=[w[0] for w in wanted if w[0] is not None]
        )
    }
    for cid, name in wanted:
        imprint = by_id.get(cid) if cid is not None else None
        if imprint is None and cid is None and name:
            imprint = Imprint.objects.filter(name__iexact=name).first()
        if imprint is None:
            label = name or f"Consonance imprint {cid}"
            if Imprint.objects.filter(name=label).exists():
                label = f"{label} ({cid})"
            imprint = Imprint.objects.create(
                name=label, code=_unique_code(label), consonance_id=cid
            )
            log_action(
                actor=actor,
                verb="imprint.created_from_source",
                target=imprint,
                data={"consonance_id": cid, "name": name, "source": source},
            )
        out[(cid, name)] = imprint
    return out


def _contact_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": doc["kind"],
        "name": doc["name"][:300] or f"Contact {doc['id']}",
        "key_names": doc["key_names"][:200],
        "person_name_inverted": doc["person_name_inverted"][:300],
        "isni": doc["isni"][:20],
        "country": doc["country"][:2],
        "emails": doc["emails"],
        "phones": doc["phones"],
        "addresses": doc["addresses"],
    }


def upsert_contacts(docs: Iterable[dict[str, Any]], *, source: str) -> dict[int, int]:
    """Consonance contact id → Contact pk; writes only new or changed contacts."""
    unique = {d["id"]: d for d in docs}
    existing = {
        cid: (pk, h)
        for cid, pk, h in Contact.objects.filter(consonance_id__in=unique).values_list(
            "consonance_id", "pk", "content_hash"
        )
    }
    now = timezone.now()
    to_create, to_update = [], []
    for cid, doc in unique.items():
        digest = content_hash(doc)
        if cid not in existing:
            to_create.append(
                Contact(
                    consonance_id=cid,
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    source=source,
                    synced_at=now,
                    **_contact_values(doc),
                )
            )
        elif existing[cid][1] != digest:
            to_update.append(
                Contact(
                    pk=existing[cid][0],
                    consonance_id=cid,
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    synced_at=now,
                    **_contact_values(doc),
                )
            )
    if to_create:
        insert_rows(Contact, to_create)
    if to_update:
        Contact.objects.bulk_update(
            to_update,
            [
                "raw",
                "snapshot",
                "content_hash",
                "synced_at",
                *_contact_values(next(iter(unique.values()))),
            ],
        )
    mapping = {cid: v[0] for cid, v in existing.items()}
    if to_create:
        mapping.update(
            Contact.objects.filter(
                consonance_id__in=[c.consonance_id for c in to_create]
            ).values_list("consonance_id", "pk")
        )
    return mapping


# --- works ---------------------------------------------------------------------------------------


def _d(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


WORK_LIMITS = {"title": 500, "subtitle": 500, "contributor_list": 1000}


def _work_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        attr: (doc.get(key) or "")[: WORK_LIMITS.get(attr, 100)]
        for key, attr in WORK_FIELDS.items()
    }


def _product_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "isbn13": doc["isbn13"],
        "full_title": doc["full_title"][:600],
        "product_form": doc["product_form"][:10],
        "product_form_description": doc["product_form_description"][:200],
        "publication_date": _d(doc["publication_date"]),
        "planned_publication_date": _d(doc["planned_publication_date"]),
        "publishing_status": doc["publishing_status"][:10],
        "availability": doc["availability"][:10],
        "for_sale_territories": doc["for_sale"],
        "not_for_sale_territories": doc["not_for_sale"],
    }


def _prices(product_pk: int, doc: dict[str, Any]) -> list[Price]:
    return [
        Price(
            product_id=product_pk,
            consonance_id=p["id"][:64],
            amount=Decimal(p["amount"]),
            currency=p["currency"],
            price_type=p["type"][:4],
            qualifier=p["qualifier"][:4],
            territory=p["territory"][:200],
            effective_from=_d(p["from"]),
            effective_to=_d(p["to"]),
        )
        for p in doc["prices"]
    ]


def _replace_work_children(
    work_pks: dict[int, int], docs: list[dict[str, Any]], contacts: dict[int, int]
) -> None:
    """Contributions, marketing texts and covers are small: replaced wholesale on change."""
    pks = list(work_pks.values())
    Contribution.objects.filter(work_id__in=pks).delete()
    MarketingText.objects.filter(work_id__in=pks).delete()
    SupportingResource.objects.filter(work_id__in=pks).delete()
    contributions, texts, resources = [], [], []
    for doc in docs:
        wpk = work_pks[doc["id"]]
        for c in doc["contributions"]:
            contributions.append(
                Contribution(
                    work_id=wpk,
                    contact_id=contacts[c["contact"]["id"]],
                    consonance_id=c["id"],
                    role=c["role"][:4],
                    role_description=c["role_description"][:100],
                    sequence=c["sequence"],
                    product_ids=c["product_ids"],
                )
            )
        for t in doc["marketing_texts"]:
            texts.append(
                MarketingText(
                    work_id=wpk,
                    consonance_id=t["id"],
                    text_type=t["type"][:10],
                    text=t["text"],
                    language=t["language"][:3],
                )
            )
        for r in doc["resources"]:
            resources.append(
                SupportingResource(
                    work_id=wpk,
                    consonance_id=r["id"],
                    url=r["url"][:1000],
                    caption=r["caption"][:300],
                    content_type=r["content_type"][:100],
                    is_cover=r["is_cover"],
                )
            )
    insert_rows(Contribution, contributions)
    insert_rows(MarketingText, texts)
    insert_rows(SupportingResource, resources)


def _upsert_products(
    work_pks: dict[int, int], docs: list[dict[str, Any]], *, source: str, now: Any
) -> dict[int, int]:
    """Consonance product id → Product pk. Only new or changed products are written; products
    no longer on their work are marked withdrawn."""
    wanted = {p["id"]: (doc["id"], p) for doc in docs for p in doc["products"]}
    existing = {
        cid: (pk, h, work_id, withdrawn)
        for cid, pk, h, work_id, withdrawn in Product.objects.filter(
            work_id__in=list(work_pks.values())
        ).values_list("consonance_id", "pk", "content_hash", "work_id", "withdrawn_at")
    }
    # A product may move between works: look it up globally too.
    missing = [cid for cid in wanted if cid not in existing]
    if missing:
        for cid, pk, h, work_id, withdrawn in Product.objects.filter(
            consonance_id__in=missing
        ).values_list("consonance_id", "pk", "content_hash", "work_id", "withdrawn_at"):
            existing[cid] = (pk, h, work_id, withdrawn)
    to_create, to_update, repriced = [], [], []
    for cid, (work_cid, doc) in wanted.items():
        digest = content_hash(doc)
        values = _product_values(doc)
        if cid not in existing:
            to_create.append(
                Product(
                    consonance_id=cid,
                    work_id=work_pks[work_cid],
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    source=source,
                    synced_at=now,
                    **values,
                )
            )
            continue
        pk, old_hash, old_work, withdrawn = existing[cid]
        if old_hash != digest or old_work != work_pks[work_cid] or withdrawn:
            to_update.append(
                Product(
                    pk=pk,
                    consonance_id=cid,
                    work_id=work_pks[work_cid],
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    source=source,
                    synced_at=now,
                    withdrawn_at=None,
                    **values,
                )
            )
            repriced.append((pk, doc))
    if to_create:
        insert_rows(Product, to_create)
    if to_update:
        Product.objects.bulk_update(
            to_update,
            [
                "work_id",
                "raw",
                "snapshot",
                "content_hash",
                "source",
                "synced_at",
                "withdrawn_at",
                *_product_values(next(iter(wanted.values()))[1]),
            ],
        )
    mapping = {cid: v[0] for cid, v in existing.items()}
    if to_create:
        mapping.update(
            Product.objects.filter(
                consonance_id__in=[p.consonance_id for p in to_create]
            ).values_list("consonance_id", "pk")
        )
    if repriced:
        Price.objects.filter(product_id__in=[pk for pk, _ in repriced]).delete()
    prices = [pr for pk, doc in repriced for pr in _prices(pk, doc)]
    prices += [pr for p in to_create for pr in _prices(mapping[p.consonance_id], p.snapshot)]
    insert_rows(Price, prices)
    gone = [
        pk
        for cid, (pk, _h, work_pk, withdrawn) in existing.items()
        if cid not in wanted and withdrawn is None and work_pk in work_pks.values()
    ]
    if gone:
        Product.objects.filter(pk__in=gone).update(withdrawn_at=now)
    return mapping


def _events(
    specs: list[EventSpec],
    *,
    imprint_id: int,
    work_pk: int,
    products: dict[int, int],
    source: str,
    run: SyncRun | None,
    contract_pk: int | None = None,
    now: Any,
) -> list[ChangeEvent]:
    return [
        ChangeEvent(
            created_at=now,
            kind=s.kind,
            imprint_id=imprint_id,
            work_id=work_pk,
            product_id=products.get(s.product_id) if s.product_id is not None else None,
            contract_id=contract_pk,
            field=s.field[:100],
            old_value=s.old,
            new_value=s.new,
            source=source,
            sync_run=run,
        )
        for s in specs
    ]


def _apply_works(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None,
    actor: Any,
    imprint: Imprint | None,
    outcome: Outcome,
) -> None:
    now = timezone.now()
    docs = {doc["id"]: (doc, raw) for doc, raw in items}
    hashes = {cid: content_hash(doc) for cid, (doc, _raw) in docs.items()}
    existing = {
        row["consonance_id"]: row
        for row in Work.objects.filter(consonance_id__in=docs).values(
            "pk", "consonance_id", "content_hash", "withdrawn_at", "imprint_id"
        )
    }
    changed_ids = [
        cid
        for cid in docs
        if cid in existing
        and (
            existing[cid]["content_hash"] != hashes[cid]
            or existing[cid]["withdrawn_at"] is not None
        )
    ]
    new_ids = [cid for cid in docs if cid not in existing]
    outcome.unchanged += len(docs) - len(changed_ids) - len(new_ids)
    if not changed_ids and not new_ids:
        return
    touched = [docs[cid][0] for cid in new_ids + changed_ids]
    imprints = (
        {}
        if imprint is not None
        else resolve_imprints((d["imprint"] for d in touched), actor=actor, source=source)
    )

    def imprint_for(doc: dict[str, Any]) -> Imprint:
        if imprint is not None:
            return imprint
        return imprints[(doc["imprint"]["id"], doc["imprint"]["name"] or "")]

    contacts = upsert_contacts(
        (c["contact"] for d in touched for c in d["contributions"]), source=source
    )
    old_snapshots = dict(
        Work.objects.filter(consonance_id__in=changed_ids).values_list("consonance_id", "snapshot")
    )
    new_works = [
        Work(
            consonance_id=cid,
            imprint=imprint_for(docs[cid][0]),
            raw=docs[cid][1],
            snapshot=docs[cid][0],
            content_hash=hashes[cid],
            source=source,
            synced_at=now,
            **_work_values(docs[cid][0]),
        )
        for cid in new_ids
    ]
    insert_rows(Work, new_works)
    work_pks = {cid: existing[cid]["pk"] for cid in changed_ids}
    if new_ids:
        work_pks.update(
            Work.objects.filter(consonance_id__in=new_ids).values_list("consonance_id", "pk")
        )
    updates = [
        Work(
            pk=existing[cid]["pk"],
            consonance_id=cid,
            imprint=imprint_for(docs[cid][0]),
            raw=docs[cid][1],
            snapshot=docs[cid][0],
            content_hash=hashes[cid],
            source=source,
            synced_at=now,
            withdrawn_at=None,
            **_work_values(docs[cid][0]),
        )
        for cid in changed_ids
    ]
    if updates:
        Work.objects.bulk_update(
            updates,
            [
                "imprint",
                "raw",
                "snapshot",
                "content_hash",
                "source",
                "synced_at",
                "withdrawn_at",
                *WORK_FIELDS.values(),
            ],
        )
    products = _upsert_products(work_pks, touched, source=source, now=now)
    _replace_work_children(work_pks, touched, contacts)
    events: list[ChangeEvent] = []
    for cid in new_ids:
        doc = docs[cid][0]
        events.append(
            ChangeEvent(
                created_at=now,
                kind=Kind.CREATED,
                imprint_id=imprint_for(doc).pk,
                work_id=work_pks[cid],
                field="work",
                new_value=doc["title"],
                source=source,
                sync_run=run,
            )
        )
    for cid in changed_ids:
        doc = docs[cid][0]
        old = old_snapshots.get(cid) or {}
        specs = diff_work(old, doc) if old else [EventSpec(Kind.METADATA, "work", None, None)]
        if existing[cid]["withdrawn_at"] is not None:
            specs.insert(0, EventSpec(Kind.METADATA, "reinstated", None, True))
        events += _events(
            specs,
            imprint_id=imprint_for(doc).pk,
            work_pk=work_pks[cid],
            products=products,
            source=source,
            run=run,
            now=now,
        )
    insert_rows(ChangeEvent, events)
    outcome.created += len(new_ids)
    outcome.updated += len(changed_ids)
    outcome.work_ids |= set(work_pks.values())


def mirror_works(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None = None,
    actor: Any = None,
    imprint: Imprint | None = None,
) -> Outcome:
    """Upsert (document, raw record) pairs of works. Call inside a transaction."""
    outcome = Outcome(seen=len(items))
    try:
        with transaction.atomic():
            _apply_works(
                items, source=source, run=run, actor=actor, imprint=imprint, outcome=outcome
            )
        return outcome
    except DatabaseError:
        if len(items) == 1:
            raise
        logger.warning("Batch of %d works failed; retrying one by one", len(items))
    outcome = Outcome(seen=len(items))
    for item in items:
        try:
            with transaction.atomic():
                _apply_works(
                    [item], source=source, run=run, actor=actor, imprint=imprint, outcome=outcome
                )
        except DatabaseError as exc:
            outcome.fail("work", item[0]["id"], f"Could not be stored: {exc}")
    return outcome


# --- contracts -----------------------------------------------------------------------------------


def _contract_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": doc["name"][:300],
        "signed_date": _d(doc["signed_date"]),
        "term_months": doc["term_months"],
        "review_date": _d(doc["review_date"]),
        "terminated_date": _d(doc["terminated_date"]),
        "ms_delivery_date": _d(doc["ms_delivery_date"]),
        "pub_before_date": _d(doc["pub_before_date"]),
        # The publisher's own client record (Consonance Client), never a contact (issue 11).
        "client_consonance_id": (doc["client"] or {}).get("id"),
        "client_name": str((doc["client"] or {}).get("name") or "")[:300],
    }


def _apply_contract(
    doc: dict[str, Any],
    raw: dict[str, Any],
    *,
    source: str,
    run: SyncRun | None,
    outcome: Outcome,
    works: dict[int, tuple[int, int]],
    existing: dict[int, dict[str, Any]],
    now: Any,
) -> None:
    digest = content_hash(doc)
    row = existing.get(doc["id"])
    if row and row["content_hash"] == digest and row["withdrawn_at"] is None:
        outcome.unchanged += 1
        return
    if doc["work_id"] not in works:
        outcome.fail("contract", doc["id"], f"Its work {doc['work_id']} is not in the mirror.")
        return
    work_pk, imprint_id = works[doc["work_id"]]
    values = dict(
        _contract_values(doc),
        work_id=work_pk,
        imprint_id=imprint_id,
        raw=raw,
        snapshot=doc,
        content_hash=digest,
        source=source,
        synced_at=now,
        withdrawn_at=None,
    )
    if row is None:
        contract = Contract.objects.create(consonance_id=doc["id"], **values)
        specs = [EventSpec(Kind.CREATED, "contract", None, doc["name"])]
        outcome.created += 1
    else:
        Contract.objects.filter(pk=row["pk"]).update(**values)
        contract = Contract(pk=row["pk"])
        specs = diff_contract(row["snapshot"] or {}, doc)
        outcome.updated += 1
    rights = {r.consonance_id: r for r in LicensedRight.objects.filter(contract=contract)}
    for r in doc["rights"]:
        cut = Decimal(r["author_cut"]) if r["author_cut"] is not None else None
        current = rights.pop(r["id"], None)
        if current is None:
            LicensedRight.objects.create(
                contract=contract,
                consonance_id=r["id"],
                right_type=r["right_type"][:100],
                territory=r["territory"][:200],
                author_cut=cut,
            )
        elif (current.right_type, current.territory, current.author_cut, current.ended_at) != (
            r["right_type"],
            r["territory"],
            cut,
            None,
        ):
            current.right_type, current.territory = r["right_type"][:100], r["territory"][:200]
            current.author_cut, current.ended_at = cut, None
            current.save()
    LicensedRight.objects.filter(
        pk__in=[r.pk for r in rights.values() if r.ended_at is None]
    ).update(ended_at=now)
    DeliveryDate.objects.filter(contract=contract).delete()
    insert_rows(
        DeliveryDate,
        [
            DeliveryDate(
                contract=contract,
                consonance_id=d["id"],
                deliverable_type=d["type"][:100],
                requirement=d["requirement"][:300],
                due=_d(d["due"]),
                slipped=_d(d["slipped"]),
                percentage_of_total=Decimal(d["percentage"]) if d["percentage"] else None,
            )
            for d in doc["deliveries"]
        ],
    )
    GratisCopy.objects.filter(contract=contract).delete()
    product_pks = dict(
        Product.objects.filter(
            consonance_id__in=[g["product_id"] for g in doc["gratis"] if g["product_id"]]
        ).values_list("consonance_id", "pk")
    )
    insert_rows(
        GratisCopy,
        [
            GratisCopy(
                contract=contract,
                consonance_id=g["id"],
                product_id=product_pks.get(g["product_id"]),
                contact_consonance_id=g.get("contact_id"),
                number_of_copies=g["copies"],
                send_on=_d(g["send_on"]),
                sent_on=_d(g["sent_on"]),
                note=g["note"][:500],
            )
            for g in doc["gratis"]
        ],
    )
    insert_rows(
        ChangeEvent,
        _events(
            specs,
            imprint_id=imprint_id,
            work_pk=work_pk,
            products={},
            source=source,
            run=run,
            contract_pk=contract.pk,
            now=now,
        ),
    )
    outcome.work_ids.add(work_pk)


def _create_contracts(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None,
    works: dict[int, tuple[int, int]],
    now: Any,
) -> None:
    """Bulk path for contracts new to the mirror (the bulk of an initial sync)."""
    insert_rows(
        Contract,
        [
            Contract(
                consonance_id=doc["id"],
                work_id=works[doc["work_id"]][0],
                imprint_id=works[doc["work_id"]][1],
                raw=raw,
                snapshot=doc,
                content_hash=content_hash(doc),
                source=source,
                synced_at=now,
                **_contract_values(doc),
            )
            for doc, raw in items
        ],
    )
    pks = dict(
        Contract.objects.filter(consonance_id__in=[d["id"] for d, _ in items]).values_list(
            "consonance_id", "pk"
        )
    )
    product_pks = dict(
        Product.objects.filter(
            consonance_id__in=[
                g["product_id"] for d, _ in items for g in d["gratis"] if g["product_id"]
            ]
        ).values_list("consonance_id", "pk")
    )
    rights, deliveries, gratis, events = [], [], [], []
    for doc, _raw in items:
        pk = pks[doc["id"]]
        for r in doc["rights"]:
            rights.append(
                LicensedRight(
                    contract_id=pk,
                    consonance_id=r["id"],
                    right_type=r["right_type"][:100],
                    territory=r["territory"][:200],
                    author_cut=Decimal(r["author_cut"]) if r["author_cut"] is not None else None,
                )
            )
        for d in doc["deliveries"]:
            deliveries.append(
                DeliveryDate(
                    contract_id=pk,
                    consonance_id=d["id"],
                    deliverable_type=d["type"][:100],
                    requirement=d["requirement"][:300],
                    due=_d(d["due"]),
                    slipped=_d(d["slipped"]),
                    percentage_of_total=Decimal(d["percentage"]) if d["percentage"] else None,
                )
            )
        for g in doc["gratis"]:
            gratis.append(
                GratisCopy(
                    contract_id=pk,
                    consonance_id=g["id"],
                    product_id=product_pks.get(g["product_id"]),
                    contact_consonance_id=g.get("contact_id"),
                    number_of_copies=g["copies"],
                    send_on=_d(g["send_on"]),
                    sent_on=_d(g["sent_on"]),
                    note=g["note"][:500],
                )
            )
        work_pk, imprint_id = works[doc["work_id"]]
        events.append(
            ChangeEvent(
                created_at=now,
                kind=Kind.CREATED,
                imprint_id=imprint_id,
                work_id=work_pk,
                contract_id=pk,
                field="contract",
                new_value=doc["name"],
                source=source,
                sync_run=run,
            )
        )
    insert_rows(LicensedRight, rights)
    insert_rows(DeliveryDate, deliveries)
    insert_rows(GratisCopy, gratis)
    insert_rows(ChangeEvent, events)


def mirror_contracts(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None = None,
) -> Outcome:
    """Upsert (document, raw record) pairs of contracts, each in its own savepoint."""
    outcome = Outcome(seen=len(items))
    now = timezone.now()
    ids = [doc["id"] for doc, _ in items]
    existing: dict[int, dict[str, Any]] = {
        row["consonance_id"]: dict(row)
        for row in Contract.objects.filter(consonance_id__in=ids).values(
            "pk", "consonance_id", "content_hash", "withdrawn_at", "snapshot"
        )
    }
    pending = [
        (doc, raw)
        for doc, raw in items
        if not (
            doc["id"] in existing
            and existing[doc["id"]]["content_hash"] == content_hash(doc)
            and existing[doc["id"]]["withdrawn_at"] is None
        )
    ]
    outcome.unchanged += len(items) - len(pending)
    if not pending:
        return outcome
    works = {
        cid: (pk, imp)
        for cid, pk, imp in Work.objects.filter(
            consonance_id__in=[d["work_id"] for d, _ in pending]
        ).values_list("consonance_id", "pk", "imprint_id")
    }
    fresh = [
        (doc, raw) for doc, raw in pending if doc["id"] not in existing and doc["work_id"] in works
    ]
    if fresh:
        try:
            with transaction.atomic():
                _create_contracts(fresh, source=source, run=run, works=works, now=now)
            outcome.created += len(fresh)
            outcome.work_ids |= {works[d["work_id"]][0] for d, _ in fresh}
            done = {d["id"] for d, _ in fresh}
            pending = [(d, r) for d, r in pending if d["id"] not in done]
        except (DatabaseError, ValueError, KeyError):
            logger.warning("Bulk contract create failed; storing one by one")
    for doc, raw in pending:
        try:
            with transaction.atomic():
                _apply_contract(
                    doc,
                    raw,
                    source=source,
                    run=run,
                    outcome=outcome,
                    works=works,
                    existing=existing,
                    now=now,
                )
        except (DatabaseError, ValueError, KeyError) as exc:
            outcome.fail("contract", doc["id"], f"Could not be stored: {exc}")
    return outcome


def withdraw_missing(
    *,
    seen_work_ids: set[int],
    seen_contract_ids: set[int],
    run: SyncRun | None,
    source: str = "graphql",
) -> int:
    """After a full resync: mark works and contracts the source no longer has as withdrawn
    (never deleted), with one ``withdrawn`` event each. ONIX-only works are left alone."""
    now = timezone.now()
    gone = list(
        Work.objects.filter(withdrawn_at__isnull=True, consonance_id__gt=0)
        .exclude(source="onix")
        .exclude(consonance_id__in=seen_work_ids)
        .values_list("pk", "imprint_id", "title")
    )
    Work.objects.filter(pk__in=[g[0] for g in gone]).update(withdrawn_at=now)
    Product.objects.filter(work_id__in=[g[0] for g in gone], withdrawn_at__isnull=True).update(
        withdrawn_at=now
    )
    gone_contracts = list(
        Contract.objects.filter(withdrawn_at__isnull=True)
        .exclude(source="onix")
        .exclude(consonance_id__in=seen_contract_ids)
        .values_list("pk", flat=True)
    )
    withdrawn_contracts = Contract.objects.filter(pk__in=gone_contracts).update(withdrawn_at=now)
    insert_rows(
        ChangeEvent,
        [
            ChangeEvent(
                created_at=now,
                kind=Kind.WITHDRAWN,
                imprint_id=imp,
                work_id=pk,
                field="work",
                old_value=title,
                source=source,
                sync_run=run,
            )
            for pk, imp, title in gone
        ],
    )
    return len(gone) + withdrawn_contracts
