"""Outstanding contributor actions: opened on submission, due dates from the contract, overdue
by a frozen clock, responses and returned mail, reminders and owners."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from integration.communications.reminders import contributor_action_remind
from integration.models import Communication, ContributorAction, Message
from integration.selectors.status import contributor_actions_for
from integration.status.apply import StatusInput, message_status_apply
from integration.status.contributor_actions import (
    DEFAULT_RESPONSE_DAYS,
    contributor_action_assign,
    contributor_actions_open_for_communication,
)
from integration.status.responses import contributor_action_record_response
from tests.factories import (
    CommunicationFactory,
    DeliveryDateFactory,
    MessageFactory,
    communication_type,
)
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status
A = ContributorAction.State


def submit(message, hours=0, ext=None):
    return message_status_apply(
        events=[
            StatusInput(
                str(message.key),
                S.SUBMITTED,
                at(hours),
                "exstream-runtime",
                ext or f"s-{message.pk}",
            )
        ]
    )


def test_submitted_message_opens_an_action_due_on_the_slipped_proofs_date(
    message, proofs_due, project_manager
):
    proofs_due.slipped = datetime.date(2026, 11, 27)
    proofs_due.save()
    DeliveryDateFactory.create(
        contract=proofs_due.contract, deliverable_type="Manuscript", due=datetime.date(2026, 9, 1)
    )
    submit(message)
    action = ContributorAction.objects.get(message=message)
    assert action.due_on == datetime.date(2026, 11, 27)
    assert action.delivery_date == proofs_due
    assert "slipped" in action.due_source
    assert action.owner == project_manager
    assert action.state == A.AWAITING
    assert action.work == message.communication.work


def test_without_a_matching_delivery_date_the_default_applies(message):
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, tzinfo=datetime.UTC), tick=False):
        submit(message)
    action = ContributorAction.objects.get(message=message)
    assert action.due_on == datetime.date(2026, 11, 2) + datetime.timedelta(
        days=DEFAULT_RESPONSE_DAYS
    )
    assert action.delivery_date is None


def test_types_without_a_response_open_nothing(work):
    notification = CommunicationFactory.create(
        work=work, communication_type=communication_type("publication-notification")
    )
    rights = CommunicationFactory.create(
        work=work, communication_type=communication_type("rights-confirmation")
    )
    for comm in (notification, rights):
        submit(MessageFactory.create(communication=comm))
    assert not ContributorAction.objects.exists()


def test_generated_or_failed_messages_open_nothing(message):
    message_status_apply(
        events=[StatusInput(str(message.key), S.FAILED, at(1), "exstream-runtime", "f1")]
    )
    assert not ContributorAction.objects.exists()


def test_open_for_communication_is_idempotent_and_compose_can_call_it(
    proof_communication, marketing
):
    messages = [
        MessageFactory.create(communication=proof_communication, status=S.SUBMITTED)
        for _ in range(3)
    ]
    MessageFactory.create(communication=proof_communication, status=S.GENERATED)
    created = contributor_actions_open_for_communication(
        communication=proof_communication, owner=marketing
    )
    again = contributor_actions_open_for_communication(communication=proof_communication)
    assert len(created) == 3 and again == []
    assert {a.message_id for a in ContributorAction.objects.all()} == {m.pk for m in messages}
    assert set(ContributorAction.objects.values_list("owner", flat=True)) == {marketing.pk}


def test_overdue_is_derived_from_the_due_date_and_today(message, proofs_due, project_manager):
    submit(message)  # due 2026-11-20
    action = ContributorAction.objects.get()
    with time_machine.travel(datetime.date(2026, 11, 20), tick=False):
        assert action.display_state() == A.AWAITING
        assert contributor_actions_for(user=project_manager, state=A.OVERDUE).count() == 0
        assert contributor_actions_for(user=project_manager, state=A.AWAITING).count() == 1
    with time_machine.travel(datetime.date(2026, 11, 21), tick=False):
        assert action.display_state() == A.OVERDUE
        assert contributor_actions_for(user=project_manager, state=A.OVERDUE).count() == 1
        assert contributor_actions_for(user=project_manager, state=A.AWAITING).count() == 0


def test_board_sorts_by_urgency(proof_communication, project_manager):
    due = [datetime.date(2026, 11, d) for d in (25, 10, 15, 30)]
    actions = []
    for day in due:
        m = MessageFactory.create(communication=proof_communication)
        submit(m)
        a = ContributorAction.objects.get(message=m)
        a.due_on = day
        a.save()
        actions.append(a)
    # one bounced (undeliverable), one responded
    message_status_apply(
        events=[
            StatusInput(str(actions[3].message.key), S.BOUNCED, at(2), "exstream-email", "b"),
            StatusInput(str(actions[0].message.key), S.RESPONDED, at(3), "hand", "r"),
        ]
    )
    with time_machine.travel(datetime.date(2026, 11, 20), tick=False):
        ordered = list(contributor_actions_for(user=project_manager))
    # overdue (10th, 15th), undeliverable (30th), responded (25th)
    assert [a.due_on.day for a in ordered] == [10, 15, 30, 25]


def test_exstream_responded_event_closes_the_action(message):
    submit(message)
    message_status_apply(
        events=[
            StatusInput(
                str(message.key), S.RESPONDED, at(30), "exstream-webhook", "wh-1", {"note": "OK"}
            )
        ]
    )
    action = ContributorAction.objects.get()
    assert action.state == A.RESPONDED
    assert action.responded_on == at(30).date()
    assert action.response_note == "OK"


def test_bounce_makes_the_action_undeliverable_and_a_late_response_still_wins(message):
    submit(message)
    message_status_apply(
        events=[StatusInput(str(message.key), S.BOUNCED, at(1), "exstream-email", "bn")]
    )
    assert ContributorAction.objects.get().state == A.UNDELIVERABLE
    message_status_apply(
        events=[StatusInput(str(message.key), S.RESPONDED, at(50), "hand", "late")]
    )
    assert ContributorAction.objects.get().state == A.RESPONDED


def test_record_response_by_hand_needs_record_response(message, project_manager, viewer):
    submit(message)
    action = ContributorAction.objects.get()
    with pytest.raises(PermissionDenied):
        contributor_action_record_response(
            actor=viewer, action=action, responded_on=datetime.date(2026, 11, 5)
        )
    contributor_action_record_response(
        actor=project_manager,
        action=action,
        responded_on=datetime.date(2026, 11, 5),
        note="Approved with two corrections",
    )
    action.refresh_from_db()
    assert action.state == A.RESPONDED
    assert action.responded_by == project_manager
    assert action.response_note == "Approved with two corrections"
    message.refresh_from_db()
    assert message.status == S.RESPONDED
    assert AuditEvent.objects.filter(verb="message.responded_recorded").count() == 1
    # the same entry again changes nothing
    contributor_action_record_response(
        actor=project_manager, action=action, responded_on=datetime.date(2026, 11, 5)
    )
    assert message.events.filter(source="hand").count() == 1


def test_future_response_dates_are_refused(message, project_manager):
    submit(message)
    with pytest.raises(ValidationError):
        contributor_action_record_response(
            actor=project_manager,
            action=ContributorAction.objects.get(),
            responded_on=datetime.date(2999, 1, 1),
        )


def test_reminder_drafts_a_contributor_request_referencing_the_action(
    message, project_manager, viewer, reminder_template
):
    submit(message)
    action = ContributorAction.objects.get()
    with pytest.raises(ValidationError):
        contributor_action_remind(actor=viewer, action=action)
    reminder = contributor_action_remind(actor=project_manager, action=action)
    assert reminder.status in (Communication.Status.DRAFT, Communication.Status.COMPOSING)
    assert reminder.communication_type.code == "contributor-request"
    assert reminder.work == message.communication.work
    assert reminder.contract == message.communication.contract
    assert reminder.campaign["reminder_for_action"] == action.pk
    assert reminder.campaign["recipient_email"] == "ada@authors.test"
    assert reminder.template == reminder_template  # resolved for the reminder's own type
    members = list(reminder.audience.members.values_list("email", "name"))
    assert members == [("ada@authors.test", "Ada Quill")]
    assert reminder.audience.kind == "uploaded" and reminder.audience.imprint == action.imprint
    action.refresh_from_db()
    assert (action.reminder, action.reminder_count) == (reminder, 1)
    assert AuditEvent.objects.filter(
        verb="contributor_action.reminder_drafted", work_id=reminder.work_id
    ).exists()

    # still no answer: a second reminder to the same contributor, on a one-row list of its own
    again = contributor_action_remind(actor=project_manager, action=action)
    assert again.pk != reminder.pk and again.audience_id != reminder.audience_id
    assert list(again.audience.members.values_list("email", flat=True)) == ["ada@authors.test"]
    action.refresh_from_db()
    assert (action.reminder, action.reminder_count) == (again, 2)


def test_no_reminder_once_responded(message, project_manager):
    submit(message)
    message_status_apply(events=[StatusInput(str(message.key), S.RESPONDED, at(5), "hand", "x")])
    with pytest.raises(ValidationError):
        contributor_action_remind(actor=project_manager, action=ContributorAction.objects.get())


def test_assign_to_another_project_manager_only(message, project_manager, admin_a, viewer):
    submit(message)
    action = ContributorAction.objects.get()
    contributor_action_assign(actor=project_manager, action=action, owner=admin_a)
    assert ContributorAction.objects.get().owner == admin_a
    with pytest.raises(ValidationError):
        contributor_action_assign(actor=project_manager, action=action, owner=viewer)
    with pytest.raises(PermissionDenied):
        contributor_action_assign(actor=viewer, action=action, owner=project_manager)


def test_scheduled_safety_net_opens_missing_actions(proof_communication, work):
    """A sender that marks messages submitted in bulk (no events, no call) is caught up."""
    from integration import tasks

    submitted = MessageFactory.create(communication=proof_communication, status=S.SUBMITTED)
    MessageFactory.create(communication=proof_communication, status=S.GENERATED)
    MessageFactory.create(communication=proof_communication, status=S.FAILED)
    other = CommunicationFactory.create(
        work=work, communication_type=communication_type("launch-email")
    )
    MessageFactory.create(communication=other, status=S.DELIVERED)
    assert tasks.contributor_actions_open_missing() == "1 contributor action(s) opened"
    assert list(ContributorAction.objects.values_list("message", flat=True)) == [submitted.pk]
    assert tasks.contributor_actions_open_missing() == "0 contributor action(s) opened"


def test_reminder_without_a_template_says_what_to_configure(message, project_manager):
    submit(message)
    with pytest.raises(ValidationError, match=r"(?i)template"):
        contributor_action_remind(actor=project_manager, action=ContributorAction.objects.get())
    assert not Communication.objects.filter(communication_type__code="contributor-request").exists()
