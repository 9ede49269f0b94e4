"""The timeline groups what happened by communication, with each recipient it failed for and
why; a sent communication with failures says "Sent — 2 of 24 failed" wherever it is listed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integration.models import Message
from integration.selectors.timeline import title_communication_outcomes
from tests.factories import (
    CommunicationFactory,
    ContributorActionFactory,
    MessageFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db
M = Message.Status


@pytest.fixture
def sent(imprint_a):
    work = WorkFactory.create(imprint=imprint_a, title="The Wild House")
    comm = CommunicationFactory.create(
        imprint=imprint_a, work=work, name="Proofs for The Wild House", recipient_count=24
    )
    MessageFactory.create(
        communication=comm, recipient_name="Ada Okafor", status=M.FAILED,
        status_detail="The address is incomplete.",
    )  # fmt: skip
    MessageFactory.create(communication=comm, recipient_name="Kiri Silva", status=M.BOUNCED)
    for _ in range(3):
        MessageFactory.create(communication=comm, status=M.DELIVERED)
    quiet = CommunicationFactory.create(imprint=imprint_a, work=work, name="All went well")
    MessageFactory.create(communication=quiet, status=M.DELIVERED)
    return work, comm, quiet


def test_outcomes_per_communication_with_failure_reasons(sent, rights_manager):
    work, comm, quiet = sent
    outcomes = {o.communication.pk: o for o in title_communication_outcomes(
        user=rights_manager, work=work
    )}  # fmt: skip
    assert outcomes[comm.pk].failed == 2
    assert ("Delivered", 3) in outcomes[comm.pk].counts
    reasons = {m.recipient_name: m.status_detail for m in outcomes[comm.pk].failures}
    assert reasons == {"Ada Okafor": "The address is incomplete.", "Kiri Silva": ""}
    assert outcomes[quiet.pk].failed == 0 and outcomes[quiet.pk].failures == []


def test_timeline_page_shows_groups_and_the_failed_count(sent, login, rights_manager):
    work, _comm, _quiet = sent
    html = login(rights_manager).get(f"/titles/{work.pk}/timeline/").content.decode()
    assert "By communication" in html
    assert "Sent — 2 of 24 failed" in html
    assert "Ada Okafor" in html and "The address is incomplete." in html
    assert "No reason given" in html  # the bounce came without one
    assert f'href="/titles/{work.pk}/"' in html  # back to the title


def test_lists_say_how_many_failed(sent, login, rights_manager):
    _work, comm, quiet = sent
    client = login(rights_manager)
    listing = client.get("/communications/").content.decode()
    assert "Sent — 2 of 24 failed" in listing
    detail = client.get(f"/communications/{comm.pk}/").content.decode()
    assert "Sent — 2 of 24 failed" in detail
    assert (
        "2 of"
        not in client.get(f"/communications/{quiet.pk}/")
        .content.decode()
        .split("<h1>")[1]
        .split("</p>")[0]
    )


def test_outsider_gets_no_outcomes(sent, login, outsider):
    work, _comm, _quiet = sent
    assert login(outsider).get(f"/titles/{work.pk}/timeline/").status_code in (403, 404)


def test_response_date_starts_as_today_in_a_form_a_date_input_accepts(
    login, project_manager, imprint_a, settings
):
    settings.LANGUAGE_CODE = "en-gb"  # dd/mm/yyyy is what broke the date input
    work = WorkFactory.create(imprint=imprint_a)
    comm = CommunicationFactory.create(imprint=imprint_a, work=work)
    action = ContributorActionFactory.create(message=MessageFactory.create(communication=comm))
    html = login(project_manager).get(f"/actions/{action.pk}/").content.decode()
    today = timezone.localdate()
    assert f'type="date" name="responded_on" value="{today.isoformat()}"' in html
    assert today.strftime("%d/%m/%Y") not in html
