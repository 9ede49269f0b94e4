"""Titles, sync, import and sandbox screens and the API: behaviour and policy."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from integration.models import ChangeEvent, RoyaltyImport, SyncRun, Work
from sandbox.models import SandboxState, SandboxWork
from tests.factories import (
    ContactFactory,
    ContractFactory,
    ContributionFactory,
    DeliveryDateFactory,
    LicensedRightFactory,
    PriceFactory,
    ProductFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def titles(imprint_a, imprint_b):
    mine = WorkFactory.create(imprint=imprint_a, title="Salt Orchard", season="Spring 2026")
    product = ProductFactory.create(work=mine, isbn13="9781909679641", publishing_status="04")
    PriceFactory(product=product, amount="12.99", currency="GBP", territory="GB")
    ContributionFactory(work=mine, contact=ContactFactory(name="Elif Hughes"))
    contract = ContractFactory(work=mine)
    LicensedRightFactory(contract=contract, right_type="Audio", territory="WORLD")
    DeliveryDateFactory(contract=contract)
    ChangeEvent.objects.create(
        kind="price",
        imprint=imprint_a,
        work_id=mine.pk,
        product_id=product.pk,
        field="GBP 02",
        old_value="10.99",
        new_value="12.99",
    )
    other = WorkFactory(imprint=imprint_b, title="Northern Secret")
    ProductFactory(work=other, isbn13="9780000000999")
    return {"mine": mine, "other": other}


def test_title_list_shows_only_my_imprints(login, viewer, titles):
    response = login(viewer).get(reverse("titles:list"))
    assert response.status_code == 200
    assert b"Salt Orchard" in response.content
    assert b"Northern Secret" not in response.content


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("q=978-1-909679-64-1", True),
        ("q=Hughes", True),
        ("q=Orch", True),
        ("q=nothing", False),
        ("season=Spring+2026", True),
        ("status=02", False),
        ("published_from=2026-01-01&published_to=2026-12-31", True),
    ],
)
def test_title_search_and_filters(login, rights_manager, titles, query, found):
    response = login(rights_manager).get(reverse("titles:list") + "?" + query)
    assert (b"Salt Orchard" in response.content) is found


def test_title_page_shows_formats_prices_rights_and_history(login, viewer, titles):
    response = login(viewer).get(reverse("titles:detail", args=[titles["mine"].pk]))
    content = response.content.decode()
    assert response.status_code == 200
    for text in (
        "9781909679641",
        "12.99 GBP",
        "Elif Hughes",
        "Audio",
        "WORLD",
        "Proofs",
        "Price changed",
    ):
        assert text in content
    with open("templates/titles/detail.html", encoding="utf-8") as template:
        assert "{% block title_timeline %}" in template.read()


def test_outsider_gets_404_on_another_imprints_title(login, outsider, titles):
    client = login(outsider)
    assert client.get(reverse("titles:detail", args=[titles["mine"].pk])).status_code == 404
    assert client.get(f"/api/v1/titles/{titles['mine'].pk}/").status_code == 404


def test_anonymous_is_sent_to_login(client, titles):
    response = client.get(reverse("titles:list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_api_titles_are_scoped_and_detailed(login, viewer, outsider, titles):
    data = login(viewer).get("/api/v1/titles/").json()
    assert [t["title"] for t in data["results"]] == ["Salt Orchard"]
    detail = login(viewer).get(f"/api/v1/titles/{titles['mine'].pk}/").json()
    assert detail["products"][0]["prices"][0]["amount"] == "12.99"
    assert detail["contracts"][0]["licensed_rights"][0]["right_type"] == "Audio"
    assert detail["change_events"][0]["kind"] == "price"
    other = login(outsider).get("/api/v1/titles/?q=Salt").json()
    assert other["results"] == []


def test_sync_screen_and_start_policy(login, viewer, admin_a):
    assert login(viewer).get(reverse("sync:index")).status_code == 200
    assert b"Sync now" not in login(viewer).get(reverse("sync:index")).content
    assert login(viewer).post(reverse("sync:start")).status_code == 403
    assert not SyncRun.objects.exists()
    client = login(admin_a)
    assert b"Sync now" in client.get(reverse("sync:index")).content
    response = client.post(reverse("sync:start"))
    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert run.started_by == admin_a and run.status == SyncRun.Status.QUEUED
    partial = client.get(reverse("sync:index"), HTTP_HX_REQUEST="true")
    assert b"<progress" in partial.content and b"<html" not in partial.content


def test_api_sync_runs(login, viewer, admin_a):
    assert login(viewer).post("/api/v1/sync-runs/", {}).status_code == 403
    response = login(admin_a).post(
        "/api/v1/sync-runs/", {"full": True}, content_type="application/json"
    )
    assert response.status_code == 202 and response.json()["kind"] == "full"
    assert login(viewer).get("/api/v1/sync-runs/").json()["count"] == 1
    conflict = SyncRun.objects.get()
    conflict.status = SyncRun.Status.RUNNING
    conflict.heartbeat_at = conflict.created_at
    conflict.save()
    again = login(admin_a).post(
        "/api/v1/sync-runs/", {"full": True}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "sync_running"


def test_onix_upload_policy_and_import(login, viewer, admin_a, imprint_a, onix_dir):
    assert login(viewer).get(reverse("imports:onix")).status_code == 403
    client = login(admin_a)
    with (onix_dir / "full_sample.xml").open("rb") as fh:
        response = client.post(reverse("imports:onix"), {"file": fh, "imprint": imprint_a.pk})
    assert response.status_code == 302
    assert Work.objects.get().imprint == imprint_a
    bad = client.post(
        reverse("imports:onix"),
        {"file": io.BytesIO(b"<rss/>"), "imprint": imprint_a.pk},
    )
    assert bad.status_code == 200 and b"nothing was imported" in bad.content


def test_onix_upload_needs_an_imprint_for_non_superusers(login, admin_a, imprint_b):
    fh = io.BytesIO(b"<ONIXMessage/>")
    fh.name = "x.xml"
    response = login(admin_a).post(reverse("imports:onix"), {"file": fh, "imprint": imprint_b.pk})
    assert response.status_code == 200 and not Work.objects.exists()
    assert b"Select a valid choice" in response.content


def test_royalty_upload_and_error_report_policy(login, royalties, outsider, imprint_a):
    client = login(royalties)
    fh = io.BytesIO(b"payee_contact_id\n1\n")
    fh.name = "bad.csv"
    response = client.post(reverse("imports:royalties"), {"file": fh, "imprint": imprint_a.pk})
    assert response.status_code == 302
    record = RoyaltyImport.objects.get()
    assert not record.imported
    report = client.get(reverse("imports:royalty_errors", args=[record.pk]))
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    assert b"lacks these columns" in report.content
    assert (
        login(outsider).get(reverse("imports:royalty_errors", args=[record.pk])).status_code == 404
    )


def test_sandbox_control_page(login, viewer, admin_a):
    assert login(viewer).get(reverse("sandbox:control")).status_code == 403
    from sandbox.consonance import store

    store.seed(works=3, reset=True)
    client = login(admin_a)
    assert client.get(reverse("sandbox:control")).status_code == 200
    client.post(
        reverse("sandbox:control"),
        {"form": "fault", "fault": "429", "count": 2, "retry_after": 5, "page_size": 7},
    )
    state = SandboxState.objects.get()
    assert (state.fault, state.fault_remaining, state.retry_after, state.page_size) == (
        "429",
        2,
        5,
        7,
    )
    client.post(
        reverse("sandbox:control"), {"form": "simulate", "change": "stage", "work_id": 10000}
    )
    assert SandboxWork.objects.get(pk=10000).data["projectStage"] == "Production"
    missing = client.post(
        reverse("sandbox:control"), {"form": "simulate", "change": "price", "work_id": 4}
    )
    assert b"No sandbox work 4 in your imprints" in missing.content


def test_sync_is_scheduled_every_configured_minutes(settings):
    from integration.apps import register_all
    from integration.lib import schedules

    settings.CONSONANCE_SYNC_MINUTES = 7
    register_all()
    assert schedules.SCHEDULES["consonance-sync"] == (
        "integration.tasks.consonance_scheduled_sync",
        7,
    )


def test_title_list_follows_the_imprint_switcher(login, superuser, imprint_b, titles):
    client = login(superuser)
    both = client.get(reverse("titles:list")).content
    assert b"Salt Orchard" in both and b"Northern Secret" in both
    client.post(reverse("switch_imprint"), {"imprint": imprint_b.pk})
    narrowed = client.get(reverse("titles:list")).content
    assert b"Northern Secret" in narrowed and b"Salt Orchard" not in narrowed
