"""A NUL character in a JSON body (the escape ``\\u0000``) in a free-form field — an offer,
a campaign, a launch's campaign, a mapping's transforms — was a server error on PostgreSQL
(jsonb cannot hold it) and a stored row on SQLite. The API's JSON parser now refuses such a
body with a 400 that says why, on both, and nothing is created."""

from __future__ import annotations

import pytest
from django.test import Client

from integration.models import Communication, FieldMapping

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "extra",
    [
        {"campaign": {"name": "Autumn\u0000"}},
        {"offer": {"description": "20% off\u0000"}},
        {"campaign": {"list": [{"deep": "x\u0000"}]}},
        {"campaign": {"key\u0000": "v"}},
        {"name": "Name\u0000"},
    ],
)
def test_communication_create_refuses_a_nul_in_any_field(rights_setup, rights_manager, extra):
    response = _client(rights_manager).post(
        "/api/v1/communications/",
        {
            "imprint": rights_setup.audience.imprint_id,
            "communication_type": "rights-confirmation",
            "audience": rights_setup.audience.pk,
            "work": rights_setup.work.pk,
            **extra,
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert not Communication.objects.exists()


def test_the_launch_api_refuses_it(rights_setup, marketing):
    response = _client(marketing).post(
        f"/api/v1/titles/{rights_setup.work.pk}/launch/",
        {
            "territory": "GB",
            "retailer_audience": rights_setup.audience.pk,
            "campaign": {"link": "https://a.example/\u0000"},
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "NUL" in response.json()["error"]["message"]
    assert not Communication.objects.exists()


def test_a_setup_json_field_refuses_it(rights_setup, admin_a):
    mapping = rights_setup.template.mappings.get(driver_field="workTitle")
    response = _client(admin_a).patch(
        f"/api/v1/mappings/{mapping.pk}/",
        {"transforms": [{"op": "prefix", "value": "x\u0000"}]},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert FieldMapping.objects.get(pk=mapping.pk).transforms == mapping.transforms
