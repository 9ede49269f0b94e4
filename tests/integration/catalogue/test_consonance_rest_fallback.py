"""The REST v4 products fallback, against the sandbox over real HTTP: chosen by setting, or
taken by itself when GraphQL is gone in a way retrying cannot fix."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from integration.catalogue.sync import consonance_sync, graphql_unavailable, sync_run_start
from integration.connectors.consonance.client import ConsonanceClient
from integration.lib.http import ExternalServiceError
from integration.models import ChangeEvent, Contract, Price, Product, SyncRun, Work
from sandbox.consonance import store
from sandbox.models import SandboxProduct

pytestmark = pytest.mark.django_db(transaction=True)


def canon(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def test_graphql_404_falls_back_to_rest_and_reads_every_page(sandbox, run_sync, settings):
    run_sync()  # the mirror holds works, products and contracts from GraphQL
    work = Work.objects.get(consonance_id=10001)
    before_snapshot = work.snapshot
    old_gbp = next(
        p["amount"]
        for p in SandboxProduct.objects.get(pk=100010).data["prices"]
        if p["currencyCode"] == "GBP"
    )
    store.change_price(100010, currency="GBP", amount=old_gbp + 2)
    old_date = SandboxProduct.objects.get(pk=100011).data["publicationDate"]
    new_date = store.slip_publication_date(100011, days=14)
    store.change_stage(10001, stage="Withdrawn-stage-only-GraphQL-knows")
    sandbox.page_size(7)  # 30 products: pages of 7, 7, 7, 7, 2
    sandbox.fault("graphql-404", count=1)
    events_before = ChangeEvent.objects.count()

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.products_source == SyncRun.ProductsSource.REST
    assert "404" in run.source_reason
    assert run.pages == 5 and run.seen == 30
    assert run.updated == 2 and run.unchanged == 28 and run.failed == 0
    assert "REST v4" in run.message and "stay as last synced" in run.message
    # The 404 was not retried: it is not the kind of failure retrying fixes.
    assert sandbox.sleeps == []
    new_events = {
        (e.kind, e.field, canon(e.old_value), canon(e.new_value), e.product.consonance_id)
        for e in ChangeEvent.objects.order_by("id")[events_before:]
    }
    assert new_events == {
        ("price", "GBP 02 05 GB", canon(f"{old_gbp:.2f}"), canon(f"{old_gbp + 2:.2f}"), 100010),
        ("publication_date", "publication_date", canon(old_date), canon(new_date), 100011),
    }
    assert set(
        ChangeEvent.objects.order_by("id")[events_before:].values_list("source", flat=True)
    ) == {"rest"}
    work.refresh_from_db()
    # Work data REST cannot carry stays as it was; the price keeps its territory.
    assert work.project_stage == before_snapshot["project_stage"]
    price = Price.objects.get(product__consonance_id=100010, currency="GBP")
    assert price.territory == "GB" and float(price.amount) == pytest.approx(old_gbp + 2)
    assert Product.objects.get(consonance_id=100011).publication_date.isoformat() == new_date
    # The 'No ISBN' product stays null; hyphenated ISBNs are stored as 13 digits.
    assert Product.objects.filter(isbn13__isnull=True).count() == 1
    assert all(
        len(i) == 13 for i in Product.objects.exclude(isbn13=None).values_list("isbn13", flat=True)
    )
    assert AuditEvent.objects.filter(verb="consonance.sync_fell_back_to_rest").count() == 1


def test_rest_read_of_unchanged_data_writes_nothing(sandbox, run_sync, settings):
    run_sync()
    products = dict(Product.objects.values_list("consonance_id", "content_hash"))
    works = dict(Work.objects.values_list("consonance_id", "content_hash"))
    events = ChangeEvent.objects.count()
    settings.CONSONANCE_PRODUCTS_SOURCE = "rest"
    run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.products_source == "rest" and "CONSONANCE_PRODUCTS_SOURCE" in run.source_reason
    assert run.unchanged == 30 and run.updated == 0
    assert dict(Product.objects.values_list("consonance_id", "content_hash")) == products
    assert dict(Work.objects.values_list("consonance_id", "content_hash")) == works
    assert ChangeEvent.objects.count() == events


def test_rest_setting_on_an_empty_mirror_reports_products_it_cannot_place(
    sandbox, run_sync, settings
):
    settings.CONSONANCE_PRODUCTS_SOURCE = "rest"
    run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.seen == 30 and run.failed == 30
    assert "not in Colophon" in run.errors[0]["error"]
    assert Work.objects.count() == Product.objects.count() == Contract.objects.count() == 0
    assert "nothing was withdrawn" in run.message


def test_full_rest_run_withdraws_nothing(sandbox, run_sync, settings):
    run_sync()
    settings.CONSONANCE_PRODUCTS_SOURCE = "rest"
    store.remove_product(100010)
    run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert Work.objects.filter(withdrawn_at__isnull=False).count() == 0
    assert Contract.objects.filter(withdrawn_at__isnull=False).count() == 0


def test_other_graphql_failures_do_not_fall_back(sandbox, run_sync, settings):
    settings.HTTP_MAX_RETRIES = 0
    sandbox.fault("500", count=1)
    run = run_sync()
    assert run.status == SyncRun.Status.FAILED
    assert run.products_source == SyncRun.ProductsSource.GRAPHQL
    assert Work.objects.count() == 0


def test_rest_failure_midway_resumes_at_the_next_page(sandbox, run_sync, settings):
    run_sync()
    settings.CONSONANCE_PRODUCTS_SOURCE = "rest"
    settings.HTTP_MAX_RETRIES = 0
    sandbox.page_size(10)  # 30 products: 3 pages
    store.change_price(100010, currency="GBP", amount=99)

    class FailsBeforePage3(ConsonanceClient):
        def rest_product_pages(self, *, start=1):  # type: ignore[no-untyped-def]
            for products, page, total in super().rest_product_pages(start=start):
                yield products, page, total
                if page == 2:  # the next request (page 3) gets a 500
                    sandbox.fault("500", count=1)

    run = sync_run_start(enqueue_task=False)
    run = consonance_sync(run=run, client=FailsBeforePage3(sleep=sandbox.sleeps.append))
    assert run.status == SyncRun.Status.FAILED
    assert run.cursor == 2 and "resumes from page 3 of the REST v4 products" in run.message
    again = sync_run_start(enqueue_task=False)
    assert again.pk == run.pk
    again = consonance_sync(run=again, client=sandbox.client())
    assert again.status == SyncRun.Status.SUCCEEDED, again.message
    assert again.pages == 3 and again.seen == 30 and again.updated == 1
    assert Price.objects.get(product__consonance_id=100010, currency="GBP").amount == 99


def test_schema_without_works_field_is_a_reason_to_fall_back():
    exc = ExternalServiceError(
        "WorksPage: Consonance returned GraphQL errors: Cannot query field 'works' on type "
        "'Query'.",
        service="Consonance",
        retryable=False,
        status=200,
    )
    assert "no 'works' field" in (graphql_unavailable(exc) or "")
    other = ExternalServiceError(
        "WorksPage: Consonance returned GraphQL errors: Cannot query field 'noSuchField' on "
        "type 'Work'.",
        service="Consonance",
        retryable=False,
        status=200,
    )
    assert graphql_unavailable(other) is None
    assert (
        graphql_unavailable(
            ExternalServiceError("down", service="Consonance", retryable=True, status=503)
        )
        is None
    )


def test_sync_screen_shows_the_products_source(sandbox, run_sync, settings, login, admin_a):
    settings.CONSONANCE_PRODUCTS_SOURCE = "rest"
    run_sync()
    page = login(admin_a).get(reverse("sync:index"))
    assert page.status_code == 200
    assert b"Products via REST v4" in page.content
    assert b"CONSONANCE_PRODUCTS_SOURCE" in page.content
    api = login(admin_a).get("/api/v1/sync-runs/").json()
    first = api["results"][0] if "results" in api else api[0]
    assert (
        first["products_source"] == "rest"
        and "CONSONANCE_PRODUCTS_SOURCE" in first["source_reason"]
    )
