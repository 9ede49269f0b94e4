"""Defects found walking the README's persona journeys on `make run`'s demo (each test fails
without its fix): a reminder's one-person list offered in every audience picker, a reminder
named twice on the actions board, approvals that two same-named drafts make ambiguous, and a
superuser's start page listing the audit log twice."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from integration.models import Audience, Communication, Message
from integration.status.apply import StatusInput, message_status_apply, message_status_record
from integration.status.polling import email_event_to_status
from tests.factories import (
    AudienceFactory,
    CommunicationFactory,
    ContributorActionFactory,
    MessageFactory,
    communication_type,
)
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status


@pytest.fixture
def reminded(action, project_manager, login, reminder_template) -> Audience:
    """pm@ clicks *Draft reminder*: the reminder goes to a one-person list of its own."""
    response = login(project_manager).post(reverse("actions:remind", args=[action.pk]))
    assert response.status_code == 302
    reminder = Communication.objects.get(campaign__reminder_for_action=action.pk)
    assert reminder.audience is not None
    return reminder.audience


def _options(html: str, select_name: str) -> list[str]:
    select = re.search(rf'<select name="{select_name}".*?</select>', html, re.S)
    assert select, select_name
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", select.group(0))


def test_a_reminders_own_list_is_not_offered_when_drafting(
    reminded, imprint_a, work, marketing, project_manager, login
):
    """Every reminder made a "Reminder recipient: … (action N)" list that every drafter then
    saw in the audience picker of a new communication and of a title's launch plan."""
    AudienceFactory.create(imprint=imprint_a, name="Retailers and wholesalers")
    for user in (marketing, project_manager):
        html = login(user).get(reverse("communications:new")).content.decode()
        options = _options(html, "audience")
        assert "Retailers and wholesalers" in options
        assert reminded.name not in options, options
    plan = login(marketing).get(reverse("titles:launch", args=[work.pk])).content.decode()
    for name in ("retailer_audience", "reader_audience"):
        options = _options(plan, name)
        assert "Retailers and wholesalers" in options and reminded.name not in options
    # picked anyway (a stale form), it is refused with the field's error, nothing drafted
    drafted = Communication.objects.count()
    response = login(project_manager).post(
        reverse("communications:new"),
        {
            "imprint": imprint_a.pk,
            "communication_type": communication_type("contributor-request").pk,
            "audience": reminded.pk,
        },
    )
    assert response.status_code == 200
    assert "audience" in response.context["form"].errors
    assert Communication.objects.count() == drafted


def test_the_board_names_a_reminder_once(imprint_a, work, project_manager, login):
    """The demo's reminder showed as "Contributor request: Reminder: Contributor request: …"."""
    reminder = CommunicationFactory.create(
        work=work,
        name="Reminder: Contributor request: The Salt Road — Ada Quill",
        communication_type=communication_type("contributor-request"),
    )
    review = CommunicationFactory.create(work=work, name="Spring proofs")
    for comm in (reminder, review):
        ContributorActionFactory.create(
            message=MessageFactory.create(communication=comm, recipient_name="Ada Quill"),
            owner=project_manager,
        )
    body = login(project_manager).get(reverse("actions:board")).content.decode()
    assert "Reminder: Contributor request: The Salt Road — Ada Quill" in body
    assert "Contributor request: Reminder:" not in body
    # a name that does not say its type keeps the type beside it
    assert re.search(r"Spring proofs<br><small class=\"help\">Proof approval</small>", body)


def test_approvals_say_who_each_draft_goes_to(imprint_a, work, marketing, admin_a, login):
    """Two launch e-mails about one title (to the book club and to retailers) were two
    identical rows under Approvals."""
    for audience in ("Book club members", "Retailers and wholesalers"):
        CommunicationFactory.create(
            work=work,
            name="Launch e-mail: The Salt Road",
            communication_type=communication_type("launch-email"),
            audience=AudienceFactory.create(imprint=imprint_a, name=audience),
            status=Communication.Status.SUBMITTED,
            submitted_by=marketing,
        )
    body = login(admin_a).get(reverse("communications:approvals")).content.decode()
    assert body.count("Launch e-mail: The Salt Road</a>") == 2
    assert '<th scope="col">Audience</th>' in body
    assert "<td>Book club members</td>" in body and "<td>Retailers and wholesalers</td>" in body


def test_the_start_page_lists_the_audit_log_once(superuser, admin_a, rights_manager, login):
    audit = reverse("audit_log")
    for user in (superuser, admin_a):
        body = login(user).get(reverse("home")).content.decode()
        links = re.search(r"<h2>Where to go</h2>.*?</ul>", body, re.S)
        assert links and links.group(0).count(f'href="{audit}"') == 1, user
    body = login(rights_manager).get(reverse("home")).content.decode()
    assert f'href="{audit}"' not in body


def test_the_board_shows_an_action_was_reminded(reminded, action, project_manager, login):
    """docs/flows.md promises an action "overdue and reminded" on the board; nothing there said
    a reminder had been drafted or sent."""
    reminder = Communication.objects.get(audience=reminded)
    body = login(project_manager).get(reverse("actions:board")).content.decode()
    link = reverse("communications:detail", args=[reminder.pk])
    status = reminder.get_status_display().lower()
    assert f'Reminded: <a href="{link}">{reminder.name}</a> ({status})' in body


def test_an_answer_recorded_this_morning_is_not_dated_later_today(
    message, project_manager, imprint_a
):
    """The demo's licensee answer, recorded at 07:24, was stamped 12:00 that day and headed
    the timeline above everything that happened meanwhile."""
    message_status_apply(
        events=[StatusInput(str(message.key), S.DELIVERED, at(-48), "exstream-runtime", "d")]
    )
    morning = datetime.datetime(2026, 11, 28, 7, 24, tzinfo=datetime.UTC)
    with time_machine.travel(morning, tick=False):
        message_status_record(
            actor=project_manager,
            message=message,
            status=S.RESPONDED,
            occurred_on=morning.date(),
            note="Approved as is.",
        )
    assert message.events.get(source="hand").occurred_at == morning
    # an earlier day's answer still counts from that day's noon
    other = MessageFactory.create(communication=message.communication)
    message_status_apply(
        events=[StatusInput(str(other.key), S.DELIVERED, at(-48), "exstream-runtime", "e")]
    )
    with time_machine.travel(morning, tick=False):
        message_status_record(
            actor=project_manager,
            message=other,
            status=S.RESPONDED,
            occurred_on=datetime.date(2026, 11, 27),
        )
    assert other.events.get(source="hand").occurred_at == datetime.datetime(
        2026, 11, 27, 12, 0, tzinfo=datetime.UTC
    )


def test_a_pulled_bounce_says_why_on_the_timeline(message, rights_manager, login):
    """The demo's bouncing translator showed "No reason given" on The Long Songs' timeline,
    though the e-mail event said "Mailbox unavailable"."""
    base = {"custMetadataId": str(message.key), "jobId": "job-1"}
    stamp = int(at(1).timestamp() * 1000)
    events = [
        email_event_to_status(
            {**base, "eventId": "e1", "eventType": "SUBMIT", "eventStatus": "", "eventDate": stamp}
        ),
        email_event_to_status(
            {
                **base,
                "eventId": "e2",
                "eventType": "NDLV",
                "eventStatus": "Mailbox unavailable",
                "eventDate": stamp + 1000,
            }
        ),
    ]
    assert all(events)
    assert "reason" not in events[0].detail  # type: ignore[union-attr]
    message_status_apply(events=[e for e in events if e is not None])
    message.refresh_from_db()
    assert message.status == S.NOT_DELIVERED and message.status_detail == "Mailbox unavailable"
    body = login(rights_manager).get(
        reverse("timeline:title", args=[message.communication.work_id])
    )
    html = body.content.decode()
    assert "<td>Not delivered</td><td>Mailbox unavailable</td>" in html
    assert "No reason given" not in html


def test_draft_reminder_is_offered_only_to_who_may_draft_it(action, viewer, project_manager, login):
    """viewer@ saw a *Draft reminder* button on every open action and was refused on
    clicking it; the action's own page already offered it only to drafters."""
    remind = reverse("actions:remind", args=[action.pk])
    assert remind in login(project_manager).get(reverse("actions:board")).content.decode()
    body = login(viewer).get(reverse("actions:board")).content.decode()
    assert "Ada Quill" in body and remind not in body and "Draft reminder" not in body


def test_partner_notices_are_linked_only_for_who_may_draft_them(
    imprint_a, marketing, rights_manager, project_manager, login
):
    """rights@, pm@ and royalties@ were offered *Partner catalogue notices* under
    Communications and refused on following it."""
    notices = reverse("communications:partner_notices")
    assert notices in login(marketing).get(reverse("communications:list")).content.decode()
    assert login(marketing).get(notices).status_code == 200
    for user in (rights_manager, project_manager):
        body = login(user).get(reverse("communications:list")).content.decode()
        assert reverse("communications:new") in body and notices not in body
        assert login(user).get(notices).status_code == 403


def test_setup_links_export_import_only_for_imprint_admins(
    imprint_a, viewer, marketing, admin_a, login
):
    """Colleagues may look at Setup; its *Export / import* link led them to a refusal."""
    transfer = reverse("setup:transfer")
    for user in (viewer, marketing):
        client = login(user)
        for page in (reverse("setup:index"), reverse("setup:list", args=["templates"])):
            response = client.get(page)
            assert response.status_code == 200 and transfer not in response.content.decode()
        assert client.get(transfer).status_code == 403
    client = login(admin_a)
    assert transfer in client.get(reverse("setup:index")).content.decode()
    assert client.get(transfer).status_code == 200
