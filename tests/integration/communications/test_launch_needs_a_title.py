"""A launch e-mail with no title chosen (defect found walking the demo as marketing@): it was
drafted, and every message then composed with blocking findings (no title, formats, prices or
cover to take). Now the draft is refused with an error on the title field, on the screen and
over the API, and nothing is created."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from integration.communications.create import TITLE_REQUIRED_TYPES, communication_create
from integration.models import Communication
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(imprint_a):
    """A launch e-mail template and a book-club list in Harbour Lights, and one of its titles."""
    CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("launch-email"), channels=["email"]
    )
    audience = AudienceFactory.create(imprint=imprint_a, name="Book club members")
    return audience, WorkFactory.create(imprint=imprint_a, title="The Salt Road")


def test_the_screen_refuses_it_on_the_title_field(launch, imprint_a, marketing, login):
    audience, work = launch
    client = login(marketing)
    body = {
        "imprint": imprint_a.pk,
        "communication_type": communication_type("launch-email").pk,
        "audience": audience.pk,
    }
    response = client.post(reverse("communications:new"), body)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["work"], errors
    assert "Choose the title" in errors["work"][0]
    assert "Choose the title" in response.content.decode()
    assert not Communication.objects.exists()
    # with the title chosen it is drafted
    response = client.post(reverse("communications:new"), {**body, "work": work.pk})
    assert response.status_code == 302
    assert Communication.objects.get().work == work


def test_the_api_refuses_it_naming_the_field(launch, imprint_a, marketing):
    audience, work = launch
    client = Client()
    client.force_login(marketing)
    body = {"imprint": imprint_a.pk, "communication_type": "launch-email", "audience": audience.pk}
    response = client.post("/api/v1/communications/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    assert list(details) == ["work"] and "Choose the title" in details["work"][0]
    assert not Communication.objects.exists()
    response = client.post(
        "/api/v1/communications/", {**body, "work": work.pk}, content_type="application/json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("code", sorted(TITLE_REQUIRED_TYPES))
def test_the_service_refuses_every_launch_type_without_a_title(code, launch, imprint_a, marketing):
    audience, _work = launch
    with pytest.raises(ValidationError) as refused:
        communication_create(
            actor="system:test",
            imprint=imprint_a,
            communication_type=communication_type(code),
            audience=audience,
        )
    assert "work" in refused.value.message_dict
    assert not Communication.objects.exists()


def test_a_communication_not_about_a_title_still_needs_none(launch, imprint_a, marketing):
    """A member renewal notice is about the membership: no title is asked for."""
    audience, _work = launch
    CommunicationTemplateFactory.create(
        imprint=imprint_a,
        communication_type=communication_type("member-renewal-notice"),
        channels=["email"],
    )
    comm = communication_create(
        actor=marketing,
        imprint=imprint_a,
        communication_type=communication_type("member-renewal-notice"),
        audience=audience,
        compose=False,
    )
    assert comm.work is None
