"""After a timeout the worker asks whether its batch already reached Exstream before sending it
again. Reference §10: jobs are filterable by ``externalId``, "but setting it from a channel
submission is unconfirmed"; the batch response sample in §5 shows ``"externalId": null``. So a
server that never sets it must not make Colophon send the batch twice."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import requests

from integration.models import ExstreamCommunication
from tests.integration.connectors.exstream.test_paging_contract import Server, _client, _response

PROD = "/orchestration/api/v1/runtime/prod"


def _spec_server(*, inputs: dict[str, bytes], jobs: list[dict[str, Any]]) -> Server:
    """Runtime lists as the OpenAPI has them; jobs carry ``externalId: null`` (the §5 sample)."""

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        pairs = dict(
            part.split(":", 1) for part in str(params.get("filter", "")).split(";") if part
        )
        if path == f"{PROD}/jobs":
            found = [
                j
                for j in jobs
                if "externalId" not in pairs
                and pairs.get("channel", j["channel"]) == j["channel"]
                and j["startDate"] >= pairs.get("startDateStart", "")
            ]
            return _response({"status": "success", "data": found, "page": {"totalElements": 1}})
        if path == f"{PROD}/flow-instances":
            data = [{"id": f"fi-{pairs['jobId']}", "jobId": pairs["jobId"], "status": "complete"}]
            return _response({"status": "success", "data": data, "page": {"totalElements": 1}})
        if path.startswith(f"{PROD}/flow-instances/") and path.endswith("/input"):
            response = requests.Response()
            response.status_code = 200
            response._content = inputs[path.split("/")[-2]]
            return response
        raise AssertionError(f"unexpected {path} {params}")

    return Server(answer)


def _job(job_id: str, channel: str = "colophon-batch") -> dict[str, Any]:
    return {"id": job_id, "channel": channel, "status": "complete", "externalId": None,
            "startDate": "2026-11-27"}  # fmt: skip


def _body(external_id: str) -> bytes:
    return json.dumps({"externalId": external_id, "records": [{"customer": {"n": "1"}}]}).encode()


@pytest.mark.parametrize("since", [None, datetime.date(2026, 11, 26)])
def test_a_batch_is_found_by_its_input_when_jobs_carry_no_external_id(since):
    server = _spec_server(
        jobs=[_job("j-longer"), _job("j-ours"), _job("j-elsewhere", channel="other")],
        inputs={"fi-j-longer": _body("chunk-420"), "fi-j-ours": _body("chunk-42")},
    )
    client = _client(server)
    found = client.find_jobs_by_external_id(
        "chunk-42", domain="prod", channel="colophon-batch", since=since
    )
    assert [j["id"] for j in found] == ["j-ours"]
    assert not client.find_jobs_by_external_id(
        "chunk-4", domain="prod", channel="colophon-batch", since=since
    )
    xml = b'<?xml version="1.0"?><batch externalId="chunk-9" communicationId="c"><r/></batch>'
    server = _spec_server(jobs=[_job("j-xml")], inputs={"fi-j-xml": xml})
    found = _client(server).find_jobs_by_external_id(
        "chunk-9", domain="prod", channel="colophon-batch"
    )
    assert [j["id"] for j in found] == ["j-xml"]


def test_the_batch_body_names_the_external_id_it_is_found_by():
    """What the fallback looks for is what ``submit_batch`` sends."""
    sent: list[bytes] = []

    def answer(path: str, params: dict[str, Any]) -> requests.Response:
        if path.endswith("/version"):
            return _response({})
        return _response({"status": "success", "data": [{"id": "fi", "jobId": "j"}]})

    server = Server(answer)
    original = server.request

    def request(method, url, **kwargs):  # type: ignore[no-untyped-def]
        if "/inputs/batch/" in str(url):
            sent.append(kwargs.get("data") or b"")
        return original(method, url, **kwargs)

    server.request = request  # type: ignore[method-assign]
    _client(server).submit_batch(
        external_id="chunk-42",
        communication=ExstreamCommunication(communication_id="c", prod_dsn="D"),
        records=[{"customer.customerNumber": "k"}],
        domain="prod",
        channel="colophon-batch",
    )
    assert json.loads(sent[-1])["externalId"] == "chunk-42"


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_serves_the_channel_filter_and_the_flow_instance_input(make_client, openapi):
    from sandbox.exstream.catalogue import communication_id_for
    from tests.integration.connectors.exstream.conftest import path_matches

    client = make_client()
    comm = ExstreamCommunication(
        communication_id=communication_id_for("Rights confirmation letter"),
        prod_dsn="RightsConfirmationLetterDriver",
    )
    record = {
        "customer.customerNumber": "k-1",
        "recipientName": "Ada",
        "recipientEmail": "ada@example.test",
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "isbn": "9780000000001",
        "territories": "UK",
        "rightsGranted": "Print",
        "confirmByDate": "2026-12-01",
    }
    result = client.submit_batch(external_id="chunk-7", communication=comm, records=[record])
    runtime = "/orchestration/api/v1/runtime/production"
    today = datetime.date.today()
    on_channel = client.get_json(
        f"{runtime}/jobs", filter=f"channel:colophon-batch;startDateStart:{today:%Y-%m-%d}"
    )
    assert [j["id"] for j in on_channel["data"]] == [result.job_id]
    other = client.get_json(f"{runtime}/jobs", filter="channel:another-channel")
    assert other["data"] == []
    path = f"{runtime}/flow-instances/{result.flow_instance_ids[0]}/input"
    assert any(
        path_matches(t, path.removeprefix("/orchestration")) and "get" in ops
        for t, ops in openapi["runtime"]["paths"].items()
    )
    assert b"chunk-7" in client.call("GET", path).content
