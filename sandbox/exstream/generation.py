"""The sandbox's on-demand generation and HTTP batch channel."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.exstream import render
from sandbox.exstream.catalogue import get_path
from sandbox.exstream.runtime import _flow_instance
from sandbox.exstream.views import (
    _customer,
    engine_error,
    exstream_api,
    generic_error,
    reference_dsn,
    spring_error,
)
from sandbox.exstream.xml_driver import DriverDataError, is_xml, parse_xml, xml_record
from sandbox.models import (
    ExstreamSandboxCommunication,
    ExstreamSandboxJob,
    ExstreamSandboxSwitches,
)


def _missing_fields(comm: ExstreamSandboxCommunication, driver: dict[str, Any]) -> list[str]:
    """Required fields of the design absent from the (nested, as the sample) driver data."""
    return [
        f["name"]
        for f in comm.driver_fields
        if f.get("required") and get_path(driver, f["name"]) in (None, "")
    ]


def _outputs(
    comm: ExstreamSandboxCommunication, driver: dict[str, Any], *, watermark: bool
) -> list[tuple[dict[str, Any], str, bytes]]:
    results = []
    kind = render.document_kind(comm.name, (q["driver"] for q in comm.queues))
    for queue in comm.queues:
        if queue["driver"] == "PDF":
            mime, content = (
                "application/pdf",
                render.render_pdf(comm.name, driver, watermark=watermark, kind=kind),
            )
        elif queue["driver"] == "HTML":
            mime = "text/html"
            content = render.render_html(comm.name, driver, watermark=watermark, kind=kind).encode()
        else:
            mime = "text/plain"
            content = render.render_text(comm.name, driver, watermark=watermark, kind=kind).encode()
        results.append((queue, mime, content))
    return results


def _format_refusal(
    request: HttpRequest, comm: ExstreamSandboxCommunication
) -> HttpResponse | None:
    """Reference §4 and Appendix A: the body is shaped like the communication's driver sample,
    JSON or XML (``Content-Type`` says which). A body in the other format is refused."""
    sent = "xml" if is_xml(request.content_type or "") else "json"
    if sent == comm.driver_format:
        return None
    return spring_error(
        request,
        400,
        "Bad Request",
        f"The driver data is {sent.upper()}, but the driver sample of {comm.name!r} is "
        f"{comm.driver_format.upper()}: send the body shaped like the sample.",
    )


def _batch_dsn_refusal(
    request: HttpRequest, comm: ExstreamSandboxCommunication, in_body: str
) -> HttpResponse | None:
    """The batch's driver data source, checked as ``generate`` checks its header.

    Reference §5 documents the batch channel from client code only, with no request headers;
    §3 names the communication's ``prodDsn`` as "the value for the ``driverDataSource``
    header" and §4 documents that header as required on input requests. Where the batch is
    silent both readings are accepted: the ``driverDataSource`` header, or else the body's
    own ``driverDataSource`` (Colophon's batch envelope); each one given must be the driver's.
    Neither the reference nor the OpenAPI documents the batch channel's error answer (§4 leaves
    the status of validation failures unconfirmed), so the refusal is the orchestration
    OpenAPI's documented one: 400 "Bad request. Validation failure." with a GenericResponse."""
    given = [v for v in (request.headers.get("driverDataSource", ""), in_body) if v]
    if not given:
        return generic_error(
            400,
            "The driverDataSource header is required.",
            f"Send the prodDsn of {comm.name!r} (its manifest's driver data source).",
        )
    for dsn in given:
        if dsn == reference_dsn(comm):
            return generic_error(
                400,
                f"Driver data source {dsn!r} is a reference data source, not the driver.",
                f"The driver data source of {comm.name!r} is its manifest's driver entry.",
            )
        if dsn != comm.dsn:
            return generic_error(
                400,
                f"Driver data source {dsn!r} does not belong to {comm.name!r}.",
                "driverDataSource must be the communication's prodDsn.",
            )
    return None


@exstream_api()
def generate(request: HttpRequest, domain: str) -> HttpResponse:
    from django.conf import settings

    if request.method != "POST":
        return HttpResponse(status=405)
    comm_id = request.headers.get("communicationId", "")
    dsn = request.headers.get("driverDataSource", "")
    comm = (
        ExstreamSandboxCommunication.objects.filter(
            domain=domain, communication_id=comm_id, state="APPROVED", latest=True
        ).first()
        if comm_id
        else None
    )
    if comm is None:
        return engine_error(404, f"Communication {comm_id!r} is not approved in domain {domain!r}.")
    if dsn == reference_dsn(comm):
        return engine_error(
            400, f"Driver data source {dsn!r} is a reference data source, not the driver."
        )
    if dsn != comm.dsn:
        return engine_error(400, f"Driver data source {dsn!r} does not belong to {comm.name!r}.")
    wrong_format = _format_refusal(request, comm)
    if wrong_format is not None:
        return wrong_format
    if is_xml(request.content_type or ""):
        try:
            driver = xml_record(parse_xml(request.body), comm.driver_fields)
        except DriverDataError as exc:
            return spring_error(request, 400, "Bad Request", str(exc))
    else:
        try:
            driver = json.loads(request.body or b"")
        except ValueError:
            return spring_error(request, 400, "Bad Request", "The driver data is not valid JSON.")
        if not isinstance(driver, dict):
            return spring_error(
                request, 400, "Bad Request", "The driver data must be a JSON object."
            )
    missing = _missing_fields(comm, driver)
    if missing:
        return spring_error(
            request,
            422,
            "Unprocessable Entity",
            "The driver data is missing required fields: " + ", ".join(missing) + ".",
            details=[{"field": n, "message": "required driver field is missing"} for n in missing],
            code="DRIVER_VALIDATION",
        )
    watermark = domain != settings.EXSTREAM_DOMAIN
    outputs = _outputs(comm, driver, watermark=watermark)
    customer = _customer(driver)
    if "application/pdf" in request.headers.get("Accept", ""):
        for _queue, mime, content in outputs:
            if mime == "application/pdf":
                return HttpResponse(content, content_type="application/pdf")
        return engine_error(406, f"{comm.name!r} has no PDF output queue.")
    data = [
        {
            "content": base64.b64encode(content).decode(),
            "mimeType": mime,
            "engineOutputContext": {
                "queueName": queue["name"],
                "fileName": queue.get("prodFile", ""),
                "customerNumber": customer,
            },
        }
        for queue, mime, content in outputs
    ]
    return JsonResponse({"status": "success", "data": data})


@exstream_api(xsrf=True)
def batch(request: HttpRequest, domain: str, channel: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    # Reference §5 documents no batch body (client code only): the sandbox reads Colophon's
    # envelope, {externalId, communicationId, driverDataSource, records: [...]} as JSON, or
    # <batch externalId=… communicationId=… driverDataSource=…> holding one element per record,
    # each rooted as the XML driver sample (Appendix A: bodies follow the sample's shape).
    xml = is_xml(request.content_type or "")
    elements: list[Any] = []
    if xml:
        try:
            root = parse_xml(request.body)
        except DriverDataError as exc:
            return spring_error(request, 400, "Bad Request", str(exc))
        if root.tag != "batch":
            return spring_error(
                request, 400, "Bad Request", "The XML batch body needs a <batch> root element."
            )
        body: Any = dict(root.attrib)
        elements = list(root)
    else:
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            return spring_error(request, 400, "Bad Request", "The driver data is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return spring_error(
                request, 400, "Bad Request", "The batch body needs a 'records' list."
            )
    comm = ExstreamSandboxCommunication.objects.filter(
        domain=domain,
        communication_id=body.get("communicationId", ""),
        state="APPROVED",
        latest=True,
    ).first()
    if comm is None:
        return engine_error(
            404, f"Communication {body.get('communicationId')!r} is not approved in {domain!r}."
        )
    refused = _batch_dsn_refusal(request, comm, str(body.get("driverDataSource") or ""))
    if refused is None:
        refused = _format_refusal(request, comm)
    if refused is not None:
        return refused
    if xml:
        try:
            body["records"] = [xml_record(el, comm.driver_fields) for el in elements]
        except DriverDataError as exc:
            return spring_error(request, 400, "Bad Request", str(exc))
    problems = []
    for index, record in enumerate(body["records"]):
        for name in _missing_fields(comm, record if isinstance(record, dict) else {}):
            problems.append(
                {"record": index, "field": name, "message": "required driver field is missing"}
            )
    if problems:
        return spring_error(
            request,
            422,
            "Unprocessable Entity",
            "Records are missing required driver fields: "
            + "; ".join(f"record {p['record']}: {p['field']}" for p in problems)
            + ".",
            details=problems,
            code="DRIVER_VALIDATION",
        )
    external_id = request.headers.get("exstream-variable-externalId") or str(
        body.get("externalId", "")
    )
    switches = ExstreamSandboxSwitches.current()
    job = ExstreamSandboxJob.objects.create(
        job_id=str(uuid.uuid4()),
        flow_instance_id=str(uuid.uuid4()),
        domain=domain,
        channel=channel,
        external_id=external_id,
        communication_id=comm.communication_id,
        records=body["records"],
        hold=comm.hold_for_release,
        created_at=switches.now(),
    )
    return JsonResponse({"status": "success", "data": [_flow_instance(job)]})
