"""The whole lifecycle against the sandbox Exstream over real HTTP: preview, four eyes,
dispatch in chunks, a worker dying after the call, a 503 burst, a 422 dead letter and its
replay, the Exstream catalogue synced between two chunks. Submissions are counted in the
sandbox per external id."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from integration.communications import approval, revalidation
from integration.delivery.gateway import ExstreamGateway, use_gateway
from integration.delivery.outbox import outbox_claim, outbox_dispatch
from integration.models import (
    Communication,
    ExstreamJob,
    OutboxItem,
    PreviewOutput,
)
from integration.setup.designs import exstream_catalogue_sync
from sandbox.models import ExstreamSandboxCommunication, ExstreamSandboxJob, ExstreamSandboxSwitches
from tests.scenarios import LETTER, rights_letter_setup, sandbox_clients_forgotten

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status


@pytest.fixture
def letter(sandbox, imprint_a, settings):
    """The sandbox catalogue synced, a template for the rights confirmation letter mapped to
    the title, contract and recipient, and an uploaded list of three readers."""
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    # a transactional test before this one flushed the seeded communication types
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    yield rights_letter_setup(imprint=imprint_a, domains=["production"])
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


def _submitted(letter, drafter) -> Communication:
    comm = _created(letter, drafter)
    assert comm.status == S.DRAFT and comm.blocking_count == 0, comm.compose_error
    assert _api(drafter).post(f"/api/v1/communications/{comm.pk}/submit/").status_code == 200
    return Communication.objects.get(pk=comm.pk)


def _jobs_per_external_id() -> dict[str, int]:
    counts: dict[str, int] = {}
    for external_id in ExstreamSandboxJob.objects.values_list("external_id", flat=True):
        counts[external_id] = counts.get(external_id, 0) + 1
    return counts


def test_full_lifecycle_over_http(letter, rights_manager, second_rights_manager, login):
    comm = _created(letter, rights_manager)
    assert comm.recipient_count == 3 and comm.blocking_count == 0

    # preview: rendered by the sandbox on the preview domain and stored
    response = _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/preview/")
    assert response.status_code == 200
    previews = response.json()["previews"]
    assert previews[0]["error"] == ""
    assert {o["mime_type"] for o in previews[0]["outputs"]} >= {"application/pdf"}
    assert PreviewOutput.objects.filter(domain="preview").exists()
    page = login(rights_manager).get(f"/communications/{comm.pk}/").content.decode()
    assert previews[0]["outputs"][0]["url"] in page

    # four eyes, then dispatch in chunks of two
    drafter = _api(rights_manager)
    assert drafter.post(f"/api/v1/communications/{comm.pk}/submit/").status_code == 200
    assert drafter.post(f"/api/v1/communications/{comm.pk}/approve/").status_code == 403
    response = _api(second_rights_manager).post(f"/api/v1/communications/{comm.pk}/approve/")
    assert response.status_code == 200
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    h = comm.approved_hash[:12]
    assert _jobs_per_external_id() == {
        f"colophon-comm-{comm.pk}-chunk-1-{h}": 1,
        f"colophon-comm-{comm.pk}-chunk-2-{h}": 1,
    }
    sandbox_records = [r for job in ExstreamSandboxJob.objects.all() for r in job.records]
    keys = {str(k) for k in comm.messages.values_list("key", flat=True)}
    # Exstream received bodies nested as the driver sample, keyed on customer.customerNumber
    assert {r["customer"]["customerNumber"] for r in sandbox_records} == keys
    assert not any("customer.customerNumber" in r or "customerKey" in r for r in sandbox_records)
    assert {r["imprintName"] for r in sandbox_records} == {"Harbour Lights"}
    assert set(comm.messages.values_list("status", flat=True)) == {"submitted"}
    assert ExstreamJob.objects.count() == 2  # tracked for runtime polling
    assert all(m.exstream_job_id for m in comm.messages.all())


class DiesAfterTheCall(ExstreamGateway):
    """Submits for real, then the worker dies before it can record the outcome."""

    died = False

    def submit_batch(self, **kwargs):
        result = super().submit_batch(**kwargs)
        if not self.died:
            self.died = True
            raise KeyboardInterrupt("worker killed after the HTTP call")
        return result


def test_worker_crash_after_the_call_submits_exactly_once(
    letter, rights_manager, second_rights_manager
):
    comm = _submitted(letter, rights_manager)
    with use_gateway(DiesAfterTheCall()):
        # the approval's own dispatch dies mid-way on the first chunk
        with pytest.raises(KeyboardInterrupt):
            approval.communication_approve(actor=second_rights_manager, communication=comm)
        comm = Communication.objects.get(pk=comm.pk)
        assert comm.status == S.SENDING
        later = timezone.now() + timedelta(hours=1)  # the dead worker's lease has expired
        outbox_dispatch(worker="w2", now=later)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(_jobs_per_external_id().values()) == {1}
    assert len(_jobs_per_external_id()) == 2
    outcomes = sorted(
        o
        for i in OutboxItem.objects.all()
        for o in i.attempt_rows.values_list("outcome", flat=True)
    )
    assert "reconciled" in outcomes


def test_503_burst_then_success(letter, rights_manager, second_rights_manager):
    comm = _submitted(letter, rights_manager)
    ExstreamGateway().client().call("GET", "/orchestration/api/v1/version", xsrf=True)  # warm
    ExstreamSandboxSwitches.current()
    ExstreamSandboxSwitches.objects.filter(pk=1).update(fail_next_5xx=2)
    approval.communication_approve(actor=second_rights_manager, communication=comm)
    now = timezone.now()
    for step in range(1, 6):
        outbox_dispatch(worker="w", now=now + timedelta(hours=step))
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    first = OutboxItem.objects.order_by("id").first()
    rows = list(first.attempt_rows.values_list("outcome", "status_code"))
    assert rows[0] == ("retry", 503)
    assert rows[-1][0] in ("succeeded", "reconciled")
    assert set(_jobs_per_external_id().values()) == {1}


def test_422_dead_letter_names_the_field_then_replay_succeeds(
    letter, rights_manager, second_rights_manager, admin_a, login
):
    # Colophon's catalogue thinks confirmByDate is optional and nothing maps it; Exstream's
    # design requires it.
    exstream = letter["exstream"]
    exstream.driver_fields = [
        {**f, "required": False} if f["name"] == "confirmByDate" else f
        for f in exstream.driver_fields
    ]
    exstream.save()
    letter["template"].mappings.filter(driver_field="confirmByDate").delete()
    comm = _submitted(letter, rights_manager)
    approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.FAILED
    item = OutboxItem.objects.order_by("id").first()
    assert item.status == "dead" and "confirmByDate" in item.dead_reason
    assert ExstreamSandboxJob.objects.count() == 0
    page = login(admin_a).get(f"/communications/{comm.pk}/").content.decode()
    assert "confirmByDate" in page and "Replay failed chunks" in page
    # the Exstream team relaxes the design; an admin replays the dead letters
    for row in ExstreamSandboxCommunication.objects.filter(name=LETTER):
        row.driver_fields = [
            {**f, "required": False} if f["name"] == "confirmByDate" else f
            for f in row.driver_fields
        ]
        row.save()
    response = _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/replay/")
    assert response.status_code == 403
    response = _api(admin_a).post(f"/api/v1/communications/{comm.pk}/replay/")
    assert response.status_code == 200, response.content
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(_jobs_per_external_id().values()) == {1}


def test_data_change_after_approval_voids_before_sending(
    letter, rights_manager, second_rights_manager
):
    comm = _submitted(letter, rights_manager)
    with use_gateway(ExstreamGateway()):
        from django.db import transaction

        with transaction.atomic():  # approve; the worker has not run yet
            approval.communication_approve(actor=second_rights_manager, communication=comm)
            work = letter["work"]
            work.title = "Tides (revised)"
            work.save()
            revalidation.communications_revalidate_for_work(work.pk)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT
    # whichever noticed first (the sync's hook or the dispatcher's own re-check) says why
    assert "changed" in comm.void_reason and "approval is void" in comm.void_reason
    assert ExstreamSandboxJob.objects.count() == 0
    assert comm.messages.first().driver_data["workTitle"] == "Tides (revised)"


def test_claimed_chunk_of_a_cancelled_communication_is_not_sent(
    letter, rights_manager, second_rights_manager
):
    comm = _submitted(letter, rights_manager)
    from django.db import transaction

    with transaction.atomic():
        approval.communication_approve(actor=second_rights_manager, communication=comm)
        approval.communication_cancel(actor=rights_manager, communication=comm)
    claimed = outbox_claim(worker="w")
    assert claimed == []
    outbox_dispatch(worker="w")
    assert ExstreamSandboxJob.objects.count() == 0
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"cancelled"}


class SyncsTheCatalogueAfterTheFirstChunk(ExstreamGateway):
    """Submits for real; after the first chunk the Exstream catalogue sync runs over HTTP, once
    ``change`` (what the Exstream team did to the design meanwhile, if anything) is made."""

    def __init__(self, change=None):
        self.change = change
        self.synced = False

    def submit_batch(self, **kwargs):
        result = super().submit_batch(**kwargs)
        if not self.synced:
            self.synced = True
            if self.change is not None:
                self.change()
            exstream_catalogue_sync(actor="test", domains=["production"])
        return result


def test_a_routine_catalogue_sync_between_chunks_sends_on(
    letter, rights_manager, second_rights_manager
):
    comm = _submitted(letter, rights_manager)
    with use_gateway(SyncsTheCatalogueAfterTheFirstChunk()):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    assert Communication.objects.get(pk=comm.pk).status == S.SENT
    assert len(_jobs_per_external_id()) == 2


def test_a_new_driver_data_source_synced_between_chunks_refuses_the_next_one(
    letter, rights_manager, second_rights_manager, login
):
    def new_data_source():
        ExstreamSandboxCommunication.objects.filter(name=LETTER).update(dsn="LetterDriverV2")

    comm = _submitted(letter, rights_manager)
    with use_gateway(SyncsTheCatalogueAfterTheFirstChunk(new_data_source)):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.PARTIALLY_FAILED
    assert len(_jobs_per_external_id()) == 1  # only the chunk sent before the change
    dead = OutboxItem.objects.get(status="dead")
    assert "'LetterDriverV2'" in dead.dead_reason and "no longer fit" in dead.dead_reason
    page = login(rights_manager).get(f"/communications/{comm.pk}/").content.decode()
    assert "LetterDriverV2" in page
