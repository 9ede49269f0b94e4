"""The sandbox Exstream serves only shapes the contract files describe (OpenAPI copies and the
reference's documented objects), except the sandbox-only extensions listed in docs/exstream.md.
Every response is read over real HTTP, as Colophon reads it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from integration.connectors.exstream import models as m
from sandbox.exstream.catalogue import communication_id_for
from sandbox.models import ExstreamSandboxJob
from tests.integration.connectors.exstream.conftest import sandbox_extensions, schema_properties

pytestmark = pytest.mark.django_db(transaction=True)

RIGHTS = "Rights confirmation letter"

# Documented in exstream-api.md (section or appendix named beside each).
TOKEN = {"access_token", "refresh_token", "token_type", "expires_in"}  # §1
DOMAIN = {  # §8
    "id",
    "production",
    "description",
    "jobTracing",
    "workflow",
    "restrictApproval",
    "approvalGroups",
    "parent",
    "children",
}
RESOURCE = {  # Appendix A
    "id",
    "version",
    "name",
    "type",
    "state",
    "stateComment",
    "description",
    "createdBy",
    "createdDate",
    "lastModifiedBy",
    "lastModifiedDate",
    "metadata",
    "locked",
}
LINK = {"linkSubjectId", "subjectVersion", "linkObjectId", "typeId"}  # Appendix A
MANIFEST = {"dsnlist", "queueList"}
DATA_SOURCE = {"name", "prodDsn", "resourceId", "type"}
QUEUE = {"driver", "name", "prodFile", "use"}
GENERATED = {"content", "mimeType", "engineOutputContext"}  # §4
OUTPUT_CONTEXT = {"queueName", "fileName", "customerNumber"}
BATCH_SAMPLE = {  # §5 (client code)
    "id",
    "jobId",
    "flowModelId",
    "flowModelSnapshotId",
    "domainId",
    "status",
    "startDate",
    "endDate",
    "expirationDate",
    "externalId",
    "flowModelType",
    "executingLongRunningOp",
    "flowModelName",
}
EMAIL_EVENT = {  # §7
    "eventId",
    "connectorType",
    "custMetadataId",
    "domainId",
    "tenantId",
    "eventDate",
    "eventType",
    "eventStatus",
    "eventRef",
    "jobId",
    "trackerId",
    "processingState",
    "lastUpdateTime",
}
DELIVERY_ELEMENTS = {"outputList", "customer", "key", "queueName", "reportFile"}  # §6
ENVELOPE = {"status", "data", "page"}


def undocumented(keys: set[str], allowed: set[str]) -> set[str]:
    return keys - allowed - sandbox_extensions()


def check_all(items: list[dict[str, Any]], allowed: set[str], what: str) -> None:
    assert items, f"the sandbox served no {what}"
    for item in items:
        extra = undocumented(set(item), allowed)
        assert not extra, f"the sandbox serves undocumented {what} field(s): {sorted(extra)}"


def driver_record(key: str) -> dict[str, Any]:
    return {
        "customer": {"customerNumber": key},
        "recipientName": "Reader",
        "recipientEmail": "reader@example.test",
        "imprintName": "Harbour Lights",
        "workTitle": "Tides",
        "isbn": "9780000000001",
        "territories": "UK",
        "rightsGranted": "Print",
        "confirmByDate": "2026-12-01",
    }


def test_extension_list_is_short_and_explained():
    extensions = sandbox_extensions()
    assert len(extensions) <= 5, "prefer removing sandbox extensions to listing them"


def test_token_and_version(make_client, openapi):
    client = make_client()
    token = client.session.post(
        client.token_endpoint,
        json={
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "grant_type": "client_credentials",
        },
        timeout=10,
    ).json()
    assert not undocumented(set(token), TOKEN)
    version = client.get_json("/orchestration/api/v1/version")
    assert not undocumented(set(version), schema_properties(openapi["runtime"], "VersionConfig"))


def test_das_chain_shapes(make_client):
    client = make_client()
    domains = client.get_json("/design/api/v1/domains")
    assert not undocumented(set(domains), ENVELOPE)
    check_all(domains["data"], DOMAIN, "domain")
    body = client.get_json(
        "/design/api/v1/resources/production",
        **{"filter.types": "exstrapplication", "filter.states": "APPROVED", "count": 100},
    )
    assert not undocumented(set(body), ENVELOPE)
    check_all(body["data"], RESOURCE, "resource")
    comm_id = communication_id_for(RIGHTS)
    links = client.get_json("/design/api/v1/links/production", linkSubjectId=comm_id, linkDepth=2)
    check_all(links["data"], LINK, "link")
    assert {link["typeId"] for link in links["data"]} == {"exstrcommunicationset", "samplefile"}
    set_id = next(x["linkObjectId"] for x in links["data"] if x["typeId"] != "samplefile")
    manifest = client.get_json(f"/design/api/v1/manifests/production/communication-set/{set_id}")
    manifest = manifest.get("data", manifest)
    assert not undocumented(set(manifest), MANIFEST)
    check_all(manifest["dsnlist"], DATA_SOURCE, "data source")
    check_all(manifest["queueList"], QUEUE, "queue")
    sample_id = next(x["linkObjectId"] for x in links["data"] if x["typeId"] == "samplefile")
    sample = client.resource_content("production", sample_id)
    assert b"customerNumber" in sample
    # and the typed models read all of it
    assert m.Manifest.parse(manifest).driver().type == "driver"


def test_generate_shapes(make_client):
    client = make_client()
    response = client.call(
        "POST",
        "/orchestration/api/v1/inputs/ondemand/preview/generate",
        headers={
            "communicationId": communication_id_for(RIGHTS),
            "driverDataSource": "RightsConfirmationLetterDriver",
            "Content-Type": "application/json",
            "Accept": "*/*",
        },
        json=driver_record("g-1"),
    )
    body = response.json()
    assert set(body) == {"status", "data"}
    check_all(body["data"], GENERATED, "generated output")
    for item in body["data"]:
        assert not undocumented(set(item["engineOutputContext"]), OUTPUT_CONTEXT)
        assert base64.b64decode(item["content"])
        m.EngineOutput.parse(item)


def test_batch_runtime_events_and_delivery_file_shapes(make_client, openapi):
    spec = openapi["runtime"]
    client = make_client()
    response = client.call(
        "POST",
        "/orchestration/api/v1/inputs/batch/production/colophon-batch",
        headers={"Content-Type": "application/json"},
        json={
            "externalId": "contract-1",
            "communicationId": communication_id_for(RIGHTS),
            "driverDataSource": "RightsConfirmationLetterDriver",
            "records": [driver_record("b-1")],
        },
        retries=0,
    )
    started = response.json()
    flow_instance = schema_properties(spec, "FlowInstance")
    check_all(started["data"], flow_instance | BATCH_SAMPLE, "batch flow instance")
    job_id = started["data"][0]["jobId"]
    runtime = "/orchestration/api/v1/runtime/production"
    for _ in range(3):
        job = client.get_json(f"{runtime}/jobs/{job_id}")
    assert not undocumented(set(job), schema_properties(spec, "DataResponseJob"))
    assert not undocumented(set(job["data"]), schema_properties(spec, "Job"))
    jobs = client.get_json(f"{runtime}/jobs", filter="externalId:contract-1")
    assert not undocumented(set(jobs), schema_properties(spec, "PageResponseJob"))
    check_all(jobs["data"], schema_properties(spec, "Job"), "job")
    assert not undocumented(set(jobs["page"]), schema_properties(spec, "SimplePage"))
    instances = client.get_json(f"{runtime}/flow-instances", filter=f"jobId:{job_id}")
    check_all(instances["data"], flow_instance, "flow instance")
    steps = client.get_json(
        f"{runtime}/flow-steps", filter=f"flowInstanceId:{instances['data'][0]['id']}"
    )
    check_all(steps["data"], schema_properties(spec, "FlowStep"), "flow step")
    output = next(s for s in steps["data"] if s["deliveryFileRetrievable"])
    xml = client.delivery_file(output["id"], domain="production")
    tags = {el.tag for el in fromstring(xml).iter()}
    assert not undocumented(tags, DELIVERY_ELEMENTS), "undocumented delivery-file elements"
    events = list(client.email_events(start_ms=0, end_ms=2**42, domain="production"))
    check_all(events, EMAIL_EVENT, "e-mail event")
    assert {e["custMetadataId"] for e in events} == {"b-1"}


def test_control_answers_are_generic_responses(make_client, openapi):
    client = make_client()
    client.submit_batch(
        external_id="contract-stop",
        communication=type(
            "C",
            (),
            {
                "communication_id": communication_id_for(RIGHTS),
                "prod_dsn": "RightsConfirmationLetterDriver",
            },
        )(),
        records=[{"customer.customerNumber": "s-1", **driver_record("s-1")}],
    )
    job = ExstreamSandboxJob.objects.get(external_id="contract-stop")
    response = client.call(
        "POST", f"/orchestration/api/v1/runtime/production/jobs/{job.job_id}/stop", retries=0
    )
    generic = schema_properties(openapi["runtime"], "GenericResponse")
    assert not undocumented(set(response.json()), generic)
