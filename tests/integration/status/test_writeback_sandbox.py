"""Write-back against the sandbox Consonance over real HTTP: success, a retryable outage
followed by reconcile-then-send, and a refused mutation that becomes a dead letter."""

from __future__ import annotations

import datetime
import importlib

import pytest

from integration.delivery import outbox
from integration.models import Message, OutboxAttempt, OutboxItem, WritebackRecord, WritebackRule
from integration.status.apply import StatusInput, message_status_apply
from integration.status.writeback import HANDLER, writeback_rule_set
from sandbox.models import SandboxContract, SandboxState
from tests.factories import (
    CommunicationFactory,
    ContactFactory,
    ContractFactory,
    DeliveryDateFactory,
    GratisCopyFactory,
    MessageFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db(transaction=True)
S = Message.Status
LATE = datetime.datetime(2027, 6, 1, 10, tzinfo=datetime.UTC)


@pytest.fixture
def seeded_types(db):
    """Transactional tests flush the database, data migrations included: reseed the types."""
    from django.apps import apps

    seed = importlib.import_module("integration.migrations.0003_seed_communication_types")
    seed.seed(apps, None)


@pytest.fixture
def setup(seeded_types, sandbox, imprint_a, admin_a, project_manager, monkeypatch):
    monkeypatch.setattr(HANDLER, "client_factory", sandbox.client)
    remote = next(c for c in SandboxContract.objects.all() if c.data.get("deliveryDates"))
    delivery = remote.data["deliveryDates"][0]
    work = WorkFactory.create(imprint=imprint_a)
    contract = ContractFactory.create(work=work, consonance_id=remote.pk)
    author = ContactFactory.create()
    GratisCopyFactory.create(contract=contract, contact_consonance_id=author.consonance_id)
    local = DeliveryDateFactory.create(
        contract=contract,
        consonance_id=delivery["id"],
        deliverable_type="Proofs",
        due=datetime.date(2027, 5, 1),
    )
    writeback_rule_set(
        actor=admin_a,
        imprint_id=imprint_a.pk,
        event_kind=WritebackRule.EventKind.PROOF_APPROVAL_RECEIVED,
    )
    comm = CommunicationFactory.create(
        work=work,
        contract=contract,
        communication_type=communication_type("proof-approval"),
        submitted_by=project_manager,
    )
    message = MessageFactory.create(communication=comm, contact=author)
    return {"remote": remote, "delivery": delivery, "local": local, "message": message}


def respond(message):
    message_status_apply(
        events=[
            StatusInput(str(message.key), S.SUBMITTED, LATE, "exstream-runtime", "s"),
            StatusInput(str(message.key), S.RESPONDED, LATE, "exstream-webhook", "r"),
        ]
    )


def remote_slipped(remote_pk: int, delivery_id: int) -> str | None:
    data = SandboxContract.objects.get(pk=remote_pk).data
    return next(d for d in data["deliveryDates"] if d["id"] == delivery_id).get("slippedDate")


def test_late_proof_approval_is_written_to_the_sandbox(setup):
    respond(setup["message"])  # commits: the outbox dispatches after commit, inline in tests
    record = WritebackRecord.objects.get()
    assert record.status == WritebackRecord.Status.WRITTEN, record.reason
    assert remote_slipped(setup["remote"].pk, setup["delivery"]["id"]) == "2027-06-01"
    assert record.result["clientMutationId"] == record.client_mutation_id


def test_outage_retries_then_reads_back_and_sends(setup, sandbox):
    sandbox.fault(SandboxState.Fault.ERROR_500, count=50)
    respond(setup["message"])
    item = OutboxItem.objects.get()
    assert item.status == OutboxItem.Status.PENDING and "500" in item.last_error
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.QUEUED
    assert remote_slipped(setup["remote"].pk, setup["delivery"]["id"]) != "2027-06-01"
    sandbox.fault("", count=0)
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=item.created_at)
    assert outbox.outbox_dispatch(worker="w") == {"succeeded": 1}
    assert remote_slipped(setup["remote"].pk, setup["delivery"]["id"]) == "2027-06-01"
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.WRITTEN
    # a further retry (e.g. a worker that died before recording) reconciles, sends nothing
    OutboxItem.objects.filter(pk=item.pk).update(
        status=OutboxItem.Status.PENDING, next_attempt_at=item.created_at
    )
    assert outbox.outbox_dispatch(worker="w") == {"reconciled": 1}
    outcomes = list(OutboxAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == ["retry", "succeeded", "reconciled"]


def test_unknown_delivery_date_is_a_dead_letter(setup):
    local = setup["local"]
    local.consonance_id = 999_999_999
    local.save()
    respond(setup["message"])
    item = OutboxItem.objects.get()
    assert item.status == OutboxItem.Status.DEAD
    assert "not found" in item.dead_reason
    record = WritebackRecord.objects.get()
    assert record.status == WritebackRecord.Status.FAILED and "not found" in record.reason
