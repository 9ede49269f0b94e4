"""The client's schema question, with the transport stubbed at the HTTP choke point's session."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from integration.connectors.consonance.client import ConsonanceClient
from integration.lib.http import ExternalServiceError

pytestmark = pytest.mark.django_db


class IntrospectionRefused(requests.Session):
    """A server that answers introspection with GraphQL errors and works with one empty page."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        body = kwargs.get("json") or {}
        self.bodies.append(body)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        if body.get("operationName") == "IntrospectionQuery":
            payload: dict[str, Any] = {"errors": [{"message": "Introspection is disabled"}]}
        else:
            payload = {"data": {"works": []}}
        response._content = json.dumps(payload).encode()
        response.url = url
        return response


def test_refused_introspection_sends_the_documented_document_and_says_so():
    session = IntrospectionRefused()
    client = ConsonanceClient(url="https://consonance.test", key="k" * 32, session=session)
    fitted = client.fit("WorksPage")
    assert fitted.dropped == [] and fitted.missing == []
    assert "introspection failed" in client.schema_note
    assert list(client.works_pages(since="2026-11-01", prefetch=False)) == []
    works = session.bodies[-1]
    assert works["operationName"] == "WorksPage"
    assert works["variables"] == {"since": "2026-11-01", "after": None}
    assert client.fit("WorksPage") is fitted  # asked once
    assert [b["operationName"] for b in session.bodies].count("IntrospectionQuery") == 1


def test_payload_errors_in_every_documented_shape_are_readable():
    class Refusing(IntrospectionRefused):
        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            response = super().request(method, url, *args, **kwargs)
            errors = [
                {"field": "slippedDate", "message": "is invalid"},
                {"attribute": "id", "message": "not found"},
                {"field": "sentOn", "messages": ["too early", "not a date"]},
            ]
            payload = {"data": {"updateDeliveryDate": {"clientMutationId": "x", "errors": errors}}}
            response._content = json.dumps(payload).encode()
            return response

    client = ConsonanceClient(url="https://consonance.test", key="k" * 32, session=Refusing())
    with pytest.raises(ExternalServiceError) as info:
        client.mutate("UpdateDeliveryDate", {"id": 1})
    text = str(info.value)
    assert "slippedDate: is invalid" in text
    assert "id: not found" in text
    assert "sentOn: too early; not a date" in text
