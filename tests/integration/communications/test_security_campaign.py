"""A campaign link goes into the driver data of every message (``campaign.link``: the link in
a launch e-mail, the reading copy of advance readers). The screens take only a web address;
the REST API (``/api/v1/communications/``, ``/api/v1/titles/{id}/launch/``) took any text, so
a ``javascript:`` or ``data:`` link could be drafted into a letter. The service now refuses
anything but an http(s) address, whichever way it comes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from integration.communications.create import communication_create
from integration.models import Communication
from tests.factories import communication_type

BAD_LINKS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/phish",
    "not a link",
    ["https://a.example"],
]


@pytest.mark.parametrize("link", BAD_LINKS)
def test_api_refuses_a_campaign_link_that_is_not_a_web_address(rights_setup, rights_manager, link):
    client = Client()
    client.force_login(rights_manager)
    response = client.post(
        "/api/v1/communications/",
        {
            "imprint": rights_setup.audience.imprint_id,
            "communication_type": "rights-confirmation",
            "audience": rights_setup.audience.pk,
            "work": rights_setup.work.pk,
            "campaign": {"name": "Autumn", "link": link},
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "campaign" in response.json()["error"]["details"]
    assert not Communication.objects.exists()


def test_service_refuses_it_and_takes_a_web_address(
    rights_setup, rights_manager, django_capture_on_commit_callbacks
):
    kwargs = {
        "actor": rights_manager,
        "imprint": rights_setup.audience.imprint,
        "communication_type": communication_type("rights-confirmation"),
        "audience": rights_setup.audience,
        "work": rights_setup.work,
    }
    with pytest.raises(ValidationError) as refused:
        communication_create(**kwargs, campaign={"link": "javascript:alert(1)"})
    assert "campaign" in refused.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        comm = communication_create(**kwargs, campaign={"link": "https://readers.example.test/x"})
    assert comm.campaign == {"link": "https://readers.example.test/x"}
