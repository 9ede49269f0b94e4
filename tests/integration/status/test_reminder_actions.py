"""A reminder belongs to the action it chases (defect found walking the demo): sending it opened
a second action for the same request — two overdue rows on the board — and the contributor's
answer to the reminder left the original action overdue."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from integration import tasks
from integration.communications.reminders import contributor_action_remind
from integration.models import Communication, ContributorAction, Message, WritebackRecord
from integration.selectors.status import contributor_actions_for
from integration.status.apply import StatusInput, message_status_apply
from integration.status.contributor_actions import contributor_actions_open_for_communication
from integration.status.imports import message_status_import_csv
from tests.factories import ContributorActionFactory, MessageFactory
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status
A = ContributorAction.State


def _apply(message: Message, status: str, hours: float, ext: str) -> None:
    message_status_apply(
        events=[StatusInput(str(message.key), status, at(hours), "exstream-runtime", ext)]
    )


@pytest.fixture
def action(message, proofs_due) -> ContributorAction:
    _apply(message, S.SUBMITTED, 0, "s-original")
    return ContributorAction.objects.get()


@pytest.fixture
def reminder_message(action, project_manager, reminder_template) -> Message:
    """The reminder drafted for ``action``, its one message submitted to Exstream."""
    reminder = contributor_action_remind(actor=project_manager, action=action)
    message = Message.objects.filter(communication=reminder).first() or MessageFactory.create(
        communication=reminder,
        recipient_name="Ada Quill",
        recipient_email="ada@authors.test",
        contact=action.contact,
    )
    _apply(message, S.SUBMITTED, 24, "s-reminder")
    _apply(message, S.DELIVERED, 25, "d-reminder")
    return message


def test_a_sent_reminder_opens_no_action_of_its_own(action, reminder_message, project_manager):
    assert list(ContributorAction.objects.all()) == [action]
    # nor does the scheduled safety net, nor Compose's own call
    assert tasks.contributor_actions_open_missing() == "0 contributor action(s) opened"
    assert (
        contributor_actions_open_for_communication(communication=reminder_message.communication)
        == []
    )
    assert ContributorAction.objects.count() == 1
    rows = list(contributor_actions_for(user=project_manager, today=datetime.date(2026, 11, 28)))
    assert rows == [action]
    assert rows[0].reminder == reminder_message.communication
    assert rows[0].display_state(datetime.date(2026, 11, 28)) == A.OVERDUE


def _answer_by_feed(message: Message, user) -> None:
    _apply(message, S.RESPONDED, 30, "r-reminder")


def _answer_by_hand(message: Message, user) -> None:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.post(
        "/api/v1/message-status/",
        {"message_key": str(message.key), "status": "responded", "date": "2026-11-03"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def _answer_by_csv(message: Message, user) -> None:
    raw = (
        "communication,recipient_email,status,date,note\n"
        f"{message.communication_id},{message.recipient_email},responded,2026-11-03,By post\n"
    ).encode()
    message_status_import_csv(actor=user, raw=raw, filename="answers.csv")


@pytest.mark.parametrize("answer", [_answer_by_feed, _answer_by_hand, _answer_by_csv])
def test_an_answer_to_the_reminder_closes_the_action_it_chases(
    answer, action, reminder_message, project_manager
):
    answer(reminder_message, project_manager)
    action.refresh_from_db()
    assert action.state == A.RESPONDED
    assert action.responded_on in (datetime.date(2026, 11, 2), datetime.date(2026, 11, 3))
    assert ContributorAction.objects.count() == 1
    # the answer is written back (or kept) once, as the original request's answer
    assert WritebackRecord.objects.filter(business_key=f"action:{action.pk}:responded").exists()
    # off the open board
    assert list(contributor_actions_for(user=project_manager, open_only=True)) == []


def test_an_answer_to_a_reminder_in_another_imprint_closes_nothing(
    action, reminder_message, imprint_b
):
    """The campaign names an action by id; an action of another imprint is not its to close."""
    reminder = reminder_message.communication
    Communication.objects.filter(pk=reminder.pk).update(imprint=imprint_b)
    _apply(reminder_message, S.RESPONDED, 30, "r-reminder")
    action.refresh_from_db()
    assert action.state == A.AWAITING


def test_an_action_opened_for_a_reminder_before_the_fix_is_not_a_second_row(
    action, reminder_message, project_manager, login
):
    """Databases from before the fix hold an action for the reminder's own message."""
    legacy = ContributorActionFactory.create(message=reminder_message, due_on=action.due_on)
    rows = list(contributor_actions_for(user=project_manager))
    assert rows == [action]
    body = login(project_manager).get(reverse("actions:board")).content.decode()
    assert body.count("Draft reminder<span") == 1
    assert (
        login(project_manager).get(reverse("actions:detail", args=[legacy.pk])).status_code == 404
    )
    # its answer still closes the original
    _apply(reminder_message, S.RESPONDED, 30, "r-reminder")
    action.refresh_from_db()
    assert action.state == A.RESPONDED
