"""Upserting normalised contract documents into the mirror (contract, licensed rights,
delivery dates, gratis copies), with field-level change events (``diff_contract``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from integration.catalogue.diff import EventSpec, Kind, Outcome, diff_contract
from integration.catalogue.mirror import (
    MIRRORED_UPDATE,
    change_events_build,
    parse_iso_date,
    raw_hash_backfill,
)
from integration.connectors.consonance.mapping import content_hash
from integration.lib.bulk import insert_rows
from integration.lib.upsert import upsert_rows
from integration.models import (
    ChangeEvent,
    Contract,
    DeliveryDate,
    GratisCopy,
    LicensedRight,
    Product,
    SyncRun,
    Work,
)

logger = logging.getLogger(__name__)


def _contract_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": doc["name"][:300],
        "signed_date": parse_iso_date(doc["signed_date"]),
        "term_months": doc["term_months"],
        "review_date": parse_iso_date(doc["review_date"]),
        "terminated_date": parse_iso_date(doc["terminated_date"]),
        "ms_delivery_date": parse_iso_date(doc["ms_delivery_date"]),
        "pub_before_date": parse_iso_date(doc["pub_before_date"]),
        # The publisher's own client record (Consonance Client), never a contact (issue 11).
        "client_consonance_id": (doc["client"] or {}).get("id"),
        "client_name": str((doc["client"] or {}).get("name") or "")[:300],
    }


def _delivery_values(d: dict[str, Any]) -> dict[str, Any]:
    """A contract's delivery date (Consonance document) as DeliveryDate fields."""
    return {
        "consonance_id": d["id"],
        "deliverable_type": d["type"][:100],
        "requirement": d["requirement"][:300],
        "due": parse_iso_date(d["due"]),
        "slipped": parse_iso_date(d["slipped"]),
        "percentage_of_total": Decimal(d["percentage"]) if d["percentage"] else None,
    }


def _gratis_values(g: dict[str, Any], product_pks: dict[int, int]) -> dict[str, Any]:
    """A contract's gratis copies (Consonance document) as GratisCopy fields; ``product_pks``:
    Consonance product id → Product pk."""
    return {
        "consonance_id": g["id"],
        "product_id": product_pks.get(g["product_id"]),
        "contact_consonance_id": g.get("contact_id"),
        "number_of_copies": g["copies"],
        "send_on": parse_iso_date(g["send_on"]),
        "sent_on": parse_iso_date(g["sent_on"]),
        "note": g["note"][:500],
    }


CONTRACT_UPDATE = [
    "work",
    "imprint",
    *MIRRORED_UPDATE,
    "raw_hash",
    "name",
    "signed_date",
    "term_months",
    "review_date",
    "terminated_date",
    "ms_delivery_date",
    "pub_before_date",
    "client_consonance_id",
    "client_name",
]


def _contract_row(
    doc: dict[str, Any],
    raw: dict[str, Any],
    *,
    source: str,
    works: dict[int, tuple[int, int]],
    raw_hashes: Mapping[int, str] | None,
    now: Any,
) -> dict[str, Any]:
    """The Contract row a (document, raw record) pair is stored as: new, changed, or back
    after a withdrawal (``withdrawn_at`` cleared). Its raw hash only when the sync mapped the
    document from this very record (see ``mirror_works``)."""
    work_pk, imprint_id = works[doc["work_id"]]
    return dict(
        consonance_id=doc["id"],
        work_id=work_pk,
        imprint_id=imprint_id,
        raw=raw,
        snapshot=doc,
        content_hash=content_hash(doc),
        raw_hash=(raw_hashes or {}).get(doc["id"], ""),
        source=source,
        synced_at=now,
        withdrawn_at=None,
        **_contract_values(doc),
    )


def _upsert_contracts(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    works: dict[int, tuple[int, int]],
    raw_hashes: Mapping[int, str] | None,
    now: Any,
) -> dict[int, int]:
    """One upsert keyed by Consonance id for the page's new or changed contracts, in which the
    database compares the hashes again (``upsert_rows``): ``{consonance id: pk}`` of the rows
    it inserted or updated; one another writer stored meanwhile with the same content is not
    among them."""
    return upsert_rows(
        Contract,
        [
            _contract_row(doc, raw, source=source, works=works, raw_hashes=raw_hashes, now=now)
            for doc, raw in items
        ],
        key="consonance_id",
        update=CONTRACT_UPDATE,
        changed=["content_hash"],
        reinstate="withdrawn_at",
    )


def _apply_contract(
    doc: dict[str, Any],
    raw: dict[str, Any],
    *,
    source: str,
    run: SyncRun | None,
    outcome: Outcome,
    works: dict[int, tuple[int, int]],
    existing: dict[int, dict[str, Any]],
    raw_hashes: Mapping[int, str] | None,
    now: Any,
) -> None:
    row = existing.get(doc["id"])
    if row and row["content_hash"] == content_hash(doc) and row["withdrawn_at"] is None:
        outcome.unchanged += 1
        return
    if doc["work_id"] not in works:
        outcome.fail("contract", doc["id"], f"Its work {doc['work_id']} is not in the mirror.")
        return
    work_pk, imprint_id = works[doc["work_id"]]
    values = _contract_row(doc, raw, source=source, works=works, raw_hashes=raw_hashes, now=now)
    if row is None:
        contract = Contract.objects.create(**values)
        specs = [EventSpec(Kind.CREATED, "contract", None, doc["name"])]
        outcome.created += 1
    else:
        Contract.objects.filter(pk=row["pk"]).update(**values)
        contract = Contract(pk=row["pk"])
        specs = diff_contract(row.get("snapshot") or {}, doc)
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
        [DeliveryDate(contract=contract, **_delivery_values(d)) for d in doc["deliveries"]],
    )
    GratisCopy.objects.filter(contract=contract).delete()
    product_pks = dict(
        Product.objects.filter(
            consonance_id__in=[g["product_id"] for g in doc["gratis"] if g["product_id"]]
        ).values_list("consonance_id", "pk")
    )
    insert_rows(
        GratisCopy,
        [GratisCopy(contract=contract, **_gratis_values(g, product_pks)) for g in doc["gratis"]],
    )
    insert_rows(
        ChangeEvent,
        change_events_build(
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
    raw_hashes: Mapping[int, str] | None,
    now: Any,
) -> None:
    """Bulk path for contracts new to the mirror (the bulk of an initial sync): one upsert
    keyed by Consonance id returns their primary keys."""
    pks = _upsert_contracts(items, source=source, works=works, raw_hashes=raw_hashes, now=now)
    if len(pks) != len(items):
        # Stored meanwhile by another writer with the same content: not new after all; the
        # caller stores this page one contract at a time instead, as for any failed batch.
        raise IntegrityError("Some contracts of this page were stored meanwhile.")
    product_pks = dict(
        Product.objects.filter(
            consonance_id__in=[
                g["product_id"] for d, _ in items for g in d["gratis"] if g["product_id"]
            ]
        ).values_list("consonance_id", "pk")
    )
    # Rows as mappings (see insert_rows): cheaper than thousands of model instances.
    rights: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    gratis: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for doc, _raw in items:
        pk = pks[doc["id"]]
        for r in doc["rights"]:
            rights.append(
                dict(
                    contract_id=pk,
                    consonance_id=r["id"],
                    right_type=r["right_type"][:100],
                    territory=r["territory"][:200],
                    author_cut=Decimal(r["author_cut"]) if r["author_cut"] is not None else None,
                )
            )
        deliveries += [dict(contract_id=pk, **_delivery_values(d)) for d in doc["deliveries"]]
        gratis += [dict(contract_id=pk, **_gratis_values(g, product_pks)) for g in doc["gratis"]]
        work_pk, imprint_id = works[doc["work_id"]]
        events.append(
            dict(
                created_at=now,
                kind=Kind.CREATED,
                imprint_id=imprint_id,
                work_id=work_pk,
                contract_id=pk,
                field="contract",
                new_value=doc["name"],
                source=source,
                sync_run_id=run.pk if run is not None else None,
            )
        )
    insert_rows(LicensedRight, rights)
    insert_rows(DeliveryDate, deliveries)
    insert_rows(GratisCopy, gratis)
    insert_rows(ChangeEvent, events)


def _update_contracts(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None,
    works: dict[int, tuple[int, int]],
    existing: dict[int, dict[str, Any]],
    raw_hashes: Mapping[int, str] | None,
    now: Any,
) -> dict[int, int]:
    """Bulk path for contracts already in the mirror whose content changed (or that come back
    after a withdrawal): what ``_apply_contract`` does for one, done for the page in a fixed
    number of statements. One upsert keyed by Consonance id, in which the database compares
    the hashes again: a contract another writer stored meanwhile with the same content is not
    returned, and gets neither rows nor events here. Licensed rights are kept by id (new ones
    added, changed ones updated, missing ones ended); delivery dates and gratis copies are
    replaced; field-level events come from ``diff_contract`` against the stored document.
    Returns ``{consonance id: pk}`` of the contracts written."""
    pks = _upsert_contracts(items, source=source, works=works, raw_hashes=raw_hashes, now=now)
    written = [(doc, pks[doc["id"]]) for doc, _raw in items if doc["id"] in pks]
    if not written:
        return {}
    contract_pks = [pk for _doc, pk in written]
    # The stored rights of each contract by Consonance id, as _apply_contract reads them.
    stored: dict[int, dict[int | None, LicensedRight]] = {}
    for right in LicensedRight.objects.filter(contract_id__in=contract_pks):
        stored.setdefault(right.contract_id, {})[right.consonance_id] = right
    product_pks = dict(
        Product.objects.filter(
            consonance_id__in=[
                g["product_id"] for d, _ in written for g in d["gratis"] if g["product_id"]
            ]
        ).values_list("consonance_id", "pk")
    )
    new_rights: list[dict[str, Any]] = []
    changed_rights: list[LicensedRight] = []
    ended: list[int] = []
    deliveries: list[dict[str, Any]] = []
    gratis: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for doc, pk in written:
        rights = stored.get(pk, {})
        for r in doc["rights"]:
            cut = Decimal(r["author_cut"]) if r["author_cut"] is not None else None
            current = rights.pop(r["id"], None)
            if current is None:
                new_rights.append(
                    dict(
                        contract_id=pk,
                        consonance_id=r["id"],
                        right_type=r["right_type"][:100],
                        territory=r["territory"][:200],
                        author_cut=cut,
                    )
                )
            elif (current.right_type, current.territory, current.author_cut, current.ended_at) != (
                r["right_type"],
                r["territory"],
                cut,
                None,
            ):
                current.right_type, current.territory = r["right_type"][:100], r["territory"][:200]
                current.author_cut, current.ended_at = cut, None
                changed_rights.append(current)
        ended += [right.pk for right in rights.values() if right.ended_at is None]
        deliveries += [dict(contract_id=pk, **_delivery_values(d)) for d in doc["deliveries"]]
        gratis += [dict(contract_id=pk, **_gratis_values(g, product_pks)) for g in doc["gratis"]]
        work_pk, imprint_id = works[doc["work_id"]]
        events += change_events_build(
            diff_contract(existing[doc["id"]].get("snapshot") or {}, doc),
            imprint_id=imprint_id,
            work_pk=work_pk,
            products={},
            source=source,
            run=run,
            contract_pk=pk,
            now=now,
        )
    insert_rows(LicensedRight, new_rights)
    if changed_rights:
        LicensedRight.objects.bulk_update(
            changed_rights, ["right_type", "territory", "author_cut", "ended_at"]
        )
    if ended:
        LicensedRight.objects.filter(pk__in=ended).update(ended_at=now)
    DeliveryDate.objects.filter(contract_id__in=contract_pks).delete()
    insert_rows(DeliveryDate, deliveries)
    GratisCopy.objects.filter(contract_id__in=contract_pks).delete()
    insert_rows(GratisCopy, gratis)
    insert_rows(ChangeEvent, events)
    return {doc["id"]: pk for doc, pk in written}


def mirror_contracts(
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    source: str,
    run: SyncRun | None = None,
    raw_hashes: Mapping[int, str] | None = None,
) -> Outcome:
    """Upsert (document, raw record) pairs of contracts: the new ones and the changed ones in
    a batch each; any a batch could not store, one at a time in its own savepoint.
    ``raw_hashes``: as for ``mirror_works``."""
    outcome = Outcome(seen=len(items))
    now = timezone.now()
    ids = [doc["id"] for doc, _ in items]
    existing: dict[int, dict[str, Any]] = {
        row["consonance_id"]: dict(row)
        for row in Contract.objects.filter(consonance_id__in=ids).values(
            "pk", "consonance_id", "content_hash", "withdrawn_at", "raw_hash"
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
    waiting = {doc["id"] for doc, _ in pending}
    raw_hash_backfill(
        Contract, [row for cid, row in existing.items() if cid not in waiting], raw_hashes
    )
    if not pending:
        return outcome
    # The stored documents the changes are diffed against: read for the changed ones only,
    # not for every unchanged contract of a no-change resync.
    for cid, snapshot in Contract.objects.filter(
        consonance_id__in=[d["id"] for d, _ in pending if d["id"] in existing]
    ).values_list("consonance_id", "snapshot"):
        existing[cid]["snapshot"] = snapshot
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
                _create_contracts(
                    fresh, source=source, run=run, works=works, raw_hashes=raw_hashes, now=now
                )
            outcome.created += len(fresh)
            outcome.work_ids |= {works[d["work_id"]][0] for d, _ in fresh}
            done = {d["id"] for d, _ in fresh}
            pending = [(d, r) for d, r in pending if d["id"] not in done]
        except (DatabaseError, ValueError, KeyError):
            logger.warning("Bulk contract create failed; storing one by one")
    changed = [
        (doc, raw) for doc, raw in pending if doc["id"] in existing and doc["work_id"] in works
    ]
    if changed:
        try:
            with transaction.atomic():
                written = _update_contracts(
                    changed,
                    source=source,
                    run=run,
                    works=works,
                    existing=existing,
                    raw_hashes=raw_hashes,
                    now=now,
                )
            outcome.updated += len(written)
            # Stored meanwhile by another writer with this very content: nothing to do.
            outcome.unchanged += len(changed) - len(written)
            outcome.work_ids |= {works[d["work_id"]][0] for d, _ in changed if d["id"] in written}
            done = {d["id"] for d, _ in changed}
            pending = [(d, r) for d, r in pending if d["id"] not in done]
        except (DatabaseError, ValueError, KeyError):
            logger.warning("Bulk contract update failed; storing one by one")
    # What is left (a contract whose work is not mirrored, or a batch that failed) one at a
    # time, each in its own savepoint, so one bad record is reported and the rest still land.
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
                    raw_hashes=raw_hashes,
                    now=now,
                )
        except (DatabaseError, ValueError, KeyError) as exc:
            outcome.fail("contract", doc["id"], f"Could not be stored: {exc}")
    return outcome
