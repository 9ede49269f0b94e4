"""Upserting normalised work documents (see ``integration.connectors.consonance.mapping``)
into the catalogue mirror, with change events. Shared by the Consonance sync and the ONIX import.

* unchanged documents (same content hash) write nothing (but the raw hash, when the sync gives
  one the stored row lacks: see ``raw_hash_backfill``);
* new works get one ``created`` event; changed ones get field-level events (``diff_work``);
* writes are bulk per batch; when a batch fails in the database each record is retried alone so
  one bad record is recorded as failed and the rest still land.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import Imprint
from accounts.types import Actor
from integration.catalogue.diff import WORK_FIELDS, EventSpec, Kind, Outcome, diff_work
from integration.catalogue.parties import resolve_imprints, upsert_contacts
from integration.connectors.consonance.mapping import content_hash
from integration.lib.bulk import insert_rows
from integration.lib.upsert import upsert_rows
from integration.models import (
    ChangeEvent,
    Contract,
    Contribution,
    MarketingText,
    Price,
    Product,
    SupportingResource,
    SyncRun,
    Work,
)

logger = logging.getLogger(__name__)


def parse_iso_date(value: str | None) -> datetime.date | None:
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
        "publication_date": parse_iso_date(doc["publication_date"]),
        "planned_publication_date": parse_iso_date(doc["planned_publication_date"]),
        "publishing_status": doc["publishing_status"][:10],
        "availability": doc["availability"][:10],
        "for_sale_territories": doc["for_sale"],
        "not_for_sale_territories": doc["not_for_sale"],
    }


def _prices(product_pk: int, doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(
            product_id=product_pk,
            consonance_id=p["id"][:64],
            amount=Decimal(p["amount"]),
            currency=p["currency"],
            price_type=p["type"][:4],
            qualifier=p["qualifier"][:4],
            territory=p["territory"][:200],
            effective_from=parse_iso_date(p["from"]),
            effective_to=parse_iso_date(p["to"]),
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
    # Rows as mappings (see insert_rows): thousands of model instances cost more than the insert.
    contributions: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    resources: list[dict[str, Any]] = []
    for doc in docs:
        wpk = work_pks[doc["id"]]
        for c in doc["contributions"]:
            contributions.append(
                dict(
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
                dict(
                    work_id=wpk,
                    consonance_id=t["id"],
                    text_type=t["type"][:10],
                    text=t["text"],
                    language=t["language"][:3],
                )
            )
        for r in doc["resources"]:
            resources.append(
                dict(
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


# The MirroredRecord fields an upsert of a changed record rewrites (products, works, contracts).
MIRRORED_UPDATE = ["raw", "snapshot", "content_hash", "source", "synced_at", "withdrawn_at"]
PRODUCT_UPDATE = [
    "work",
    *MIRRORED_UPDATE,
    "isbn13",
    "full_title",
    "product_form",
    "product_form_description",
    "publication_date",
    "planned_publication_date",
    "publishing_status",
    "availability",
    "for_sale_territories",
    "not_for_sale_territories",
]
WORK_UPDATE = ["imprint", *MIRRORED_UPDATE, "raw_hash", *WORK_FIELDS.values()]


def raw_hash_backfill(
    model: type[Work] | type[Contract],
    unchanged: Iterable[Mapping[str, Any]],
    raw_hashes: Mapping[int, str] | None,
) -> None:
    """Store the raw hash of records whose document did not change but whose stored raw hash
    differs (the raw record changed in a way the document ignores, the normalisers' version
    moved, or the row predates raw hashes): one statement, once, so the next resync can skip
    mapping them. ``unchanged``: the stored rows (``pk``, ``consonance_id``, ``raw_hash``)."""
    if not raw_hashes:
        return
    stale = [
        model(pk=row["pk"], raw_hash=raw_hashes[row["consonance_id"]])
        for row in unchanged
        if row["consonance_id"] in raw_hashes
        and row["raw_hash"] != raw_hashes[row["consonance_id"]]
    ]
    if stale:
        model.objects.bulk_update(stale, ["raw_hash"])  # type: ignore[arg-type]


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
    to_create: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    repriced = []
    for cid, (work_cid, doc) in wanted.items():
        digest = content_hash(doc)
        row = dict(
            consonance_id=cid,
            work_id=work_pks[work_cid],
            raw=doc,
            snapshot=doc,
            content_hash=digest,
            source=source,
            synced_at=now,
            **_product_values(doc),
        )
        if cid not in existing:
            to_create.append(row)
            continue
        pk, old_hash, old_work, withdrawn = existing[cid]
        if old_hash != digest or old_work != work_pks[work_cid] or withdrawn:
            to_update.append({**row, "withdrawn_at": None})
            repriced.append((pk, doc))
    mapping = {cid: v[0] for cid, v in existing.items()}
    # One statement for the new and the changed: the database compares the hashes again, so a
    # product another writer stored meanwhile with the same content is not written twice.
    stored = upsert_rows(
        Product,
        to_create + to_update,
        key="consonance_id",
        update=PRODUCT_UPDATE,
        changed=["content_hash", "work"],
        reinstate="withdrawn_at",
    )
    mapping.update(stored)
    unreturned = [p["consonance_id"] for p in to_create if p["consonance_id"] not in mapping]
    if unreturned:
        mapping.update(
            Product.objects.filter(consonance_id__in=unreturned).values_list("consonance_id", "pk")
        )
    if repriced:
        Price.objects.filter(product_id__in=[pk for pk, _ in repriced]).delete()
    prices = [pr for pk, doc in repriced for pr in _prices(pk, doc)]
    prices += [pr for p in to_create for pr in _prices(mapping[p["consonance_id"]], p["snapshot"])]
    insert_rows(Price, prices)
    gone = [
        pk
        for cid, (pk, _h, work_pk, withdrawn) in existing.items()
        if cid not in wanted and withdrawn is None and work_pk in work_pks.values()
    ]
    if gone:
        Product.objects.filter(pk__in=gone).update(withdrawn_at=now)
    return mapping


def change_events_build(
    specs: list[EventSpec],
    *,
    imprint_id: int,
    work_pk: int,
    products: dict[int, int],
    source: str,
    run: SyncRun | None,
    contract_pk: int | None = None,
    now: Any,
) -> list[dict[str, Any]]:
    """Change event rows (mappings for ``insert_rows``) for ``specs``."""
    return [
        dict(
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
            sync_run_id=run.pk if run is not None else None,
        )
        for s in specs
    ]


def _apply_works(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None,
    actor: Actor,
    imprint: Imprint | None,
    outcome: Outcome,
    raw_hashes: Mapping[int, str] | None,
) -> None:
    now = timezone.now()
    docs = {doc["id"]: (doc, raw) for doc, raw in items}
    hashes = {cid: content_hash(doc) for cid, (doc, _raw) in docs.items()}
    existing = {
        row["consonance_id"]: row
        for row in Work.objects.filter(consonance_id__in=docs).values(
            "pk", "consonance_id", "content_hash", "withdrawn_at", "imprint_id", "raw_hash"
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
    changing = set(changed_ids)
    raw_hash_backfill(
        Work, [row for cid, row in existing.items() if cid not in changing], raw_hashes
    )
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

    def work_row(cid: int) -> dict[str, Any]:
        doc, raw = docs[cid]
        return dict(
            consonance_id=cid,
            imprint_id=imprint_for(doc).pk,
            raw=raw,
            snapshot=doc,
            content_hash=hashes[cid],
            # Only a document mapped from this very raw record carries its hash (the sync's);
            # one from ONIX or laid over by REST v4 clears it, so the next sync maps again.
            raw_hash=(raw_hashes or {}).get(cid, ""),
            source=source,
            synced_at=now,
            **_work_values(doc),
        )

    new_works = [work_row(cid) for cid in new_ids]
    updates = [{**work_row(cid), "withdrawn_at": None} for cid in changed_ids]
    # One statement for the new and the changed works of the page, keyed by Consonance id.
    work_pks = upsert_rows(
        Work,
        new_works + updates,
        key="consonance_id",
        update=WORK_UPDATE,
        changed=["content_hash"],
        reinstate="withdrawn_at",
    )
    work_pks.update({cid: existing[cid]["pk"] for cid in changed_ids})
    unreturned = [cid for cid in new_ids if cid not in work_pks]
    if unreturned:
        work_pks.update(
            Work.objects.filter(consonance_id__in=unreturned).values_list("consonance_id", "pk")
        )
    products = _upsert_products(work_pks, touched, source=source, now=now)
    _replace_work_children(work_pks, touched, contacts)
    events: list[dict[str, Any]] = []
    for cid in new_ids:
        doc = docs[cid][0]
        events.append(
            dict(
                created_at=now,
                kind=Kind.CREATED,
                imprint_id=imprint_for(doc).pk,
                work_id=work_pks[cid],
                field="work",
                new_value=doc["title"],
                source=source,
                sync_run_id=run.pk if run is not None else None,
            )
        )
    for cid in changed_ids:
        doc = docs[cid][0]
        old = old_snapshots.get(cid) or {}
        specs = diff_work(old, doc) if old else [EventSpec(Kind.METADATA, "work", None, None)]
        if existing[cid]["withdrawn_at"] is not None:
            specs.insert(0, EventSpec(Kind.METADATA, "reinstated", None, True))
        events += change_events_build(
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
    actor: Actor = None,
    imprint: Imprint | None = None,
    raw_hashes: Mapping[int, str] | None = None,
) -> Outcome:
    """Upsert (document, raw record) pairs of works. Call inside a transaction.
    ``raw_hashes`` (the sync's): Consonance id → ``raw_hash`` of the raw record each document
    was normalised from, stored with the rows written."""

    def apply(batch: list[Any], outcome: Outcome) -> None:
        with transaction.atomic():
            _apply_works(
                batch,
                source=source,
                run=run,
                actor=actor,
                imprint=imprint,
                outcome=outcome,
                raw_hashes=raw_hashes,
            )

    outcome = Outcome(seen=len(items))
    try:
        apply(items, outcome)
        return outcome
    except DatabaseError:
        if len(items) == 1:
            raise
        logger.warning("Batch of %d works failed; retrying one by one", len(items))
    outcome = Outcome(seen=len(items))
    for item in items:
        try:
            apply([item], outcome)
        except DatabaseError as exc:
            outcome.fail("work", item[0]["id"], f"Could not be stored: {exc}")
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
    # The difference is taken here, not as ``NOT IN (…)`` with every id seen as a parameter:
    # reading (pk, id) of the live rows costs less than sending and parsing thousands of
    # parameters, and a resync that withdraws nothing then writes nothing.
    live_works = (
        Work.objects.filter(withdrawn_at__isnull=True, consonance_id__gt=0)
        .exclude(source="onix")
        .values_list("pk", "consonance_id")
    )
    gone_pks = [pk for pk, cid in live_works if cid not in seen_work_ids]
    gone = (
        list(Work.objects.filter(pk__in=gone_pks).values_list("pk", "imprint_id", "title"))
        if gone_pks
        else []
    )
    if gone:
        Work.objects.filter(pk__in=gone_pks).update(withdrawn_at=now)
        Product.objects.filter(work_id__in=gone_pks, withdrawn_at__isnull=True).update(
            withdrawn_at=now
        )
    live_contracts = (
        Contract.objects.filter(withdrawn_at__isnull=True)
        .exclude(source="onix")
        .values_list("pk", "consonance_id")
    )
    gone_contracts = [pk for pk, cid in live_contracts if cid not in seen_contract_ids]
    withdrawn_contracts = (
        Contract.objects.filter(pk__in=gone_contracts).update(withdrawn_at=now)
        if gone_contracts
        else 0
    )
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
