"""Contract parties (issue 11, defect 8): a contract's ``client`` is the publisher's own client
record; the contributors it concerns are the contacts its gratis copies go to. Contributor actions,
due dates and write-back use only the contract that names the recipient — never a co-contributor's
contract — and when no contract names the recipient nothing is written and the action says why."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from integration.models import (
    ContributorAction,
    Message,
    OutboxItem,
    WritebackRecord,
    WritebackRule,
)
from integration.status.apply import StatusInput, message_status_apply
from integration.status.writeback import writeback_event_record, writeback_rule_set
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
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status
K = WritebackRule.EventKind
LATE = datetime.datetime(2027, 3, 1, 9, tzinfo=datetime.UTC)


@pytest.fixture
def two_contracts(imprint_a, admin_a, project_manager):
    """One work, two contributors, each with their own contract and their own proofs date. Cy
    contributes too but no contract names him; Ben's contract's client id happens to equal Cy's
    contact id (client ids and contact ids are different namespaces: it must not matter)."""
    work = WorkFactory.create(imprint=imprint_a, title="Two Voices")
    ada = ContactFactory.create(name="Ada Quill")
    ben = ContactFactory.create(name="Ben Marsh")
    cy = ContactFactory.create(name="Cy Varga")
    ada_contract = ContractFactory.create(work=work, name="Ada's agreement")
    ben_contract = ContractFactory.create(
        work=work, name="Ben's agreement", client_consonance_id=cy.consonance_id
    )
    GratisCopyFactory.create(contract=ada_contract, contact_consonance_id=ada.consonance_id)
    GratisCopyFactory.create(contract=ben_contract, contact_consonance_id=ben.consonance_id)
    ada_proofs = DeliveryDateFactory.create(
        contract=ada_contract,
        deliverable_type="Proofs",
        due=datetime.date(2027, 1, 10),
        consonance_id=7001,
    )
    ben_proofs = DeliveryDateFactory.create(
        contract=ben_contract,
        deliverable_type="Proofs",
        due=datetime.date(2027, 2, 20),
        consonance_id=7002,
    )
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.PROOF_APPROVAL_RECEIVED)
    comm = CommunicationFactory.create(
        work=work,  # about the title, not one contract: each recipient's own contract is found
        communication_type=communication_type("proof-approval"),
        name="Proofs of Two Voices",
        created_by=project_manager,
        submitted_by=project_manager,
    )
    messages = {
        who.name.split()[0].lower(): MessageFactory.create(
            communication=comm, contact=who, recipient_name=who.name
        )
        for who in (ada, ben, cy)
    }
    return {
        "work": work,
        "contracts": {"ada": ada_contract, "ben": ben_contract},
        "proofs": {"ada": ada_proofs, "ben": ben_proofs},
        "messages": messages,
        "contacts": {"ada": ada, "ben": ben, "cy": cy},
    }


def _events(message: Message, status: str, when: datetime.datetime) -> list[StatusInput]:
    return [
        StatusInput(str(message.key), status, when, "exstream-runtime", f"{status}-{message.pk}")
    ]


def test_each_contributors_action_and_write_back_use_only_their_own_contract(two_contracts):
    messages = two_contracts["messages"]
    for m in messages.values():
        message_status_apply(events=_events(m, S.SUBMITTED, at(0)))
    actions = {k: ContributorAction.objects.get(message=m) for k, m in messages.items()}
    assert actions["ada"].delivery_date == two_contracts["proofs"]["ada"]
    assert actions["ada"].due_on == datetime.date(2027, 1, 10)
    assert actions["ben"].delivery_date == two_contracts["proofs"]["ben"]
    assert actions["ben"].due_on == datetime.date(2027, 2, 20)
    # Cy: no contract names him (Ben's contract's client id equal to his contact id is no party).
    assert actions["cy"].delivery_date is None
    assert "No contract names Cy Varga" in actions["cy"].due_source
    assert "nothing written back" in actions["cy"].due_source

    for m in messages.values():  # all three approve the proofs late
        message_status_apply(events=_events(m, S.RESPONDED, LATE))

    queued = {
        item.payload["input"]["id"]: item.payload["contract_id"]
        for item in OutboxItem.objects.filter(kind=OutboxItem.Kind.CONSONANCE_WRITEBACK)
    }
    contracts = two_contracts["contracts"]
    assert queued == {
        7001: contracts["ada"].consonance_id,  # Ada's approval → Ada's delivery date only
        7002: contracts["ben"].consonance_id,  # Ben's approval → Ben's delivery date only
    }
    cy_record = WritebackRecord.objects.get(business_key=f"action:{actions['cy'].pk}:responded")
    assert cy_record.status == WritebackRecord.Status.KEPT
    assert cy_record.outbox_item is None
    assert "No contract names Cy Varga" in cy_record.reason
    assert "Nothing is written to Consonance" in cy_record.reason


def test_a_write_back_aimed_at_a_co_contributors_contract_is_refused(two_contracts, imprint_a):
    """Even if a caller points a write-back at the wrong delivery date, it is not sent."""
    ada = two_contracts["contacts"]["ada"]
    record = writeback_event_record(
        imprint_id=imprint_a.pk,
        work_id=two_contracts["work"].pk,
        event_kind=K.PROOF_APPROVAL_RECEIVED,
        business_key="test:wrong-contract",
        summary="Ada approved",
        occurred_at=LATE,
        target={
            "delivery_date": two_contracts["proofs"]["ben"].pk,
            "on": "2027-03-01",
            "contact": ada.pk,
        },
    )
    assert record.status == WritebackRecord.Status.KEPT
    assert "does not name Ada Quill" in record.reason
    assert not OutboxItem.objects.exists()


def test_a_recipient_who_is_not_a_consonance_contact_gets_no_contract(two_contracts):
    comm = two_contracts["messages"]["ada"].communication
    stranger = MessageFactory.create(communication=comm, contact=None, recipient_name="Dee Roe")
    message_status_apply(events=_events(stranger, S.SUBMITTED, at(0)))
    action = ContributorAction.objects.get(message=stranger)
    assert action.delivery_date is None
    assert "Dee Roe is not a Consonance contact" in action.due_source


def test_the_actions_board_shows_why(two_contracts, login, project_manager):
    for m in two_contracts["messages"].values():
        message_status_apply(events=_events(m, S.SUBMITTED, at(0)))
    body = login(project_manager).get(reverse("actions:board")).content.decode()
    assert "No contract names Cy Varga" in body


def test_the_title_page_shows_the_client_record_apart_from_whom_a_contract_names(
    two_contracts, login, admin_a
):
    work = two_contracts["work"]
    body = login(admin_a).get(reverse("titles:detail", args=[work.pk])).content.decode()
    assert "Client (publisher record): Lighthouse Publishing Group Ltd" in body
    assert "for Ada Quill" in body and "for Ben Marsh" in body
