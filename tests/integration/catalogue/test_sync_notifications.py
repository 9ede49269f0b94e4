"""What a sync tells the rest of Colophon: a page that changed nothing enqueues nothing (a
no-change resync of many pages enqueues one task, at its end, not one per page), and a page
that changed titles names them."""

from __future__ import annotations

from typing import Any

import pytest

from integration.catalogue import sync
from integration.models import SyncRun, Work
from sandbox.consonance import store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def notified(monkeypatch) -> list[list[int]]:
    calls: list[list[int]] = []
    real = sync.notify_catalogue_changed

    def spy(work_ids: Any) -> None:
        ids = list(work_ids)
        calls.append(sorted(set(ids)))
        real(ids)

    monkeypatch.setattr(sync, "notify_catalogue_changed", spy)
    return calls


def test_a_no_change_resync_enqueues_once_not_per_page(sandbox, run_sync, notified):
    first = run_sync()
    assert first.status == SyncRun.Status.SUCCEEDED
    # The initial sync: every page changed something, and the run's end once more.
    assert len(notified) == first.pages + 1 and notified[-1] == []
    # Each work by its own page, then by its contract's page.
    work_pks = list(Work.objects.values_list("pk", flat=True))
    assert sorted(pk for ids in notified for pk in ids) == sorted(work_pks * 2)
    notified.clear()
    resync = run_sync(full=True)
    assert resync.status == SyncRun.Status.SUCCEEDED
    assert resync.pages >= 6 and resync.unchanged == resync.seen == 24
    assert notified == [[]]


def test_a_changed_page_names_its_titles(sandbox, run_sync, notified):
    run_sync()
    store.change_stage(10001, stage="Withdrawn in error")
    notified.clear()
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED and run.updated == 1
    work = Work.objects.get(consonance_id=10001)
    assert notified == [[work.pk], []]
