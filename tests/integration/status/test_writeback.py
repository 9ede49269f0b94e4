"""Write-back to Consonance through the outbox: rules, mutations, reconcile, retry and dead
letters. The Consonance client is replaced by a fake at the handler's client factory."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from integration.delivery import outbox
from integration.lib.http import ExternalServiceError
from integration.models import (
    ContributorAction,
    Message,
    OutboxAttempt,
    OutboxItem,
    WritebackRecord,
    WritebackRule,
)
from integration.status.apply import StatusInput, message_status_apply
from integration.status.writeback import HANDLER, writeback_rule_set
from tests.factories import (
    CommunicationFactory,
    GratisCopyFactory,
    MessageFactory,
    communication_type,
)
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status
K = WritebackRule.EventKind


class FakeConsonance:
    """Holds one contract like Consonance's GraphQL would return it."""

    def __init__(self, contract: dict[str, Any]) -> None:
        self.contract = contract
        self.mutations: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[ExternalServiceError] = []
        self.reads = 0

    def graphql(self, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        assert operation == "WritebackContract"
        self.reads += 1
        if variables["id"] != self.contract["id"]:
            return {"contract": None}
        return {"contract": copy.deepcopy(self.contract)}

    def mutate(self, operation: str, input_: dict[str, Any]) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        self.mutations.append((operation, input_))
        if operation == "UpdateDeliveryDate":
            row = next(d for d in self.contract["deliveryDates"] if d["id"] == input_["id"])
            row["slippedDate"] = input_["slippedDate"]
        elif operation == "UpdateGratisCopy":
            row = next(g for g in self.contract["gratisCopies"] if g["id"] == input_["id"])
            row["sentOn"] = input_["sentOn"]
        elif operation == "UpdateContract":
            self.contract["description"] = input_["description"]
        return {"clientMutationId": input_["clientMutationId"], "errors": []}


@pytest.fixture
def fake(contract, proofs_due, monkeypatch):
    system = FakeConsonance(
        {
            "id": contract.consonance_id,
            "description": "Agreed at Frankfurt.",
            "deliveryDates": [{"id": proofs_due.consonance_id, "slippedDate": None}],
            "gratisCopies": [],
        }
    )
    monkeypatch.setattr(HANDLER, "client_factory", lambda: system)
    return system


def respond(message, when, ext="r1"):
    message_status_apply(
        events=[
            StatusInput(str(message.key), S.SUBMITTED, at(0), "exstream-runtime", f"s{ext}"),
            StatusInput(str(message.key), S.RESPONDED, when, "exstream-webhook", ext),
        ]
    )


LATE = datetime.datetime(2026, 11, 24, 10, tzinfo=datetime.UTC)  # proofs due 2026-11-20


def test_without_a_rule_the_record_stays_in_colophon(message, fake):
    respond(message, LATE)
    record = WritebackRecord.objects.get()
    assert record.event_kind == K.PROOF_APPROVAL_RECEIVED
    assert record.status == WritebackRecord.Status.KEPT
    assert "No write-back rule" in record.reason
    assert not OutboxItem.objects.exists()


def test_late_proof_approval_updates_the_delivery_date(message, fake, imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    respond(message, LATE)
    record = WritebackRecord.objects.get()
    item = OutboxItem.objects.get()
    assert item.kind == OutboxItem.Kind.CONSONANCE_WRITEBACK
    assert item.external_id == f"colophon-{record.key}" == record.client_mutation_id
    assert item.work_id == message.communication.work_id
    assert outbox.outbox_dispatch(worker="w") == {"succeeded": 1}
    assert fake.mutations == [
        (
            "UpdateDeliveryDate",
            {"id": 555, "slippedDate": "2026-11-24", "clientMutationId": item.external_id},
        )
    ]
    record.refresh_from_db()
    assert record.status == WritebackRecord.Status.WRITTEN
    # the same response again writes nothing more
    respond(message, LATE)
    assert WritebackRecord.objects.count() == 1 and OutboxItem.objects.count() == 1


def test_on_time_proof_approval_has_nothing_to_write(message, fake, imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    respond(message, datetime.datetime(2026, 11, 19, 10, tzinfo=datetime.UTC))
    record = WritebackRecord.objects.get()
    assert record.status == WritebackRecord.Status.KEPT
    assert "no delivered-on field" in record.reason


def test_failure_retries_then_reconciles_without_sending_twice(message, fake, imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    respond(message, LATE)
    item = OutboxItem.objects.get()
    # Consonance applied the change but the answer timed out
    original = fake.mutate

    def accept_then_time_out(operation, input_):
        original(operation, input_)
        raise ExternalServiceError("timed out", service="Consonance", retryable=True)

    fake.mutate = accept_then_time_out  # type: ignore[method-assign]
    assert outbox.outbox_dispatch(worker="w") == {"retry": 1}
    fake.mutate = original  # type: ignore[method-assign]
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=item.created_at)
    assert outbox.outbox_dispatch(worker="w") == {"reconciled": 1}
    assert len(fake.mutations) == 1  # read back, found it, not sent again
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.WRITTEN
    outcomes = list(OutboxAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == ["retry", "reconciled"]


def test_a_refused_mutation_becomes_a_dead_letter(message, fake, imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    respond(message, LATE)
    fake.failures.append(
        ExternalServiceError(
            "UpdateDeliveryDate: Consonance refused the change: id: not found",
            service="Consonance",
            retryable=False,
        )
    )
    assert outbox.outbox_dispatch(worker="w") == {"dead": 1}
    record = WritebackRecord.objects.get()
    assert record.status == WritebackRecord.Status.FAILED
    assert "refused" in record.reason
    # an admin replays it once the cause is fixed
    outbox.outbox_replay(actor=admin_a, item=OutboxItem.objects.get())
    assert outbox.outbox_dispatch(worker="w") == {"succeeded": 1}
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.WRITTEN


def test_cancelled_dead_letter_marks_the_record(message, fake, imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    respond(message, LATE)
    outbox.outbox_cancel(actor=admin_a, item=OutboxItem.objects.get())
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.CANCELLED


def test_rights_confirmation_delivered_appends_to_the_contract_description(
    work, contract, fake, imprint_a, admin_a
):
    writeback_rule_set(
        actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.RIGHTS_CONFIRMATION_DELIVERED
    )
    comm = CommunicationFactory.create(
        work=work,
        contract=contract,
        communication_type=communication_type("rights-confirmation"),
        name="French translation rights",
    )
    m = MessageFactory.create(
        communication=comm, recipient_name="Éditions du Port", channel="print"
    )
    message_status_apply(
        events=[
            StatusInput(str(m.key), S.DELIVERED, at(3), "exstream-runtime", "d"),
            StatusInput(str(m.key), S.OPENED, at(4), "exstream-email", "o"),
        ]
    )
    assert WritebackRecord.objects.count() == 1
    assert outbox.outbox_dispatch(worker="w") == {"succeeded": 1}
    ((operation, input_),) = fake.mutations
    assert operation == "UpdateContract"
    marker = f"[{OutboxItem.objects.get().external_id}]"
    assert input_["description"].startswith("Agreed at Frankfurt.\n2026-11-02: rights confirmation")
    assert input_["description"].endswith(marker)
    # a retry after the change landed does not append twice
    item = OutboxItem.objects.get()
    assert HANDLER.send(item).result == {"reconciled": True}
    assert len(fake.mutations) == 1


def test_gratis_copies_sent_with_the_publication_notification(
    work, contract, ada, fake, imprint_a, admin_a
):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.GRATIS_COPY_SENT)
    mine = {"contract": contract, "contact_consonance_id": ada.consonance_id}
    gratis = GratisCopyFactory.create(**mine, send_on=datetime.date(2026, 11, 1))
    later = GratisCopyFactory.create(**mine, send_on=datetime.date(2027, 1, 1))
    # A co-contributor's copies on the same contract are not Ada's: they stay unsent.
    other = GratisCopyFactory.create(
        contract=contract, contact_consonance_id=ada.consonance_id + 1, send_on=gratis.send_on
    )
    fake.contract["gratisCopies"] = [{"id": gratis.consonance_id, "sentOn": None}]
    comm = CommunicationFactory.create(
        work=work,
        contract=contract,
        communication_type=communication_type("publication-notification"),
    )
    m = MessageFactory.create(communication=comm, contact=ada)
    message_status_apply(
        events=[StatusInput(str(m.key), S.DELIVERED, at(1), "exstream-runtime", "d")]
    )
    gratis.refresh_from_db()
    later.refresh_from_db()
    other.refresh_from_db()
    assert gratis.sent_on == datetime.date(2026, 11, 2) and later.sent_on is None
    assert other.sent_on is None
    assert outbox.outbox_dispatch(worker="w") == {"succeeded": 1}
    assert fake.mutations[0][0] == "UpdateGratisCopy"
    assert fake.mutations[0][1]["sentOn"] == "2026-11-02"


def test_rules_need_configure_and_a_fitting_mutation(imprint_a, admin_a, project_manager):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        writeback_rule_set(
            actor=project_manager, imprint_id=imprint_a.pk, event_kind=K.GRATIS_COPY_SENT
        )
    with pytest.raises(ValidationError):
        writeback_rule_set(
            actor=admin_a,
            imprint_id=imprint_a.pk,
            event_kind=K.GRATIS_COPY_SENT,
            mutation=WritebackRule.Mutation.UPDATE_CONTRACT,
        )


def test_disabled_rule_keeps_the_record(message, fake, imprint_a, admin_a):
    writeback_rule_set(
        actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED, enabled=False
    )
    respond(message, LATE)
    assert WritebackRecord.objects.get().status == WritebackRecord.Status.KEPT
    assert ContributorAction.objects.get().state == ContributorAction.State.RESPONDED
