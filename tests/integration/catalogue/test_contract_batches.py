"""Changed contracts are stored as a batch (``_update_contracts``), with the very rows and change
events the one-at-a-time path (``_apply_contract``) gives, in a number of statements that does
not grow with the number of changed contracts."""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.catalogue import contracts
from integration.catalogue.contracts import mirror_contracts
from integration.models import (
    ChangeEvent,
    Contract,
    DeliveryDate,
    GratisCopy,
    LicensedRight,
    SyncRun,
)

pytestmark = pytest.mark.django_db(transaction=True)

Items = list[tuple[dict[str, Any], dict[str, Any]]]


def _mirrored() -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    return {
        cid: (copy.deepcopy(snapshot), copy.deepcopy(raw))
        for cid, snapshot, raw in Contract.objects.order_by("consonance_id").values_list(
            "consonance_id", "snapshot", "raw"
        )
    }


def _changed_page() -> Items:
    """A page of contracts with every kind of change a sync meets, from the mirrored ones."""
    docs = _mirrored()
    ids = sorted(docs)
    assert len(ids) >= 7
    page: Items = []
    # Renamed, a delivery slipped and a right added.
    doc, raw = docs[ids[0]]
    doc["name"] += " (revised)"
    doc["deliveries"][0]["slipped"] = "2031-03-01"
    doc["rights"].append(
        {"id": 990001, "right_type": "Audio", "territory": "WORLD", "author_cut": "25.00"}
    )
    page.append((doc, raw))
    # A right gone at source (ended, not deleted) and the gratis copies changed.
    doc, raw = docs[ids[1]]
    assert doc["rights"], "the sandbox gives every contract rights"
    doc["rights"] = doc["rights"][:-1]
    doc["gratis"] = [{**g, "copies": g["copies"] + 3} for g in doc["gratis"]] or [
        {
            "id": 990002,
            "product_id": None,
            "contact_id": None,
            "copies": 2,
            "send_on": None,
            "sent_on": None,
            "note": "Launch copies",
        }
    ]
    page.append((doc, raw))
    # A right changed in place (territory and author's cut), dates moved.
    doc, raw = docs[ids[2]]
    doc["rights"][0] = {**doc["rights"][0], "territory": "GB IE", "author_cut": "12.50"}
    doc["signed_date"] = "2020-01-02"
    doc["review_date"] = "2032-05-06"
    page.append((doc, raw))
    # Withdrawn in the mirror, back at source unchanged: reinstated.
    Contract.objects.filter(consonance_id=ids[3]).update(withdrawn_at=timezone.now())
    page.append(docs[ids[3]])
    # Unchanged.
    page.append(docs[ids[4]])
    # New to the mirror (the bulk create path).
    doc, raw = copy.deepcopy(docs[ids[5]])
    doc["id"] = raw["id"] = 990003
    doc["name"] = "A new contract"
    doc["rights"] = [{**r, "id": 990100 + i} for i, r in enumerate(doc["rights"])]
    page.append((doc, raw))
    # Changed, but its work is not in the mirror: reported as failed, the rest still land.
    doc, raw = docs[ids[6]]
    doc["work_id"] = 424242
    page.append((doc, raw))
    return page


def _state() -> dict[str, list[str]]:
    """Every catalogue row the contract mirror writes, without primary keys and times (which
    differ between two runs), foreign keys to contracts as their Consonance ids, to the sync
    run as whether there is one."""
    cids = dict(Contract.objects.values_list("pk", "consonance_id"))

    def rows(model: Any) -> list[str]:
        out = []
        for values in model.objects.values():
            values.pop("id")
            for key, value in list(values.items()):
                if isinstance(value, datetime.datetime):
                    values[key] = "set"
                elif key == "contract_id":
                    values[key] = cids.get(value)
                elif key == "sync_run_id":
                    # Each path has its own run (PostgreSQL does not roll sequences back).
                    values[key] = value is not None
            out.append(json.dumps(values, sort_keys=True, default=str))
        return sorted(out)

    return {
        model.__name__: rows(model)
        for model in (Contract, LicensedRight, DeliveryDate, GratisCopy, ChangeEvent)
    }


def _store(items: Items, *, path: str) -> tuple[Any, dict[str, list[str]], int]:
    """``mirror_contracts`` on ``items``, its outcome, the rows it leaves and its statements;
    rolled back, so both paths start from the same mirror. ``path``: "batch" (the one-at-a-time
    path must not be taken), "single" (the batch fails, as when the database refuses it, so
    each contract is stored alone) or "any"."""
    if path == "single":
        patch: Any = mock.patch.object(
            contracts, "_update_contracts", side_effect=DatabaseError("forced")
        )
    elif path == "batch":
        patch = mock.patch.object(
            contracts, "_apply_contract", side_effect=AssertionError("not one at a time")
        )
    else:
        patch = contextlib.nullcontext()
    with transaction.atomic(), patch:
        run = SyncRun.objects.create(kind=SyncRun.Kind.INCREMENTAL)
        with CaptureQueriesContext(connection) as queries:
            outcome = mirror_contracts(items, source="graphql", run=run)
        state = _state()
        transaction.set_rollback(True)
    return outcome, state, len(queries)


def test_changed_contracts_as_a_batch_give_the_rows_and_events_one_at_a_time_gives(
    sandbox, run_sync
):
    assert run_sync().status == SyncRun.Status.SUCCEEDED
    page = _changed_page()
    # The contract whose work is not mirrored goes one at a time whatever the path: let it.
    failing = page.pop()
    batched, batched_state, _ = _store(page, path="batch")
    single, single_state, _ = _store(page, path="single")
    assert batched_state == single_state
    for count in ("seen", "created", "updated", "unchanged", "failed"):
        assert getattr(batched, count) == getattr(single, count), count
    assert batched.work_ids == single.work_ids
    assert (batched.created, batched.updated, batched.unchanged) == (1, 4, 1)
    # The events a trigger rule sees, for each kind of change.
    kinds = {
        (e["kind"], e["field"])
        for e in map(json.loads, batched_state["ChangeEvent"])
        if e["sync_run_id"]
    }
    assert {
        ("created", "contract"),
        ("metadata", "contract.name"),
        ("delivery_date_slipped", f"delivery:{page[0][0]['deliveries'][0]['type']}"),
        ("licensed_right_added", "licensed_right"),
        ("licensed_right_ended", "licensed_right"),
        ("metadata", "gratis_copies"),
        ("metadata", "contract.signed_date"),
        ("metadata", "contract.review_date"),
    } <= kinds
    # The right gone at source is ended, not deleted; the one changed in place is updated.
    rights = [json.loads(r) for r in batched_state["LicensedRight"]]
    ended = [r for r in rights if r["contract_id"] == page[1][0]["id"] and r["ended_at"]]
    assert len(ended) == 1
    moved = [r for r in rights if r["consonance_id"] == page[2][0]["rights"][0]["id"]]
    assert [(r["territory"], r["author_cut"], r["ended_at"]) for r in moved] == [
        ("GB IE", "12.50", None)
    ]

    # With a contract whose work is missing in the page, the rest are still batched and that
    # one is reported.
    with_failure, failure_state, _ = _store([*page, failing], path="any")
    assert with_failure.failed == 1 and with_failure.updated == 4
    assert "is not in the mirror" in with_failure.errors[0]["error"]
    assert failure_state == batched_state


def test_changed_contracts_take_the_same_statements_however_many(sandbox, run_sync):
    assert run_sync().status == SyncRun.Status.SUCCEEDED
    docs = _mirrored()

    def changed(count: int) -> Items:
        page = []
        for cid in sorted(docs)[:count]:
            doc, raw = copy.deepcopy(docs[cid])
            doc["name"] += " (revised)"
            doc["deliveries"][0]["slipped"] = "2031-03-01"
            doc["rights"] = doc["rights"][:-1]
            page.append((doc, raw))
        return page

    one, _, one_statements = _store(changed(1), path="batch")
    many, _, many_statements = _store(changed(8), path="batch")
    assert (one.updated, many.updated) == (1, 8)
    assert many_statements == one_statements
    # One at a time, each contract costs its own statements.
    _, _, single_statements = _store(changed(8), path="single")
    assert single_statements > many_statements + 8
