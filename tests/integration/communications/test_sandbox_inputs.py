"""A communication sent to the sandbox Exstream over real HTTP when its design's driver sample
is XML (reference §4, Appendix A), and when Exstream refuses the batch's driver data source
(§3): compose, preview, four eyes, dispatch and, for XML, the runtime poll to delivery."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.test import Client

from integration.communications import approval
from integration.models import Communication, ExstreamJob, OutboxItem, PreviewOutput
from integration.status.polling import exstream_job_poll
from sandbox.exstream.xml_driver import XML_ROOT
from sandbox.models import ExstreamSandboxCommunication, ExstreamSandboxJob
from tests.scenarios import LETTER, rights_letter_setup, sandbox_clients_forgotten

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status


def _seeded_types() -> None:
    # a transactional test before this one flushed the seeded communication types
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )


@pytest.fixture
def letter(sandbox, imprint_a, settings):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    _seeded_types()
    yield rights_letter_setup(imprint=imprint_a, domains=["production"])
    sandbox_clients_forgotten()


@pytest.fixture
def xml_letter(sandbox, imprint_a, settings):
    """The same letter, its design's driver sample XML (rooted at <driverData>)."""
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    _seeded_types()
    yield rights_letter_setup(imprint=imprint_a, domains=["production"], driver_format="xml")
    sandbox_clients_forgotten()


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _created(letter, user) -> Communication:
    response = _api(user).post(
        "/api/v1/communications/",
        {
            "imprint": letter["audience"].imprint_id,
            "communication_type": "rights-confirmation",
            "audience": letter["audience"].pk,
            "work": letter["work"].pk,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return Communication.objects.get(pk=response.json()["id"])


def test_an_xml_driver_communication_goes_through_the_sandbox_end_to_end(
    xml_letter, rights_manager, second_rights_manager
):
    assert (xml_letter["exstream"].driver_format, xml_letter["exstream"].driver_root) == (
        "xml",
        XML_ROOT,
    )
    comm = _created(xml_letter, rights_manager)
    assert comm.recipient_count == 3 and comm.blocking_count == 0, comm.compose_error

    # preview: the sandbox reads the XML body on the preview domain and renders it
    response = _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/preview/")
    assert response.status_code == 200
    previews = response.json()["previews"]
    assert previews[0]["error"] == "" and previews[0]["outputs"]
    assert PreviewOutput.objects.filter(domain="preview").exists()

    # four eyes, then the batch goes as XML in two chunks
    assert _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/submit/").status_code == 200
    response = _api(second_rights_manager).post(f"/api/v1/communications/{comm.pk}/approve/")
    assert response.status_code == 200, response.content
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    keys = {str(k) for k in comm.messages.values_list("key", flat=True)}
    records = [r for job in ExstreamSandboxJob.objects.all() for r in job.records]
    assert {r["customer"]["customerNumber"] for r in records} == keys  # read from the XML
    assert {r["workTitle"] for r in records} == {"Tides"}

    # the runtime API to completion: the delivery files name each recipient's key
    for job in ExstreamJob.objects.all():
        for _ in range(6):
            exstream_job_poll(job_pk=job.pk)
            job.refresh_from_db()
            if job.terminal:
                break
        assert job.status == "complete"
    assert set(comm.messages.values_list("status", flat=True)) == {"delivered"}


def test_a_batch_whose_driver_data_source_exstream_refuses_is_failed_not_retried(
    letter, rights_manager, second_rights_manager
):
    # The Exstream team renamed the design's driver data source; Colophon has not synced since.
    ExstreamSandboxCommunication.objects.filter(name=LETTER).update(dsn="RightsLetterV2Driver")
    comm = _created(letter, rights_manager)
    assert _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/submit/").status_code == 200
    comm = Communication.objects.get(pk=comm.pk)

    approval.communication_approve(actor=second_rights_manager, communication=comm)

    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.FAILED
    assert not ExstreamSandboxJob.objects.exists()
    first = OutboxItem.objects.order_by("id").first()
    assert first is not None and first.status == "dead"
    assert "'RightsConfirmationLetterDriver' does not belong" in first.dead_reason
    assert list(first.attempt_rows.values_list("outcome", "status_code")) == [("dead", 400)]
