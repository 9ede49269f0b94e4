"""The client's schema question, with the transport stubbed at the HTTP choke point's session."""

from __future__ import annotations

import json
import re
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
    assert works["variables"] == {"since": "2026-11-01"}
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


ERROR_TYPE = "type Error {\n  field: String!\n  message: String!\n  messages: [String!]!\n}"


class SchemaServer(requests.Session):
    """A GraphQL server with the given SDL: answers introspection from it, refuses a document
    that does not validate against it (as any GraphQL server does), and otherwise answers the
    mutation with the payload ``errors`` given."""

    def __init__(self, sdl: str, errors: list[dict[str, Any]]) -> None:
        super().__init__()
        from graphql import build_schema

        self.schema = build_schema(sdl)
        self.errors = errors
        self.sent: list[str] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        from graphql import graphql_sync, parse, validate

        body = kwargs.get("json") or {}
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.url = url
        if body.get("operationName") == "IntrospectionQuery":
            result = graphql_sync(self.schema, body["query"])
            payload: dict[str, Any] = {"data": result.data}
        else:
            self.sent.append(body["query"])
            problems = validate(self.schema, parse(body["query"]))
            if problems:
                payload = {"errors": [{"message": p.message} for p in problems]}
            else:
                root = re.search(r"\{\s*(\w+)", body["query"])
                assert root is not None
                field = root.group(1)
                payload = {"data": {field: {"clientMutationId": "x", "errors": self.errors}}}
        response._content = json.dumps(payload).encode()
        return response


@pytest.mark.parametrize(
    ("error_type", "errors", "says"),
    [
        (
            "type Error {\n  attribute: String!\n  message: String!\n}",
            [{"attribute": "slippedDate", "message": "is invalid"}],
            "slippedDate: is invalid",
        ),
        (
            "type Error {\n  field: String!\n  messages: [String!]!\n}",
            [{"field": "sentOn", "messages": ["too early", "not a date"]}],
            "sentOn: too early; not a date",
        ),
    ],
)
def test_write_back_asks_for_the_error_fields_this_server_has(error_type, errors, says):
    """Reference §5/§8: payload error shapes disagree between examples ({field message},
    {attribute message}, {field messages}); introspect before selecting ``errors``. A mutation
    selecting a field the server's Error type lacks is refused whole."""
    from tests.integration.connectors.consonance.test_contract import _read

    sdl = _read("consonance-schema.graphql")
    assert ERROR_TYPE in sdl, "the reference's Error type changed: the test would prove nothing"
    session = SchemaServer(sdl.replace(ERROR_TYPE, error_type), errors)
    client = ConsonanceClient(url="https://consonance.test", key="k" * 32, session=session)
    with pytest.raises(ExternalServiceError) as info:
        client.mutate("UpdateDeliveryDate", {"id": 1, "slippedDate": "2026-12-01"})
    assert "refused the change" in str(info.value) and says in str(info.value)
    assert not info.value.retryable


def test_graphql_requests_carry_the_documented_headers_and_body():
    """Reference §1: ``Authorization: Bearer <key>``, body ``{"query", "variables"}``,
    ``Content-Type: application/json; charset=utf-8``."""
    sent: list[requests.PreparedRequest] = []

    class Recording(IntrospectionRefused):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def,override]
            sent.append(request)
            response = requests.Response()
            response.status_code = 200
            response.headers["Content-Type"] = "application/json"
            response._content = b'{"data": {"works": []}}'
            response.url = request.url
            return response

        request = requests.Session.request  # type: ignore[assignment]

    client = ConsonanceClient(url="https://consonance.test", key="k" * 32, session=Recording())
    assert list(client.works_pages(since="2026-11-01", prefetch=False)) == []
    (request,) = sent
    assert request.url == "https://consonance.test/graphql" and request.method == "POST"
    assert request.headers["Authorization"] == "Bearer " + "k" * 32
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(request.body or b"{}")
    assert {"query", "variables"} <= set(body) <= {"query", "variables", "operationName"}


def test_a_write_back_still_goes_when_introspection_is_refused_over_http():
    """Fitting the mutation is a courtesy: a server that answers the introspection query with an
    HTTP error (not GraphQL errors) still gets the documented mutation as shipped."""

    class HttpRefused(SchemaServer):
        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            if (kwargs.get("json") or {}).get("operationName") == "IntrospectionQuery":
                response = requests.Response()
                response.status_code = 400
                response._content = b"introspection is not allowed"
                response.url = url
                return response
            return super().request(method, url, *args, **kwargs)

    from tests.integration.connectors.consonance.test_contract import _read

    session = HttpRefused(_read("consonance-schema.graphql"), [])
    client = ConsonanceClient(url="https://consonance.test", key="k" * 32, session=session)
    payload = client.mutate("UpdateDeliveryDate", {"id": 1, "slippedDate": "2026-12-01"})
    assert payload["clientMutationId"] == "x"
    assert "errors { field message }" in " ".join(session.sent[-1].split())
