"""The Consonance connector against the sandbox over real HTTP."""

from __future__ import annotations

import datetime
import json
import math

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, Imprint
from integration.catalogue.selectors import work_change_events
from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.connectors.consonance import client as client_module
from integration.lib.http import ExternalServiceError
from integration.models import (
    ChangeEvent,
    Contract,
    LicensedRight,
    Price,
    Product,
    SyncRun,
    Work,
)
from sandbox.consonance import store
from sandbox.models import SandboxContract, SandboxProduct, SandboxState, SandboxWork

pytestmark = pytest.mark.django_db(transaction=True)


def canon(value: object) -> str:
    """JSON with sorted keys: PostgreSQL's jsonb does not keep key order."""
    return json.dumps(value, sort_keys=True)


def test_initial_sync_pages_through_everything(sandbox, run_sync, imprint_a, imprint_b):
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert Work.objects.count() == 12
    assert Product.objects.count() == SandboxProduct.objects.count() == 30
    assert Contract.objects.count() == 12
    # 12 works in pages of 5 (5, 5, 2) and 12 contracts likewise: 3 + 3 pages.
    assert run.pages == 2 * math.ceil(12 / 5)
    assert run.seen == 24 and run.created == 24 and run.failed == 0
    # 'No ISBN' products are kept with a null ISBN; amounts are Decimals.
    assert Product.objects.filter(isbn13__isnull=True).count() == 1
    price = Price.objects.filter(product__consonance_id=100000, currency="GBP").get()
    assert str(price.amount).count(".") == 1 and price.territory == "GB"
    # Works landed in the imprint with the matching Consonance id.
    assert Work.objects.filter(imprint=imprint_a).count() == 4
    # One 'created' event per new work and contract, never a flood of field events.
    assert ChangeEvent.objects.count() == 24
    assert set(ChangeEvent.objects.values_list("kind", flat=True)) == {"created"}


def test_unknown_consonance_imprint_is_created_and_audited(sandbox, run_sync, imprint_a):
    run_sync()
    created = Imprint.objects.get(consonance_id=103)
    assert created.name == "Little Acorn Books"
    assert AuditEvent.objects.filter(verb="imprint.created_from_source", imprint=created).exists()
    assert Work.objects.filter(imprint=created).count() == 4


def test_paging_never_assumes_a_page_size(sandbox, run_sync):
    sandbox.page_size(1)
    run = run_sync()
    assert Work.objects.count() == 12
    # Pages of one: the loop stops only at an empty page.
    assert run.pages == 24


def test_incremental_sync_uses_one_day_of_overlap(sandbox, run_sync):
    first = run_sync()
    today = timezone.localdate()
    assert first.since is None
    # Works changed two days ago fall outside the overlap; yesterday's are inside it.
    SandboxWork.objects.update(changed_on=today - datetime.timedelta(days=2))
    SandboxContract.objects.update(changed_on=today - datetime.timedelta(days=2))
    SandboxWork.objects.filter(pk=10000).update(changed_on=today - datetime.timedelta(days=1))
    second = run_sync()
    assert second.since == today - datetime.timedelta(days=1)
    # One work; ContractSearchAttributes has no changedSince, so all 12 contracts are read again
    # (they hash the same and write nothing).
    assert second.seen == 1 + 12 and second.unchanged == 1 + 12


def test_no_op_resync_writes_no_catalogue_rows(sandbox, run_sync):
    run_sync()
    with CaptureQueriesContext(connection) as queries:
        run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.unchanged == 24 and run.created == run.updated == run.withdrawn == 0
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
        and "integration_" in q["sql"]
        and "integration_syncrun" not in q["sql"]
    ]
    assert writes == []


def test_rate_limit_honours_retry_after(sandbox, run_sync):
    sandbox.fault("429", count=1, retry_after=7)
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert sandbox.sleeps == [7.0]


def test_server_errors_then_success(sandbox, run_sync):
    sandbox.fault("500", count=2)
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert len(sandbox.sleeps) == 2
    assert Work.objects.count() == 12


def test_bad_key_fails_with_a_clear_message(sandbox, run_sync):
    run = run_sync(client=sandbox.client(key="wrong-key"))
    assert run.status == SyncRun.Status.FAILED
    assert "401" in run.message and "credentials" in run.message
    assert Work.objects.count() == 0


def test_malformed_response_is_a_readable_error(sandbox, settings, run_sync):
    settings.HTTP_MAX_RETRIES = 0
    sandbox.fault("malformed", count=1)
    run = run_sync()
    assert run.status == SyncRun.Status.FAILED
    # The first call of a run asks for the server's schema; the error names that operation.
    assert "IntrospectionQuery" in run.message and "not JSON" in run.message


def test_graphql_errors_name_the_operation(sandbox, tmp_path, monkeypatch):
    (tmp_path / "BadFields.graphql").write_text("query BadFields { works { id noSuchField } }")
    monkeypatch.setattr(client_module, "QUERIES", tmp_path)
    client_module.load_query.cache_clear()
    try:
        with pytest.raises(ExternalServiceError) as info:
            sandbox.client().graphql("BadFields")
    finally:
        client_module.load_query.cache_clear()
    assert "BadFields" in str(info.value) and "noSuchField" in str(info.value)
    assert info.value.retryable is False


def test_change_events_are_exactly_right(sandbox, run_sync):
    run_sync()
    before = ChangeEvent.objects.count()
    work_id = 10001  # products 100010, 100011, 100012; contract 500001
    old_gbp = next(
        p["amount"]
        for p in SandboxProduct.objects.get(pk=100010).data["prices"]
        if p["currencyCode"] == "GBP"
    )
    store.change_price(100010, currency="GBP", amount=old_gbp + 2)
    old_date = SandboxProduct.objects.get(pk=100011).data["publicationDate"]
    new_date = store.slip_publication_date(100011, days=14)
    old_stage = SandboxWork.objects.get(pk=work_id).data["projectStage"]
    store.change_stage(work_id, stage="Production" if old_stage != "Production" else "Editorial")
    contract = SandboxContract.objects.get(pk=500001)
    old_due = contract.data["deliveryDates"][0]["dateDue"]
    slipped = store.slip_delivery_date(500001, days=30)
    store.add_licensed_right(500001, right_type="Audio", territory="WORLD")
    run = run_sync()
    assert run.updated == 2 and run.created == 0
    events = {
        (
            e.kind,
            e.field,
            canon(e.old_value),
            canon(e.new_value),
            e.product.consonance_id if e.product else None,
        )
        for e in ChangeEvent.objects.order_by("id")[before:]
    }
    work = Work.objects.get(consonance_id=work_id)
    expected = {
        ("price", "GBP 02 05 GB", canon(f"{old_gbp:.2f}"), canon(f"{old_gbp + 2:.2f}"), 100010),
        ("publication_date", "publication_date", canon(old_date), canon(new_date), 100011),
        ("project_stage", "project_stage", canon(old_stage), canon(work.project_stage), None),
        (
            "delivery_date_slipped",
            f"delivery:{contract.data['deliveryDates'][0]['deliverableType']}",
            canon(old_due),
            canon(slipped),
            None,
        ),
        (
            "licensed_right_added",
            "licensed_right",
            canon(None),
            canon({"right_type": "Audio", "territory": "WORLD"}),
            None,
        ),
    }
    assert events == expected
    assert all(e.work_id == work.pk for e in ChangeEvent.objects.order_by("id")[before:])
    # The selector other areas use lists them newest first.
    kinds = list(work_change_events(work.pk).values_list("kind", flat=True))
    assert kinds[-1] == "created" and "price" in kinds
    # A right removed at source is ended, not deleted.
    contract.refresh_from_db()
    contract.data["licensedRights"] = contract.data["licensedRights"][:-1]
    store.save_contract(contract)
    run_sync()
    ended = ChangeEvent.objects.filter(kind="licensed_right_ended").get()
    assert ended.old_value == {"right_type": "Audio", "territory": "WORLD"}
    assert LicensedRight.objects.filter(right_type="Audio", ended_at__isnull=False).exists()


def test_full_resync_marks_missing_records_withdrawn(sandbox, run_sync):
    run_sync()
    SandboxWork.objects.filter(pk=10002).delete()
    run = run_sync(full=True)
    assert run.withdrawn == 2  # the work and its contract
    work = Work.objects.get(consonance_id=10002)
    assert work.withdrawn_at is not None
    assert work.products.filter(withdrawn_at__isnull=True).count() == 0
    assert ChangeEvent.objects.filter(kind="withdrawn", work=work).count() == 1
    assert Work.objects.count() == 12  # never deleted


def test_one_bad_record_never_aborts_a_run(sandbox, run_sync):
    bad = SandboxWork.objects.get(pk=10003)
    bad.data["title"] = ""
    bad.save()
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.failed == 2  # the work, then its contract (its work is not in the mirror)
    assert {e["id"] for e in run.errors} == {10003, 500003}
    assert "no title" in run.errors[0]["error"]
    assert Work.objects.count() == 11


class FlakySession(requests.Session):
    """Fails every request after the first ``ok`` ones, as if the network went away."""

    def __init__(self, ok: int) -> None:
        super().__init__()
        self.ok = ok
        self.calls = 0

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls += 1
        if self.calls > self.ok:
            raise requests.ConnectionError("network unreachable")
        return super().request(*args, **kwargs)


def test_interrupted_run_resumes_from_its_cursor(sandbox, settings):
    settings.HTTP_MAX_RETRIES = 0
    run = sync_run_start(enqueue_task=False)
    # The schema query, then two pages of works; the network goes away after that.
    run = consonance_sync(run=run, client=sandbox.client(session=FlakySession(ok=3)))
    assert run.status == SyncRun.Status.FAILED
    assert run.cursor == 10009 and run.seen == 10
    assert "resumes from record 10009" in run.message
    again = sync_run_start(enqueue_task=False)
    assert again.pk == run.pk
    again = consonance_sync(run=again, client=sandbox.client())
    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.created == 24 and again.seen == 24
    assert Work.objects.count() == 12
    assert ChangeEvent.objects.filter(kind="created").count() == 24


def test_rest_products_fallback_reads_every_page(sandbox):
    sandbox.page_size(7)
    products = list(sandbox.client().rest_products())
    assert len(products) == 30
    assert sum(1 for p in products if p["isbn"] == "No ISBN") == 1
    assert all("-" in p["isbn"] for p in products if p["isbn"] != "No ISBN")


def test_write_back_mutations(sandbox, run_sync):
    run_sync()
    client = sandbox.client()
    delivery_id = SandboxContract.objects.get(pk=500004).data["deliveryDates"][0]["id"]
    payload = client.mutate(
        "UpdateDeliveryDate",
        {"id": delivery_id, "slippedDate": "2027-03-01", "clientMutationId": "colophon-1"},
    )
    assert payload["clientMutationId"] == "colophon-1"
    assert payload["deliveryDate"]["slippedDate"] == "2027-03-01"
    copy_id = SandboxContract.objects.get(pk=500004).data["gratisCopies"][0]["id"]
    client.mutate("UpdateGratisCopy", {"id": copy_id, "sentOn": "2026-11-27"})
    with pytest.raises(ExternalServiceError, match="not found"):
        client.mutate("UpdateGratisCopy", {"id": 999, "sentOn": "2026-11-27"})
    run = run_sync()
    assert run.updated == 1
    assert (
        ChangeEvent.objects.filter(kind="delivery_date_slipped", new_value="2027-03-01").count()
        == 1
    )


def test_sandbox_rejects_a_wrong_key_and_unknown_fields(sandbox):
    response = requests.post(
        f"{sandbox.url}/graphql",
        json={"query": "{ works { id } }"},
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert response.status_code == 401
    response = requests.post(
        f"{sandbox.url}/graphql",
        json={"query": "{ works { id bogus } }"},
        headers={"Authorization": "Bearer sandbox-key"},
        timeout=5,
    )
    assert "bogus" in response.json()["errors"][0]["message"]
    assert SandboxState.objects.get(pk=1).requests_served >= 1


def test_a_queued_run_is_not_started_twice_and_a_finished_one_is_not_rerun(sandbox):
    from integration.catalogue.sync import SyncAlreadyRunning

    queued = sync_run_start(enqueue_task=False)
    with pytest.raises(SyncAlreadyRunning, match="queued"):
        sync_run_start(enqueue_task=False)
    done = consonance_sync(run=queued, client=sandbox.client())
    assert done.status == SyncRun.Status.SUCCEEDED
    pages = done.pages
    again = consonance_sync(run=done, client=sandbox.client())
    assert again.pages == pages and Work.objects.count() == 12
