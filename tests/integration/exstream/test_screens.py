"""Policy and behaviour of the Exstream staff screens and the sandbox control page."""

from __future__ import annotations

import json

import pytest

from integration.models import ExstreamCommunication, PreviewOutput
from sandbox.models import ExstreamSandboxJob, ExstreamSandboxSwitches
from tests.factories import ExstreamCommunicationFactory, UserFactory

COMMS = "/exstream/communications/"


@pytest.mark.django_db
def test_catalogue_is_visible_to_staff_with_required_fields(viewer, login):
    ExstreamCommunicationFactory(name="Permission letter")
    page = login(viewer).get(COMMS)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Permission letter" in html and "workTitle" in html
    assert "isbn" not in html  # optional fields are not listed as required
    assert "Sync from Exstream" not in html and "Try a preview" not in html


@pytest.mark.django_db
def test_catalogue_needs_a_membership(login):
    assert login(UserFactory()).get(COMMS).status_code == 403


@pytest.mark.django_db
def test_admin_sees_sync_and_preview_form_with_sample_values(admin_a, login):
    ExstreamCommunicationFactory(name="Permission letter")
    html = login(admin_a).get(COMMS).content.decode()
    assert "Sync from Exstream" in html and "Try a preview" in html
    assert "Sample workTitle" in html


@pytest.mark.django_db
def test_viewer_may_not_sync_or_preview(viewer, login):
    client = login(viewer)
    assert client.post("/exstream/communications/sync/").status_code == 403
    assert client.post(COMMS, {"driver_json": "{}"}).status_code == 403


@pytest.mark.django_db
def test_preview_form_rejects_bad_json_and_foreign_imprints(admin_a, imprint_b, login):
    comm = ExstreamCommunicationFactory.create()
    client = login(admin_a)
    page = client.post(
        COMMS, {"communication": comm.pk, "imprint": imprint_b.pk, "driver_json": "[1, 2"}
    )
    html = page.content.decode()
    assert "The driver data cannot be read" in html
    assert "Select a valid choice" in html  # imprint B is not the admin's
    assert PreviewOutput.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_admin_syncs_and_tries_a_preview_then_views_outputs(
    exstream, admin_a, imprint_a, viewer, outsider, login
):
    client = login(admin_a)
    assert client.post("/exstream/communications/sync/").status_code == 302
    comm = ExstreamCommunication.objects.get(domain="production", name="Rights confirmation letter")
    driver = {
        "customer.customerNumber": "p1",
        "recipientName": "Ada",
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "territories": "UK",
        "rightsGranted": "Audio",
        "confirmByDate": "2026-12-01",
    }
    page = client.post(
        COMMS,
        {"communication": comm.pk, "imprint": imprint_a.pk, "driver_json": json.dumps(driver)},
    )
    assert page.status_code == 200
    pdf, html = PreviewOutput.objects.order_by("pk")
    assert f"/exstream/previews/{pdf.pk}/" in page.content.decode()

    detail = login(viewer).get(f"/exstream/previews/{pdf.pk}/").content.decode()
    assert "<object" in detail and 'type="application/pdf"' in detail
    detail = login(viewer).get(f"/exstream/previews/{html.pk}/").content.decode()
    assert 'sandbox=""' in detail and "<iframe" in detail

    raw = login(viewer).get(f"/exstream/previews/{html.pk}/raw/")
    assert raw["Content-Type"].startswith("text/html")
    assert "sandbox" in raw["Content-Security-Policy"]
    assert "default-src 'none'" in raw["Content-Security-Policy"]
    assert raw["X-Frame-Options"] == "SAMEORIGIN"
    assert login(viewer).get(f"/exstream/previews/{pdf.pk}/raw/").content.startswith(b"%PDF")
    # Another imprint's staff never see it.
    assert login(outsider).get(f"/exstream/previews/{pdf.pk}/").status_code == 404
    assert login(outsider).get(f"/exstream/previews/{html.pk}/raw/").status_code == 404

    missing = client.post(
        COMMS,
        {
            "communication": comm.pk,
            "imprint": imprint_a.pk,
            "driver_json": json.dumps({"customer.customerNumber": "x"}),
        },
    )
    assert "missing required field(s)" in missing.content.decode()
    assert PreviewOutput.objects.count() == 2


@pytest.mark.django_db
def test_jobs_screen_needs_staff(login, viewer):
    assert login(UserFactory()).get("/exstream/jobs/").status_code == 403
    assert login(viewer).get("/exstream/jobs/").status_code == 200


@pytest.mark.django_db
def test_sandbox_control_is_for_admins(login, viewer, admin_a, superuser):
    url = "/sandbox/exstream/control/"
    assert login(viewer).get(url).status_code == 403
    assert login(admin_a).get(url).status_code == 200
    response = login(superuser).post(
        url,
        {
            "action": "switches",
            "fail_next_5xx": 3,
            "rate_limit_next": 0,
            "retry_after_seconds": 5,
            "latency_ms": 0,
            "token_ttl_seconds": 900,
            "clock_offset_seconds": 0,
            "duplicate_events": "on",
        },
    )
    assert response.status_code == 302
    switches = ExstreamSandboxSwitches.current()
    assert switches.fail_next_5xx == 3 and switches.duplicate_events


@pytest.mark.django_db
def test_sandbox_control_advances_a_job(login, admin_a):
    from django.utils import timezone

    job = ExstreamSandboxJob.objects.create(
        job_id="j-1",
        flow_instance_id="00000000-0000-4000-8000-000000000001",
        domain="production",
        channel="c",
        created_at=timezone.now(),
    )
    login(admin_a).post("/sandbox/exstream/control/", {"action": "advance", "job_id": "j-1"})
    job.refresh_from_db()
    assert job.stage == 1
