"""A reminder's one-person list belongs to that reminder (defect found walking the demo): the
trigger-rule form offered it as a rule's audience, and the service saved a rule sending every
matching change to that one contributor."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integration.models import Audience, TriggerRule
from integration.setup.transfer import setup_object_save
from tests.factories import (
    AudienceFactory,
    CommunicationFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminder_list(imprint_a) -> Audience:
    """What ``contributor_action_remind`` leaves behind: a one-row list its reminder uses."""
    audience = AudienceFactory.create(
        imprint=imprint_a, name="Reminder recipient: Ada Quill (action 7)", kind="uploaded"
    )
    CommunicationFactory.create(
        work=WorkFactory.create(imprint=imprint_a),
        communication_type=communication_type("contributor-request"),
        audience=audience,
        campaign={"reminder_for_action": 7, "due_on": "2026-11-20"},
        status="draft",
    )
    return audience


@pytest.fixture
def everyone(imprint_a) -> Audience:
    return AudienceFactory.create(imprint=imprint_a, name="Authors of the title")


def _options(html: str) -> list[str]:
    select = re.search(r'<select name="audience".*?</select>', html, re.S)
    assert select
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", select.group(0))


def _body(imprint, audience) -> dict[str, object]:
    return {
        "imprint": imprint.pk,
        "name": "Approval notices",
        "event": TriggerRule.Event.PROJECT_STAGE,
        "communication_type": communication_type("approval-notice").pk,
        "audience": audience.pk,
        "active": "on",
    }


def test_the_form_does_not_offer_a_reminders_list(reminder_list, everyone, admin_a, login):
    url = reverse("setup:create", args=["triggers"])
    options = _options(login(admin_a).get(url).content.decode())
    assert any(o.startswith("Authors of the title") for o in options), options
    assert not any(o.startswith("Reminder recipient") for o in options), options
    # a normal audience still saves
    response = login(admin_a).post(url, _body(admin_a.memberships.get().imprint, everyone))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TriggerRule.objects.get().audience == everyone


def test_a_posted_reminders_list_is_refused_on_the_audience_field(
    reminder_list, imprint_a, admin_a, login
):
    response = login(admin_a).post(
        reverse("setup:create", args=["triggers"]), _body(imprint_a, reminder_list)
    )
    assert response.status_code == 200
    assert "audience" in response.context["form"].errors
    assert not TriggerRule.objects.exists()


def test_the_service_refuses_a_reminders_list_with_a_field_error(
    reminder_list, everyone, imprint_a, admin_a
):
    rule = TriggerRule(
        imprint=imprint_a,
        name="Approval notices",
        event=TriggerRule.Event.PROJECT_STAGE,
        communication_type=communication_type("approval-notice"),
        audience=reminder_list,
    )
    with pytest.raises(ValidationError) as refused:
        setup_object_save(actor=admin_a, instance=rule)
    assert "reminder" in " ".join(refused.value.message_dict["audience"])
    assert not TriggerRule.objects.exists()
    # editing an existing rule onto the list is refused the same way
    existing = TriggerRuleFactory.create(imprint=imprint_a, audience=everyone)
    existing.audience = reminder_list
    with pytest.raises(ValidationError):
        setup_object_save(actor=admin_a, instance=existing)
    existing.refresh_from_db()
    assert existing.audience == everyone


def test_the_api_refuses_a_reminders_list_naming_the_field(
    reminder_list, everyone, imprint_a, admin_a, login
):
    body = {
        "imprint": imprint_a.pk,
        "name": "Approval notices",
        "event": TriggerRule.Event.PROJECT_STAGE,
        "communication_type": "approval-notice",
        "audience": reminder_list.pk,
    }
    client = login(admin_a)
    response = client.post("/api/v1/triggers/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "audience" in response.json()["error"]["details"]
    assert not TriggerRule.objects.exists()
    body["audience"] = everyone.pk
    response = client.post("/api/v1/triggers/", body, content_type="application/json")
    assert response.status_code == 201, response.content
