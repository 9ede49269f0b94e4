"""The client's requests against the contract files, and XSRF handling (reference §2)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import cache

from integration.connectors.exstream.client import ExstreamClient
from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication
from sandbox.exstream.catalogue import communication_id_for
from tests.integration.connectors.exstream.conftest import path_matches

RIGHTS = "Rights confirmation letter"
STANDARD_HEADERS = {
    "authorization",
    "content-type",
    "accept",
    "x-xsrf-token",
    "cookie",
    "user-agent",
    "accept-encoding",
    "connection",
    "content-length",
}


class Recording(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        return super().send(request, **kwargs)


def driver(key_field: str = "customer.customerNumber") -> dict[str, Any]:
    return {
        key_field: "msg-1",
        "recipientName": "Ada",
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "isbn": "978",
        "territories": "UK",
        "rightsGranted": "Print",
        "confirmByDate": "2026-12-01",
        "recipientEmail": "ada@example.test",
    }


@pytest.mark.django_db(transaction=True)
def test_requests_follow_the_openapi_contract(exstream, openapi, sleeps):
    session = Recording()
    client = ExstreamClient(session=session, sleep=sleeps.append)
    client.generate(
        domain="preview",
        communication_id=communication_id_for(RIGHTS),
        driver_data_source="RightsConfirmationLetterDriver",
        driver_data=driver(),
    )
    comm = ExstreamCommunication(
        communication_id=communication_id_for(RIGHTS), prod_dsn="RightsConfirmationLetterDriver"
    )
    result = client.submit_batch(external_id="req-1", communication=comm, records=[driver()])
    for _ in range(3):
        client.get_job(result.job_id)
    for fi in client.list_flow_instances(result.job_id):
        for step in client.list_flow_steps(str(fi["id"])):
            if step["deliveryFileRetrievable"]:
                client.delivery_file(str(step["id"]))
    client.find_jobs_by_external_id("req-1")

    generate = next(r for r in session.sent if r.url and "/generate" in r.url)
    params = openapi["ondemand"]["paths"]["/api/v1/inputs/ondemand/{domain}/generate"]["post"]
    header_params = {p["name"] for p in params["parameters"] if p["in"] == "header"}
    headers = [p for p in params["parameters"] if p["in"] == "header"]
    required = {p["name"] for p in headers if p.get("required")}
    sent_headers = set(generate.headers)
    assert required <= sent_headers
    documented = STANDARD_HEADERS | {h.lower() for h in header_params}
    assert {h.lower() for h in sent_headers} <= documented
    assert generate.headers["X-Xsrf-Token"]  # sent on every orchestration POST
    body = json.loads(generate.body or b"{}")
    assert body["customer"]["customerNumber"] == "msg-1"  # nested as the sample
    assert not [k for k in body if "." in k] and "customerKey" not in body

    runtime_paths = openapi["runtime"]["paths"]
    for request in session.sent:
        path = urlsplit(request.url or "").path.split("/sandbox/exstream", 1)[-1]
        if "/orchestration/api/v1/runtime/" not in path:
            continue
        spec_path = path.removeprefix("/orchestration")
        matches = [
            template
            for template, ops in runtime_paths.items()
            if path_matches(template, spec_path) and (request.method or "").lower() in ops
        ]
        assert matches, f"{request.method} {spec_path} is not in the runtime OpenAPI"
    batch = next(r for r in session.sent if r.url and "/inputs/batch/" in r.url)
    assert batch.headers["X-Xsrf-Token"] and "XSRF-TOKEN=" in batch.headers["Cookie"]


def _response(status: int, body: Any = None, cookies: dict[str, str] | None = None) -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body if body is not None else {}).encode()
    response.headers["Content-Type"] = "application/json"
    for name, value in (cookies or {}).items():
        response.cookies.set(name, value)
    return response


class Scripted(requests.Session):
    """Answers by path: a list of responses per path suffix, consumed in order."""

    def __init__(self, script: dict[str, list[Any]]) -> None:
        super().__init__()
        self.script = script
        self.calls: list[tuple[str, dict[str, str]]] = []

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append((str(url), dict(kwargs.get("headers") or {})))
        for suffix, answers in self.script.items():
            if str(url).endswith(suffix):
                response = answers.pop(0) if len(answers) > 1 else answers[0]
                response.url = str(url)
                return response
        raise AssertionError(f"unexpected call {url!r}")


def _client(script: dict[str, list[Any]]) -> tuple[ExstreamClient, Scripted]:
    cache.clear()
    session = Scripted(
        {"/oauth2/token": [_response(200, {"access_token": "t", "expires_in": 900})], **script}
    )
    client = ExstreamClient(
        url="https://exstream.example",
        token_endpoint="https://exstream.example/tenants/t/oauth2/token",
        client_id="id",
        client_secret="secret",
        session=session,
        sleep=lambda s: None,
        retries=0,
    )
    return client, session


FORBIDDEN = {"timestamp": "x", "status": 403, "error": "Forbidden", "message": "CSRF", "path": "/"}
STARTED = {"status": "success", "data": [{"id": "fi-1", "jobId": "j-1", "status": "started"}]}


def _batch(client: ExstreamClient) -> Any:
    return client.submit_batch(
        external_id="e",
        communication=ExstreamCommunication(communication_id="c", prod_dsn="D"),
        records=[{"customer.customerNumber": "k"}],
        domain="prod",
        channel="ch",
    )


def test_a_403_reads_the_xsrf_token_again_once_then_succeeds():
    client, session = _client(
        {
            "/version": [
                _response(200, {}, {"XSRF-TOKEN": "old"}),
                _response(200, {}, {"XSRF-TOKEN": "new"}),
            ],
            "/inputs/batch/prod/ch": [_response(403, FORBIDDEN), _response(200, STARTED)],
        }
    )
    assert _batch(client).job_id == "j-1"
    sent = [h.get("X-Xsrf-Token") for url, h in session.calls if "/inputs/batch/" in url]
    assert sent == ["old", "new"]
    assert sum(1 for url, _ in session.calls if url.endswith("/version")) == 2


@pytest.mark.parametrize(
    ("cookie", "says"),
    [("tok", "refused the XSRF token"), ("", "set no XSRF-TOKEN cookie")],
)
def test_a_second_403_names_the_xsrf_token_not_permissions(cookie, says):
    cookies = {"XSRF-TOKEN": cookie} if cookie else {}
    client, _ = _client(
        {
            "/version": [_response(200, {}, cookies)],
            "/inputs/batch/prod/ch": [_response(403, FORBIDDEN)],
        }
    )
    with pytest.raises(ExternalServiceError) as info:
        _batch(client)
    assert info.value.status == 403 and not info.value.retryable
    assert says in info.value.message and "XSRF" in info.value.message
    assert "lack permission" not in info.value.message


def test_catalogue_chain_reads_links_in_any_order_and_the_typed_driver():
    links = {
        "status": "success",
        "data": [
            {
                "linkSubjectId": "c1",
                "subjectVersion": 2,
                "linkObjectId": "s1",
                "typeId": "samplefile",
            },
            {
                "linkSubjectId": "c1",
                "subjectVersion": 2,
                "linkObjectId": "set1",
                "typeId": "exstrcommunicationset",
            },
        ],
    }
    client, _ = _client({"/design/api/v1/links/prod": [_response(200, links)]})
    assert client.communication_set_id("prod", "c1") == "set1"
    assert client.sample_file_id("prod", "c1") == "s1"


def test_an_undocumented_response_is_a_readable_non_retryable_error():
    client, _ = _client(
        {"/design/api/v1/links/prod": [_response(200, {"data": [{"id": "x", "type": "y"}]})]}
    )
    with pytest.raises(ExternalServiceError) as info:
        client.communication_set_id("prod", "c1")
    assert "missing the required field 'linkSubjectId'" in info.value.message
    assert not info.value.retryable


def test_a_server_without_the_version_endpoint_still_gets_its_generate_requests():
    """XSRF on ``generate`` is unconfirmed (reference §2): the SDK sends only the bearer token.
    A server that does not serve ``/orchestration/api/v1/version`` (404) is asked without the
    XSRF token instead of failing every preview; a 403 would still name the token."""
    generated = {
        "status": "success",
        "data": [{"content": "JVBERg==", "mimeType": "application/pdf"}],
    }
    client, session = _client(
        {
            "/version": [_response(404, {"status": 404, "error": "Not Found", "message": "x"})],
            "/inputs/ondemand/prod/generate": [_response(200, generated)],
        }
    )
    outputs = client.generate(
        domain="prod", communication_id="c", driver_data_source="D", driver_data={"a": "1"}
    )
    assert outputs[0].content == b"%PDF"
    sent = [h for url, h in session.calls if url.endswith("/generate")]
    assert sent and "X-Xsrf-Token" not in sent[0]


def test_a_batch_answer_without_a_job_id_is_completed_from_its_flow_instance():
    """The batch response is known from client code only (reference §5). Its flow instances are
    documented objects whose ``jobId`` the runtime API serves (``flow-instances/{id}``, §6): an
    answer that leaves it out is completed from there, never recorded as job ''."""
    bare = {"status": "success", "data": [{"id": "fi-1", "status": "started"}]}
    detail = {"status": "success", "data": {"id": "fi-1", "jobId": "j-9", "status": "started"}}
    client, _ = _client(
        {
            "/version": [_response(200, {}, {"XSRF-TOKEN": "t"})],
            "/inputs/batch/prod/ch": [_response(200, bare)],
            "/runtime/prod/flow-instances/fi-1": [_response(200, detail)],
        }
    )
    result = _batch(client)
    assert result.job_id == "j-9" and result.flow_instance_ids == ["fi-1"]


def test_a_batch_answer_naming_no_job_anywhere_is_a_clear_error():
    bare = {"status": "success", "data": [{"id": "fi-1", "status": "started"}]}
    detail = {"status": "success", "data": {"id": "fi-1", "status": "started"}}
    client, _ = _client(
        {
            "/version": [_response(200, {}, {"XSRF-TOKEN": "t"})],
            "/inputs/batch/prod/ch": [_response(200, bare)],
            "/runtime/prod/flow-instances/fi-1": [_response(200, detail)],
        }
    )
    with pytest.raises(ExternalServiceError, match="no job id") as info:
        _batch(client)
    # Retryable: the next attempt first asks Exstream for the batch (reconcile) before sending.
    assert info.value.retryable
