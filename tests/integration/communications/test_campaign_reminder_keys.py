"""A communication's ``campaign`` over the REST API could carry the keys only a contributor
action's reminder sets (``reminder_for_action``, ``due_on``): a client could draft a campaign
that pretends to be a reminder — its answer would close someone's action — or set a reply date.
The API refuses them (400, naming ``campaign``), the OpenAPI schema says they are read-only,
and the service refuses them whichever way they come; the reminder service still sets them."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from integration.communications.create import communication_create
from integration.models import Communication
from tests.factories import communication_type

pytestmark = pytest.mark.django_db


def _post(user, url, body):
    client = Client()
    client.force_login(user)
    return client.post(url, body, content_type="application/json")


@pytest.mark.parametrize(
    "campaign",
    [
        {"reminder_for_action": 1},
        {"name": "Autumn", "due_on": "2026-12-01"},
        {"reminder_for_action": "7", "due_on": "2026-12-01"},
    ],
)
def test_the_api_refuses_the_reminder_keys_naming_the_field(rights_setup, rights_manager, campaign):
    response = _post(
        rights_manager,
        "/api/v1/communications/",
        {
            "imprint": rights_setup.audience.imprint_id,
            "communication_type": "rights-confirmation",
            "audience": rights_setup.audience.pk,
            "work": rights_setup.work.pk,
            "campaign": campaign,
        },
    )
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    assert list(details) == ["campaign"]
    assert any(key in str(details["campaign"]) for key in campaign if key != "name")
    assert not Communication.objects.exists()


def test_the_launch_api_refuses_them_too(rights_setup, marketing):
    work = rights_setup.work
    response = _post(
        marketing,
        f"/api/v1/titles/{work.pk}/launch/",
        {
            "territory": "GB",
            "retailer_audience": rights_setup.audience.pk,
            "campaign": {"reminder_for_action": 1},
        },
    )
    assert response.status_code == 400, response.content
    assert "campaign" in response.json()["error"]["details"]
    assert not Communication.objects.exists()


def test_other_campaign_keys_are_still_taken(
    rights_setup, rights_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            rights_manager,
            "/api/v1/communications/",
            {
                "imprint": rights_setup.audience.imprint_id,
                "communication_type": "rights-confirmation",
                "audience": rights_setup.audience.pk,
                "work": rights_setup.work.pk,
                "campaign": {"name": "Autumn", "code": "AUT-26", "channel_note": "x"},
            },
        )
    assert response.status_code == 201, response.content
    comm = Communication.objects.get()
    assert comm.campaign == {"name": "Autumn", "code": "AUT-26", "channel_note": "x"}


def test_the_service_refuses_them_from_any_caller(rights_setup, rights_manager):
    with pytest.raises(ValidationError) as refused:
        communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
            campaign={"due_on": datetime.date(2026, 12, 1).isoformat()},
        )
    assert "due_on" in " ".join(refused.value.message_dict["campaign"])
    assert not Communication.objects.exists()


def test_the_schema_documents_them_as_read_only():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for path, method in (
        ("/api/v1/communications/", "post"),
        ("/api/v1/titles/{id}/launch/", "post"),
    ):
        body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
        campaign = components[ref]["properties"]["campaign"]
        assert campaign["type"] == "object"
        for key in ("reminder_for_action", "due_on"):
            assert campaign["properties"][key]["readOnly"] is True, (path, campaign)
            assert key in campaign["description"]
