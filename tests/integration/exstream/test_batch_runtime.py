"""A batch followed to completion: submit → poll → delivery file → status events."""

from __future__ import annotations

import pytest

from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication, ExstreamJob, MessageEvent
from integration.setup.designs import exstream_catalogue_sync
from integration.status.polling import exstream_job_poll
from tests.scenarios import batch_submitted

pytestmark = pytest.mark.django_db(transaction=True)


def record(key, email="reader@example.test", **extra):
    return {
        "customer.customerNumber": key,
        "recipientName": "Reader",
        "recipientEmail": email,
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "territories": "UK",
        "rightsGranted": "Print",
        "confirmByDate": "2026-12-01",
        **extra,
    }


@pytest.fixture
def rights(exstream):
    exstream_catalogue_sync(actor=None, domains=["production"])
    return ExstreamCommunication.objects.get(domain="production", name="Rights confirmation letter")


def poll_until_terminal(job, limit=6):
    events = []
    for _ in range(limit):
        events = exstream_job_poll(job_pk=job.pk)
        job.refresh_from_db()
        if job.terminal:
            return events
    raise AssertionError(f"job still {job.status} after {limit} polls")


def test_batch_to_completion_produces_status_events(rights, imprint_a, make_client):
    job = batch_submitted(
        communication=rights,
        imprint=imprint_a,
        external_id="batch-0001",
        records=[record("msg-1"), record("msg-2", email="gone@undeliverable.test")],
    )
    assert job.job_id and job.flow_instance_ids
    assert [j["id"] for j in make_client().find_jobs_by_external_id("batch-0001")] == [job.job_id]
    assert make_client().find_jobs_by_external_id("batch-9999") == []

    first = exstream_job_poll(job_pk=job.pk)
    job.refresh_from_db()
    assert first == [] and not job.terminal and job.status == "started"
    assert {s["stepType"] for s in job.flow_steps} == {"input", "communication", "output"}

    events = poll_until_terminal(job)
    assert job.status == "complete"
    assert {(e.message_key, e.status) for e in events} == {
        ("msg-1", "delivered"),
        ("msg-2", "failed"),
    }
    assert job.delivery_summary["delivered"] == 1 and job.delivery_summary["failed"] == 1
    assert set(MessageEvent.objects.values_list("message_key", "status")) == {
        ("msg-1", "delivered"),
        ("msg-2", "failed"),
    }
    # Polling again changes nothing.
    assert exstream_job_poll(job_pk=job.pk) == []
    assert MessageEvent.objects.count() == 2


def test_batch_missing_driver_fields_per_record(rights, imprint_a):
    with pytest.raises(ExternalServiceError) as info:
        batch_submitted(
            communication=rights,
            imprint=imprint_a,
            external_id="b-2",
            records=[record("ok"), {"customer.customerNumber": "bad", "recipientName": "X"}],
        )
    assert info.value.status == 422
    assert {(d["record"], d["field"]) for d in info.value.details} >= {
        (1, "imprintName"),
        (1, "workTitle"),
    }
    assert "record 1: workTitle" in info.value.message
    assert ExstreamJob.objects.count() == 0


def test_held_step_is_released_then_completes(exstream, imprint_a, rights_manager, login):
    exstream_catalogue_sync(actor=None, domains=["production"])
    statement = ExstreamCommunication.objects.get(domain="production", name="Royalty statement")
    rec = {
        "customer.customerNumber": "roy-1",
        "recipientName": "Author",
        "imprintName": "H",
        "statementPeriod": "2026H1",
        "amountDue": "10.00",
        "currency": "GBP",
    }
    job = batch_submitted(
        communication=statement,
        imprint=imprint_a,
        external_id="roy-batch",
        records=[rec],
    )
    for _ in range(3):
        exstream_job_poll(job_pk=job.pk)
    job.refresh_from_db()
    assert job.status == "holding" and not job.terminal
    held = job.held_steps
    assert [s["stepType"] for s in held] == ["hold"]

    page = login(rights_manager).get("/exstream/jobs/")
    assert "Release" in page.content.decode()
    response = login(rights_manager).post(
        f"/exstream/jobs/{job.pk}/release/", {"step_id": held[0]["id"]}
    )
    assert response.status_code == 302
    events = poll_until_terminal(job)
    assert [(e.message_key, e.status) for e in events] == [("roy-1", "delivered")]


def test_stop_is_for_admins_and_audited(rights, imprint_a, admin_a, viewer, login):
    from accounts.models import AuditEvent

    job = batch_submitted(
        communication=rights,
        imprint=imprint_a,
        external_id="stop-me",
        records=[record("s-1")],
    )
    assert login(viewer).post(f"/exstream/jobs/{job.pk}/stop/").status_code == 403
    assert login(admin_a).post(f"/exstream/jobs/{job.pk}/stop/").status_code == 302
    events = poll_until_terminal(job)
    assert job.status == "canceled"
    assert [(e.message_key, e.status) for e in events] == [("s-1", "failed")]
    assert AuditEvent.objects.filter(verb="exstream.job_stopped", imprint=imprint_a).count() == 1
    # Reprocess runs it again.
    assert login(admin_a).post(f"/exstream/jobs/{job.pk}/reprocess/").status_code == 302
    job.refresh_from_db()
    assert not job.terminal


def test_outsider_cannot_see_or_act_on_another_imprints_job(rights, imprint_a, outsider, login):
    job = batch_submitted(
        communication=rights,
        imprint=imprint_a,
        external_id="secret-batch",
        records=[record("x")],
    )
    client = login(outsider)
    assert "secret-batch" not in client.get("/exstream/jobs/").content.decode()
    assert client.post(f"/exstream/jobs/{job.pk}/stop/").status_code == 404
