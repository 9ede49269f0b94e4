"""Shared fixtures for the status-back-from-Exstream tests."""

from __future__ import annotations

import datetime

import pytest

from integration.models import Communication, ContributorAction, Message
from integration.status.apply import StatusInput, message_status_apply
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

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def at(hours: float = 0) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


@pytest.fixture
def work(imprint_a):
    return WorkFactory.create(imprint=imprint_a, title="The Salt Road")


@pytest.fixture
def ada(work):
    """The contributor the proofs go to: a Consonance contact."""
    return ContactFactory.create(name="Ada Quill", emails=["ada@authors.test"])


@pytest.fixture
def contract(work, ada):
    """Ada's contract: it names her through a gratis copy (GratisCopy.contactId), the one
    documented way a Consonance contract names a contributor."""
    contract = ContractFactory.create(work=work)
    GratisCopyFactory.create(
        contract=contract,
        contact_consonance_id=ada.consonance_id,
        send_on=datetime.date(2027, 6, 1),
    )
    return contract


@pytest.fixture
def proofs_due(contract):
    return DeliveryDateFactory.create(
        contract=contract,
        deliverable_type="Proofs",
        due=datetime.date(2026, 11, 20),
        consonance_id=555,
    )


@pytest.fixture
def proof_communication(work, contract, project_manager) -> Communication:
    return CommunicationFactory.create(
        work=work,
        contract=contract,
        communication_type=communication_type("proof-approval"),
        name="First proofs of The Salt Road",
        created_by=project_manager,
        submitted_by=project_manager,
    )


@pytest.fixture
def message(proof_communication, ada) -> Message:
    return MessageFactory.create(
        communication=proof_communication,
        recipient_name="Ada Quill",
        recipient_email="ada@authors.test",
        contact=ada,
    )


@pytest.fixture
def reminder_template(imprint_a):
    """An active contributor-request template, so reminders resolve one and compose."""
    from tests.factories import CommunicationTemplateFactory

    return CommunicationTemplateFactory.create(
        imprint=imprint_a,
        name="Contributor request",
        communication_type=communication_type("contributor-request"),
        channels=["email", "print"],
    )


@pytest.fixture
def action(message, proofs_due) -> ContributorAction:
    """The proof request's contributor action, opened by its message being submitted."""
    message_status_apply(
        events=[
            StatusInput(str(message.key), Message.Status.SUBMITTED, at(0), "exstream-runtime", "s")
        ]
    )
    return ContributorAction.objects.get()
