"""A resync maps (normalises) only the records whose raw source data changed since they were
mirrored, or whose normalisers changed: each work and contract keeps the hash of the raw record
its document was mapped from, with the normalisers' version (``Work.raw_hash``). What is mapped
is compared, stored and diffed exactly as before."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.catalogue import sync
from integration.catalogue.mirror import mirror_works
from integration.connectors.consonance import mapping
from integration.models import ChangeEvent, Contract, SyncRun, Work
from sandbox.consonance import store
from sandbox.models import SandboxWork

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mapped(monkeypatch) -> dict[str, list[Any]]:
    """The ids of the records the sync maps, per kind."""
    seen: dict[str, list[Any]] = {"work": [], "contract": []}

    def spy(kind: str, normalise: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
        def call(record: dict[str, Any]) -> dict[str, Any]:
            seen[kind].append(record.get("id"))
            return normalise(record)

        return call

    monkeypatch.setattr(sync, "normalise_work", spy("work", mapping.normalise_work))
    monkeypatch.setattr(sync, "normalise_contract", spy("contract", mapping.normalise_contract))
    return seen


def _catalogue_writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
        and "integration_" in q["sql"]
        and "integration_syncrun" not in q["sql"]
    ]


def test_a_resync_maps_only_the_records_whose_source_changed(sandbox, run_sync, mapped):
    run_sync()
    assert len(mapped["work"]) == 12 and len(mapped["contract"]) == 12
    assert not Work.objects.filter(raw_hash="").exists()
    assert not Contract.objects.filter(raw_hash="").exists()
    mapped["work"].clear()
    mapped["contract"].clear()
    before = ChangeEvent.objects.count()
    old_stage = SandboxWork.objects.get(pk=10001).data["projectStage"]
    new_stage = "Production" if old_stage != "Production" else "Editorial"
    store.change_stage(10001, stage=new_stage)

    run = run_sync(full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert mapped == {"work": [10001], "contract": []}
    assert (run.seen, run.updated, run.unchanged, run.created) == (24, 1, 23, 0)
    events = list(ChangeEvent.objects.order_by("id")[before:])
    assert [(e.kind, e.field, e.old_value, e.new_value) for e in events] == [
        ("project_stage", "project_stage", old_stage, new_stage)
    ]
    assert Work.objects.get(consonance_id=10001).project_stage == new_stage


def test_new_normalisers_map_everything_again_and_change_nothing(
    sandbox, run_sync, mapped, monkeypatch
):
    run_sync()
    hashes = dict(Work.objects.values_list("consonance_id", "raw_hash"))
    events = ChangeEvent.objects.count()
    mapped["work"].clear()
    mapped["contract"].clear()
    monkeypatch.setattr(mapping, "NORMALISER_VERSION", mapping.NORMALISER_VERSION + 1)

    with CaptureQueriesContext(connection) as queries:
        run = run_sync(full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert len(mapped["work"]) == 12 and len(mapped["contract"]) == 12
    assert run.unchanged == 24 and run.updated == run.created == 0
    assert ChangeEvent.objects.count() == events
    # Only the new raw hashes are written (one statement per page), nothing else.
    writes = _catalogue_writes(queries)
    assert writes and all(
        w.startswith(
            (
                'UPDATE "integration_work" SET "raw_hash"',
                'UPDATE "integration_contract" SET "raw_hash"',
            )
        )
        for w in writes
    ), writes
    new = dict(Work.objects.values_list("consonance_id", "raw_hash"))
    assert new.keys() == hashes.keys() and not set(new.values()) & set(hashes.values())

    mapped["work"].clear()
    mapped["contract"].clear()
    with CaptureQueriesContext(connection) as queries:
        run_sync(full=True)
    assert mapped == {"work": [], "contract": []}
    assert _catalogue_writes(queries) == []


def test_a_document_not_mapped_from_graphql_is_mapped_again(sandbox, run_sync, mapped):
    """A document laid over by REST v4 (or ONIX) is not what the GraphQL record maps to: its
    raw hash is cleared, so the next sync maps the record and puts the source's values back."""
    run_sync()
    work = Work.objects.get(consonance_id=10002)
    doc, raw = copy.deepcopy(work.snapshot), copy.deepcopy(work.raw)
    title = doc["title"]
    doc["title"] = "Laid over elsewhere"
    with transaction.atomic():
        outcome = mirror_works([(doc, raw)], source="rest")
    assert outcome.updated == 1
    work.refresh_from_db()
    assert work.title == "Laid over elsewhere" and work.raw_hash == ""
    mapped["work"].clear()
    before = ChangeEvent.objects.count()

    run = run_sync(full=True)

    assert mapped["work"] == [10002]
    assert run.updated == 1
    work.refresh_from_db()
    assert work.title == title and work.raw_hash != ""
    assert [
        (e.field, e.old_value, e.new_value) for e in ChangeEvent.objects.order_by("id")[before:]
    ] == [("title", "Laid over elsewhere", title)]


def test_a_record_withdrawn_after_the_hashes_were_read_is_mapped_and_reinstated(sandbox, run_sync):
    """The hashes the preparer skips by are read when a phase begins; each page checks them
    again in its own transaction, so a record changed meanwhile is still mapped and stored."""
    run_sync()
    known = sync._known_raw_hashes(Work)
    # The record as the sync got it (and stored it as ``raw``), unchanged at the source.
    record = Work.objects.get(consonance_id=10003).raw
    page = sync._preparer(mapping.normalise_work, "work", known)([record])
    assert page.items == [] and [r["id"] for r in page.same] == [10003]
    Work.objects.filter(consonance_id=10003).update(withdrawn_at=timezone.now())

    mapped, unchanged = sync._recheck(Work, page, mapping.normalise_work, "work")

    assert unchanged == 0 and [doc["id"] for doc, _raw in mapped] == [10003]
    with transaction.atomic():
        outcome = mirror_works(mapped, source="graphql", raw_hashes=page.hashes)
    assert outcome.updated == 1
    work = Work.objects.get(consonance_id=10003)
    assert work.withdrawn_at is None and work.raw_hash == page.hashes[10003]
    assert ChangeEvent.objects.filter(work=work, field="reinstated").count() == 1


def test_a_no_change_page_costs_one_read_of_its_hashes(sandbox, run_sync):
    """Per page of a no-change resync: one read of the skipped records' hashes and the run's
    own row; no savepoint or read for a mirror that has nothing to store."""
    run_sync()
    with CaptureQueriesContext(connection) as queries:
        run = run_sync(full=True)
    assert run.unchanged == 24 and run.pages == 6
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if "SAVEPOINT" in sql]
    rechecks = [
        sql
        for sql in sqls
        if sql.startswith("SELECT")
        and ('"integration_work"' in sql or '"integration_contract"' in sql)
        and '"raw_hash"' in sql
        and "IN (" in sql
    ]
    assert len(rechecks) == run.pages
