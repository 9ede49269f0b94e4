"""The sandbox's input endpoints and ``GET flow-instances/{id}`` checked against the contract
files: the batch channel's ``driverDataSource`` (reference §3, §5), the flow instance served
exactly as the runtime OpenAPI's schema, and XML driver data (§4, Appendix A). Colophon's client
runs against the sandbox over real HTTP."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from integration.connectors.exstream.client import ExstreamClient
from integration.connectors.exstream.driver import XML, parse_sample
from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication
from sandbox.exstream.catalogue import communication_id_for, sample_id_for
from sandbox.exstream.xml_driver import XML_ROOT
from sandbox.models import ExstreamSandboxCommunication, ExstreamSandboxJob
from tests.integration.connectors.exstream.conftest import (
    REFERENCE,
    schema_errors,
    schema_properties,
)
from tests.integration.connectors.exstream.test_client_contract import Recording

pytestmark = pytest.mark.django_db(transaction=True)

RIGHTS = "Rights confirmation letter"
DSN = "RightsConfirmationLetterDriver"
BATCH = "/orchestration/api/v1/inputs/batch/production/colophon-batch"
RUNTIME = "/orchestration/api/v1/runtime/production"


def record(key: str) -> dict[str, Any]:
    """A flat record (dotted keys), as Colophon stores driver data."""
    return {
        "customer.customerNumber": key,
        "recipientName": "Reader",
        "recipientEmail": "reader@example.test",
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "territories": "UK",
        "rightsGranted": "Print",
        "confirmByDate": "2026-12-01",
    }


def nested(key: str) -> dict[str, Any]:
    flat = record(key)
    return {"customer": {"customerNumber": flat.pop("customer.customerNumber")}, **flat}


def design(**fields: Any) -> ExstreamCommunication:
    return ExstreamCommunication(
        **{"communication_id": communication_id_for(RIGHTS), "prod_dsn": DSN, **fields}
    )


def response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> str:
    """The component a documented operation answers ``status`` with."""
    content = spec["paths"][path][method]["responses"][status]["content"]
    return str(next(iter(content.values()))["schema"]["$ref"]).rsplit("/", 1)[-1]


# --- GET flow-instances/{id} -----------------------------------------------------------------


def test_the_sandbox_serves_a_flow_instance_exactly_as_the_openapi_describes(make_client, openapi):
    spec = openapi["runtime"]
    name = response_schema(spec, "/api/v1/runtime/{domain}/flow-instances/{id}", "get", "200")
    client = make_client()
    result = client.submit_batch(
        external_id="fi-detail", communication=design(), records=[record("k-0")]
    )
    instance_id = result.flow_instance_ids[0]

    body = client.get_json(f"{RUNTIME}/flow-instances/{instance_id}", checkArtifacts="true")

    assert schema_errors(spec, name, body) == []
    assert set(body) <= schema_properties(spec, name)
    assert set(body["data"]) <= schema_properties(spec, "FlowInstance")  # no extension either
    assert body["data"]["id"] == instance_id and body["data"]["jobId"] == result.job_id
    assert body["data"]["externalId"] == "fi-detail"
    with pytest.raises(ExternalServiceError) as info:
        client.get_json(f"{RUNTIME}/flow-instances/{'0' * 8}-0000-4000-8000-{'0' * 12}")
    assert info.value.status == 404


class AnswersWithoutJobId(requests.Session):
    """Every call goes to the sandbox; the batch answer loses its ``jobId`` on the way back (a
    server answering §5 without it), and the flow-instance answers are kept for checking."""

    def __init__(self) -> None:
        super().__init__()
        self.flow_instances: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)
        path = urlsplit(request.url or "").path
        if "/inputs/batch/" in path and response.ok:
            body = response.json()
            for item in body["data"]:
                del item["jobId"]
            response._content = json.dumps(body).encode()
        elif re.search(r"/runtime/[^/]+/flow-instances/[^/]+$", path):
            self.flow_instances.append(response.json())
        return response


def test_a_batch_answer_without_job_id_is_completed_from_the_sandbox(exstream, openapi, sleeps):
    session = AnswersWithoutJobId()
    client = ExstreamClient(session=session, sleep=sleeps.append)

    result = client.submit_batch(
        external_id="no-job-id", communication=design(), records=[record("k-1")]
    )

    job = ExstreamSandboxJob.objects.get(external_id="no-job-id")
    assert result.job_id == job.job_id and result.flow_instance_ids == [job.flow_instance_id]
    assert all("jobId" not in i for i in result.flow_instances)  # it came from the runtime API
    assert len(session.flow_instances) == 1
    answer = session.flow_instances[0]
    assert schema_errors(openapi["runtime"], "DataResponseFlowInstance", answer) == []


# --- the batch channel's driverDataSource ----------------------------------------------------


def _post_batch(client: ExstreamClient, header: str | None, in_body: str | None) -> Any:
    body: dict[str, Any] = {
        "externalId": "dsn-check",
        "communicationId": communication_id_for(RIGHTS),
        "records": [nested("d-1")],
    }
    if in_body is not None:
        body["driverDataSource"] = in_body
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["driverDataSource"] = header
    return client.call("POST", BATCH, xsrf=True, headers=headers, json=body, retries=0)


def test_driver_data_source_is_the_header_the_contract_requires(openapi):
    """What the sandbox holds the batch to is the on-demand contract's required header."""
    generate = openapi["ondemand"]["paths"]["/api/v1/inputs/ondemand/{domain}/generate"]["post"]
    headers = [p for p in generate["parameters"] if p["in"] == "header"]
    assert "driverDataSource" in {p["name"] for p in headers if p.get("required")}
    section3 = (REFERENCE / "exstream-api.md").read_text().split("## 3.", 1)[1].split("## 4.")[0]
    assert "`prodDsn` is the value for the `driverDataSource` header" in section3


@pytest.mark.parametrize(
    ("header", "in_body", "says"),
    [
        (None, None, "driverDataSource header is required"),
        ("OtherDriver", None, "'OtherDriver' does not belong"),
        (None, "OtherDriver", "'OtherDriver' does not belong"),
        ("RightsConfirmationLetterReference", None, "is a reference data source"),
        (DSN, "OtherDriver", "'OtherDriver' does not belong"),
    ],
)
def test_the_batch_refuses_a_missing_or_foreign_driver_data_source(
    make_client, openapi, header, in_body, says
):
    spec = openapi["runtime"]
    # The refusal the orchestration OpenAPI documents for a validation failure.
    post_sort = "/api/v1/runtime/{domain}/jobs/post-sort"
    name = response_schema(spec, post_sort, "post", "400")
    refusal = spec["paths"][post_sort]["post"]["responses"]["400"]
    assert "Validation failure" in refusal["description"]
    with pytest.raises(ExternalServiceError) as info:
        _post_batch(make_client(), header, in_body)
    assert info.value.status == 400 and not info.value.retryable
    body = json.loads(info.value.body)
    assert schema_errors(spec, name, body) == []
    assert set(body) <= schema_properties(spec, name)
    assert body["status"] == "failure" and says in body["message"]
    assert not ExstreamSandboxJob.objects.exists()


@pytest.mark.parametrize(("header", "in_body"), [(DSN, None), (None, DSN), (DSN, DSN)])
def test_the_batch_takes_the_driver_data_source_from_the_header_or_the_body(
    make_client, header, in_body
):
    """§5 is silent on where the batch names it: either reading is accepted."""
    response = _post_batch(make_client(), header, in_body)
    assert response.status_code == 200
    assert ExstreamSandboxJob.objects.get().records == [nested("d-1")]


def test_the_client_sends_the_driver_data_source_and_a_refusal_is_not_retried(exstream, sleeps):
    session = Recording()
    client = ExstreamClient(session=session, sleep=sleeps.append)
    client.submit_batch(external_id="dsn-sent", communication=design(), records=[record("k-1")])
    sent = [r for r in session.sent if "/inputs/batch/" in (r.url or "")]
    assert sent[0].headers["driverDataSource"] == DSN
    assert json.loads(sent[0].body or b"{}")["driverDataSource"] == DSN

    # The design's data source was renamed in Exstream since Colophon last synced it.
    ExstreamSandboxCommunication.objects.filter(name=RIGHTS).update(dsn="RightsLetterV2Driver")
    with pytest.raises(ExternalServiceError) as info:
        client.submit_batch(external_id="dsn-old", communication=design(), records=[record("k")])
    assert info.value.status == 400 and not info.value.retryable
    assert f"{DSN!r} does not belong" in info.value.message
    assert len([r for r in session.sent if "/inputs/batch/" in (r.url or "")]) == 2  # once each
    assert sleeps == []


def test_the_client_sends_nothing_without_a_driver_data_source(exstream, sleeps):
    session = Recording()
    client = ExstreamClient(session=session, sleep=sleeps.append)
    with pytest.raises(ExternalServiceError, match="no driver data source") as info:
        client.submit_batch(external_id="no-dsn", communication=design(prod_dsn=""), records=[])
    assert not info.value.retryable
    with pytest.raises(ExternalServiceError, match="no driver data source"):
        client.generate(
            domain="preview",
            communication_id=communication_id_for(RIGHTS),
            driver_data_source="",
            driver_data=record("k"),
        )
    assert not [r for r in session.sent if "/inputs/" in (r.url or "")]


# --- XML driver data -------------------------------------------------------------------------


def test_the_reference_documents_xml_driver_data():
    text = (REFERENCE / "exstream-api.md").read_text()
    section4 = text.split("## 4.", 1)[1].split("## 5.")[0]
    assert "| `Content-Type` | `application/json` or `application/xml`" in section4
    appendix = text.split("## Appendix A", 1)[1]
    assert "typically JSON or XML" in appendix
    assert "The on-demand and batch bodies must follow that sample's shape" in appendix


@pytest.fixture
def xml_design(exstream):
    ExstreamSandboxCommunication.objects.filter(name=RIGHTS).update(driver_format="xml")
    return design(driver_format=XML, driver_root=XML_ROOT)


def test_an_xml_sample_is_served_and_read_as_xml(make_client, xml_design):
    client = make_client()
    comm = ExstreamSandboxCommunication.objects.get(domain="production", name=RIGHTS)
    content = client.resource_content("production", sample_id_for(comm.communication_set_id))
    sample = parse_sample(content)
    assert (sample.format, sample.root) == (XML, XML_ROOT)
    assert "customer.customerNumber" in {f["name"] for f in sample.fields}


def test_xml_driver_data_generates_and_batches(make_client, xml_design):
    client = make_client()
    outputs = client.generate(
        domain="preview",
        communication_id=xml_design.communication_id,
        driver_data_source=DSN,
        driver_data=record("x-1"),
        driver_format=XML,
        driver_root=XML_ROOT,
    )
    assert outputs and {o.customer_number for o in outputs} == {"x-1"}
    result = client.submit_batch(
        external_id="xml-batch", communication=xml_design, records=[record("x-1"), record("x-2")]
    )
    job = ExstreamSandboxJob.objects.get(job_id=result.job_id)
    assert job.records == [nested("x-1"), nested("x-2")]


XML_BODY = '<?xml version="1.0"?><{root}><recipientName>A</recipientName></{root}>'


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        ("application/json", json.dumps(nested("j-1")), "The driver data is JSON"),
        ("application/xml", XML_BODY.format(root="letter"), "root element is <letter>"),
        ("application/xml", "<driverData><unclosed></driverData>", "not well-formed XML"),
        (
            "application/xml",
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><driverData>&x;</driverData>',
            "DTD or entities",
        ),
    ],
)
def test_xml_driver_data_that_does_not_fit_the_sample_is_refused(
    make_client, xml_design, content_type, body, says
):
    with pytest.raises(ExternalServiceError) as info:
        make_client().call(
            "POST",
            "/orchestration/api/v1/inputs/ondemand/preview/generate",
            headers={
                "communicationId": xml_design.communication_id,
                "driverDataSource": DSN,
                "Content-Type": content_type,
            },
            data=body.encode(),
            retries=0,
        )
    assert info.value.status == 400 and not info.value.retryable
    assert says in json.loads(info.value.body)["message"]


def test_a_json_design_refuses_xml_driver_data(make_client):
    with pytest.raises(ExternalServiceError) as info:
        make_client().generate(
            domain="preview",
            communication_id=communication_id_for(RIGHTS),
            driver_data_source=DSN,
            driver_data=record("x-1"),
            driver_format=XML,
            driver_root=XML_ROOT,
        )
    assert info.value.status == 400
    assert "The driver data is XML" in info.value.message
