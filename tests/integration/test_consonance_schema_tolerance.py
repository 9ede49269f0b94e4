"""A real Consonance may lack parts of the documented schema (the reference marks the `contracts`
list root unconfirmed, among others). The sandbox here serves a reduced schema over real HTTP: the
sync introspects it once, asks only for what it has, completes, and says what it did without."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.models import Contract, SyncRun, Work
from sandbox.consonance import api as sandbox_api

pytestmark = pytest.mark.django_db(transaction=True)

FULL_SDL = sandbox_api.SCHEMA_PATH.read_text(encoding="utf-8")


def reduced(*patterns: str) -> str:
    sdl = FULL_SDL
    for pattern in patterns:
        sdl, count = re.subn(rf"(?m)^{pattern}\n", "", sdl)
        assert count, pattern
    return sdl


NO_CONTRACTS_LIST = r"  contracts\(contractSearch: ContractSearchAttributes\): .*"
NO_SEASON = r"  season: String"


@pytest.fixture
def serve(monkeypatch):
    """Make the sandbox serve ``sdl`` (its resolvers on whatever roots the SDL has)."""

    def _serve(sdl: str) -> None:
        schema = sandbox_api.build(sdl)
        monkeypatch.setattr(sandbox_api, "schema", lambda: schema)

    return _serve


def test_sync_completes_without_the_contracts_list_and_says_so(sandbox, run_sync, serve):
    serve(reduced(NO_CONTRACTS_LIST, NO_SEASON))
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert Work.objects.count() == 12 and Contract.objects.count() == 0
    assert set(Work.objects.values_list("season", flat=True)) == {""}
    text = " ".join(run.warnings)
    assert "This Consonance does not offer Work.season" in text
    assert "does not offer the contracts list (Query.contracts missing)" in text
    assert "warning" in run.message


def test_the_sync_screen_and_api_show_the_warnings(sandbox, run_sync, serve, login, admin_a):
    serve(reduced(NO_CONTRACTS_LIST))
    run_sync()
    page = login(admin_a).get(reverse("sync:index")).content.decode()
    assert "This Consonance does not offer the contracts list" in page
    api = login(admin_a).get("/api/v1/sync-runs/").json()
    first = api["results"][0] if "results" in api else api[0]
    assert any("contracts list" in w for w in first["warnings"])


def test_a_full_resync_without_the_contracts_list_withdraws_no_contract(sandbox, run_sync, serve):
    assert run_sync(full=True).status == SyncRun.Status.SUCCEEDED
    assert Contract.objects.count() == 12
    serve(reduced(NO_CONTRACTS_LIST))
    run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.withdrawn == 0
    assert Contract.objects.filter(withdrawn_at__isnull=True).count() == 12


def test_the_schema_is_asked_once_per_run(sandbox, serve, settings):
    serve(FULL_SDL)
    client = sandbox.client()
    operations: list[str] = []
    post = client._post

    def counting(operation, query, variables):  # type: ignore[no-untyped-def]
        operations.append(operation)
        return post(operation, query, variables)

    client._post = counting  # type: ignore[method-assign]
    run = consonance_sync(run=sync_run_start(enqueue_task=False), client=client)
    assert run.status == SyncRun.Status.SUCCEEDED and run.warnings == []
    assert operations.count("IntrospectionQuery") == 1
    # paging runs until an empty page (reference §2): the last page of each list is empty
    assert operations.count("WorksPage") == 4 and operations.count("ContractsPage") == 4


def test_a_server_without_a_works_title_fails_the_run_with_the_names(sandbox, run_sync, serve):
    serve(re.sub(r"(type Work \{\n  id: Int!\n)  title: String\n", r"\1", FULL_SDL))
    run = run_sync()
    assert run.status == SyncRun.Status.FAILED
    assert "lacks Work.title" in run.message
    assert Work.objects.count() == 0


def test_a_server_without_the_works_root_falls_back_to_rest(sandbox, run_sync, serve):
    run_sync()  # products from GraphQL first: REST v4 lays its products over mirrored works
    serve(reduced(r"  works\(workSearch: WorkSearchAttributes\): .*"))
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.products_source == SyncRun.ProductsSource.REST
    assert "no 'works' field" in run.source_reason
