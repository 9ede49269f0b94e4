"""Paging and query parameters against servers that follow the contract files, not the sandbox.

* CXI ``email-event/{tenant}/{domain}/content`` (reference §7) takes ``connectorType``,
  ``lastUpdateTimeStart`` and ``lastUpdateTimeEnd`` and answers ``{status, data}``: no paging is
  documented, so a server answers the whole window whatever ``offset``/``count`` say.
* DAS resources (§3) take ``count``/``offset``; whether a server caps ``count`` is not said.
* Runtime lists (§6, OpenAPI ``PageResponse*``) answer a ``page`` envelope; the default page size
  of a request without ``count`` is not said.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import requests
from django.core.cache import cache

from integration.connectors.exstream.client import ExstreamClient

DOCUMENTED_CXI_PARAMS = {"connectorType", "lastUpdateTimeStart", "lastUpdateTimeEnd"}


def _response(body: Any, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


class Server(requests.Session):
    """Answers by path through ``answer(path, params)``; gives up after ``limit`` calls so a
    client that never stops paging fails the test instead of hanging it."""

    def __init__(self, answer: Any, limit: int = 20) -> None:
        super().__init__()
        self.answer = answer
        self.limit = limit
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        url = str(url)
        if url.endswith("/oauth2/token"):
            return _response({"access_token": "t", "expires_in": 900})
        params = dict(kwargs.get("params") or {})
        self.calls.append((url, params))
        if len(self.calls) > self.limit:
            raise AssertionError(f"the client kept asking: {len(self.calls)} calls to {url}")
        response = self.answer(url.split("exstream.example", 1)[1], params)
        response.url = url
        return response


def _client(server: Server) -> ExstreamClient:
    cache.clear()
    return ExstreamClient(
        url="https://exstream.example",
        token_endpoint="https://exstream.example/tenants/t/oauth2/token",
        client_id="id",
        client_secret="secret",
        session=server,
        sleep=lambda s: None,
        retries=0,
    )


def _event(n: int) -> dict[str, Any]:
    return {"eventId": f"ev-{n}", "custMetadataId": f"m-{n}", "eventType": "POST"}


def _whole_window(events: list[dict[str, Any]]) -> Any:
    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        assert "/ei/api/v1/eventmetrics/email-event/" in path
        return _response({"status": "success", "data": events})

    return answer


def test_email_events_from_a_server_that_answers_the_whole_window_are_read_once():
    events = [_event(n) for n in range(5)]
    server = Server(_whole_window(events))
    client = _client(server)
    read = list(client.email_events(start_ms=0, end_ms=10_000, domain="prod", page_size=2))
    assert [e["eventId"] for e in read] == [e["eventId"] for e in events]
    assert len(server.calls) == 1


def test_email_events_are_asked_with_the_documented_parameters_only():
    server = Server(_whole_window([_event(1)]))
    client = _client(server)
    start = datetime.datetime(2026, 11, 27, 9, 30, tzinfo=datetime.UTC)
    end = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)
    list(
        client.email_events(
            start_ms=int(start.timestamp() * 1000), end_ms=int(end.timestamp() * 1000)
        )
    )
    (_, params), *_ = server.calls
    assert set(params) == DOCUMENTED_CXI_PARAMS
    # Times as ISO 8601 date-times with an offset (the origin spec's OffsetDateTime).
    assert datetime.datetime.fromisoformat(params["lastUpdateTimeStart"]) == start
    assert datetime.datetime.fromisoformat(params["lastUpdateTimeEnd"]) == end


@pytest.mark.parametrize("refusal", [400, 500])
def test_email_events_fall_back_to_epoch_milliseconds_when_iso_times_are_refused(refusal):
    seen: list[str] = []

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        seen.append(str(params["lastUpdateTimeStart"]))
        if not str(params["lastUpdateTimeStart"]).isdigit():
            return _response({"status": refusal, "error": "Refused", "message": "x"}, refusal)
        return _response({"status": "success", "data": [_event(1)]})

    client = _client(Server(answer))
    read = list(client.email_events(start_ms=1_000, end_ms=2_000, domain="prod"))
    assert [e["eventId"] for e in read] == ["ev-1"]
    assert not seen[0].isdigit() and seen[-1] == "1000"


def test_email_events_follow_a_page_envelope_when_a_server_pages():
    events = [_event(n) for n in range(5)]

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        offset, count = int(params.get("offset", 0)), int(params.get("count", 2))
        page = events[offset : offset + min(count, 2)]
        return _response(
            {"status": "success", "data": page, "page": {"totalElements": 5, "pageSize": 2}}
        )

    read = list(_client(Server(answer)).email_events(start_ms=0, end_ms=1, domain="prod"))
    assert [e["eventId"] for e in read] == [e["eventId"] for e in events]


def _paged(items: list[dict[str, Any]], cap: int) -> Any:
    """A list endpoint that caps every page at ``cap`` and reports the total."""

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        offset = int(params.get("offset", 0))
        count = min(int(params.get("count", cap)), cap)
        return _response(
            {
                "status": "success",
                "data": items[offset : offset + count],
                "page": {"totalElements": len(items), "pageSize": count, "pageOffset": offset},
            }
        )

    return answer


def test_approved_communications_are_all_read_when_the_server_caps_count():
    resources = [{"id": f"c-{n}", "name": f"C{n}", "type": "exstrapplication"} for n in range(7)]
    client = _client(Server(_paged(resources, cap=3)))
    read = client.list_approved_communications("prod")
    assert [r.id for r in read] == [r["id"] for r in resources]


def test_flow_instances_and_steps_are_read_to_the_last_page():
    instances = [{"id": f"fi-{n}", "jobId": "j-1", "status": "complete"} for n in range(5)]
    steps = [
        {"id": f"s-{n}", "flowInstanceId": "fi-0", "status": "complete", "stepType": "output"}
        for n in range(5)
    ]

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        return _paged(instances if path.endswith("/flow-instances") else steps, cap=2)(path, params)

    client = _client(Server(answer))
    assert [i["id"] for i in client.list_flow_instances("j-1", domain="prod")] == [
        i["id"] for i in instances
    ]
    assert [s["id"] for s in client.list_flow_steps("fi-0", domain="prod")] == [
        s["id"] for s in steps
    ]


def test_a_runtime_list_that_ignores_offset_is_read_once():
    instances = [{"id": f"fi-{n}", "jobId": "j-1", "status": "complete"} for n in range(3)]

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        # Claims more than it ever serves, and serves the first page whatever the offset.
        return _response({"status": "success", "data": instances, "page": {"totalElements": 10}})

    server = Server(answer)
    read = _client(server).list_flow_instances("j-1", domain="prod")
    assert [i["id"] for i in read] == ["fi-0", "fi-1", "fi-2"]
    assert len(server.calls) <= 2


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_serves_the_whole_window_whatever_offset_and_count_say(make_client):
    from django.utils import timezone

    from sandbox.models import ExstreamSandboxEmailEvent

    now = timezone.now()
    for n in range(3):
        ExstreamSandboxEmailEvent.objects.create(
            event_id=f"ev-{n}",
            domain="production",
            job_id="job-1",
            customer_key=f"k-{n}",
            event_type="POST",
            event_date=now,
            last_update_time=now,
        )
    client = make_client()
    body = client.get_json(
        "/ei/api/v1/eventmetrics/email-event/colophon/production/content",
        connectorType="EMAIL",
        lastUpdateTimeStart=(now - datetime.timedelta(minutes=1)).isoformat(),
        lastUpdateTimeEnd=(now + datetime.timedelta(minutes=1)).isoformat(),
        offset=1,
        count=1,
    )
    assert set(body) == {"status", "data"}
    assert sorted(e["eventId"] for e in body["data"]) == ["ev-0", "ev-1", "ev-2"]


def test_runtime_list_queries_use_only_parameters_and_filter_keys_of_the_openapi(openapi):
    """Every query parameter the client sends to a runtime list is the operation's own or a
    property of its ``filterRequest``; every ``filter`` key is a property of that request's
    filter schema (JobFilter, FlowInstanceFilter, FlowStepFilter)."""
    from tests.integration.connectors.exstream.conftest import path_matches

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        if path.endswith("/jobs") and "channel" in str(params.get("filter")):
            job = {"id": "j-1", "status": "complete", "channel": "c"}
            return _response({"status": "success", "data": [job], "page": {"totalElements": 1}})
        if path.endswith("/flow-instances"):
            data = [{"id": "fi-1", "jobId": "j-1", "status": "complete"}]
            return _response({"status": "success", "data": data, "page": {"totalElements": 1}})
        if path.endswith("/input"):
            return _response({"externalId": "other"})
        return _response({"status": "success", "data": [], "page": {"totalElements": 0}})

    server = Server(answer)
    client = _client(server)
    client.find_jobs_by_external_id(
        "x", domain="prod", channel="c", since=datetime.date(2026, 11, 1)
    )
    client.list_flow_instances("j-1", domain="prod")
    client.list_flow_steps("fi-1", domain="prod")
    spec = openapi["runtime"]
    schemas = spec["components"]["schemas"]
    checked = 0
    for url, params in server.calls:
        path = url.split("exstream.example/orchestration", 1)[-1]
        if "/api/v1/runtime/" not in path:
            continue
        template = next(t for t in spec["paths"] if path_matches(t, path))
        operation = spec["paths"][template]["get"]
        allowed: set[str] = set()
        filter_keys: set[str] = set()
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            ref = parameter.get("schema", {}).get("$ref", "")
            if ref:
                request_schema = schemas[ref.rsplit("/", 1)[-1]]
                allowed |= set(request_schema["properties"])
                filter_ref = request_schema["properties"]["filter"]["$ref"]
                filter_keys = set(schemas[filter_ref.rsplit("/", 1)[-1]]["properties"])
            else:
                allowed.add(parameter["name"])
        assert set(params) <= allowed, (template, set(params) - allowed)
        sent_keys = {p.split(":", 1)[0] for p in str(params.get("filter", "")).split(";") if p}
        assert sent_keys <= filter_keys, (template, sent_keys - filter_keys)
        checked += 1
    assert checked >= 4
    steps = [p for url, p in server.calls if url.endswith("/flow-steps")]
    assert steps and all(p.get("checkArtifacts") == "true" for p in steps)
