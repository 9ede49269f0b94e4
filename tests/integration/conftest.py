"""Fixtures for the Consonance connector: a live sandbox over real HTTP with a small data set."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from integration.connectors.consonance.client import ConsonanceClient
from sandbox.consonance import store
from sandbox.models import SandboxState


@dataclass
class Sandbox:
    url: str
    sleeps: list[float] = field(default_factory=list)

    def client(self, **kwargs: object) -> ConsonanceClient:
        return ConsonanceClient(sleep=self.sleeps.append, **kwargs)  # type: ignore[arg-type]

    def seed(self, works: int = 12) -> None:
        store.seed(works=works, reset=True)

    def page_size(self, size: int) -> None:
        SandboxState.objects.update_or_create(pk=1, defaults={"page_size": size})

    def fault(self, kind: str, count: int = 1, retry_after: int = 1) -> None:
        SandboxState.objects.update_or_create(
            pk=1, defaults={"fault": kind, "fault_remaining": count, "retry_after": retry_after}
        )


@pytest.fixture
def sandbox(live_server, settings) -> Sandbox:
    """The running app's sandbox Consonance over real HTTP, seeded with 12 works (30 products),
    pages of 5 records. Needs ``@pytest.mark.django_db(transaction=True)``."""
    settings.SANDBOX_BASE_URL = live_server.url
    settings.CONSONANCE_URL = ""
    settings.CONSONANCE_API_KEY = ""
    settings.HTTP_MAX_RETRIES = 3
    # The live server shares the test's in-memory SQLite connection: one request at a time.
    settings.CONSONANCE_PREFETCH = False
    box = Sandbox(url=f"{live_server.url}/sandbox/consonance")
    box.seed(12)
    box.page_size(5)
    return box


@pytest.fixture
def run_sync(sandbox) -> Callable[..., object]:
    from integration.catalogue.sync import consonance_sync, sync_run_start

    def _run(full: bool = False, since=None, client=None):  # type: ignore[no-untyped-def]
        run = sync_run_start(full=full, since=since, enqueue_task=False)
        return consonance_sync(run=run, client=client or sandbox.client())

    return _run


def _find_onix_dir() -> Path | None:
    """The shared ONIX folder: COLOPHON_ONIX_DIR, else ``shared/data/onix`` beside any ancestor
    of this checkout (so git worktrees nested one level deeper find it too)."""
    if os.environ.get("COLOPHON_ONIX_DIR"):
        return Path(os.environ["COLOPHON_ONIX_DIR"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "onix"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def onix_dir() -> Path:
    found = _find_onix_dir()
    if found is None or not found.is_dir():
        pytest.skip("the shared ONIX folder (shared/data/onix) is absent; set COLOPHON_ONIX_DIR")
    return found
