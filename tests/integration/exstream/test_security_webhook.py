"""The signed webhook under hostile (or broken) senders: a body that hides a NUL character in
a JSON escape (``\\u0000``, which PostgreSQL cannot store in text or jsonb) and a
``webhook-id`` longer than the stored id are refused with a 400 that says why and nothing is
stored — on SQLite and PostgreSQL alike, never a server error. Replays and bad signatures are
covered by ``test_webhook.py``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integration.models import InboundEvent
from tests.integration.exstream.test_webhook import OPENED, post
from tests.integration.exstream.test_webhook import secrets as secrets

pytestmark = pytest.mark.django_db


def _with(path: tuple[str, ...], value: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(OPENED)
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "path",
    [("expctr", "schemaType"), ("user", "customerKey"), ("exstreamEmailStatistics", "eventType")],
)
def test_a_nul_escaped_in_the_json_is_400_and_not_stored(path):
    body = _with(path, "Exstream-Email-OPEN\u0000")
    response = post(body)
    assert response.status_code == 400, response.content
    assert "NUL" in response.json()["error"]["message"]
    assert not InboundEvent.objects.exists()


def test_a_nul_in_a_key_is_refused_too():
    body: Any = copy.deepcopy(OPENED)
    body["user"]["bad\u0000key"] = "x"
    assert post(body).status_code == 400
    assert not InboundEvent.objects.exists()


def test_an_escaped_backslash_u_is_text_not_a_nul():
    body = _with(("user", "email"), "ada\\u0000@example.test")  # a backslash, then u0000
    assert post(body).status_code == 202


def test_an_overlong_webhook_id_is_400_and_not_stored():
    response = post(OPENED, msg_id="m" * 201)
    assert response.status_code == 400, response.content
    assert "webhook-id" in response.json()["error"]["message"]
    assert not InboundEvent.objects.exists()
