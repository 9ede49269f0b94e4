"""The sandbox's runtime API (jobs, flow instances and steps, delivery files, controls) and CXI
e-mail events.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.exstream.views import KEY_NAME, _customer, _ms, _page, exstream_api, spring_error
from sandbox.models import (
    ExstreamSandboxCommunication,
    ExstreamSandboxEmailEvent,
    ExstreamSandboxJob,
    ExstreamSandboxSwitches,
)


def _job_status(job: ExstreamSandboxJob) -> str:
    if job.stopped:
        return "canceled"
    if job.stage == 0:
        return "started"
    if job.stage == 1:
        return "holding" if job.hold and not job.released else "started"
    return "complete"


def _job_json(job: ExstreamSandboxJob) -> dict[str, Any]:
    status = _job_status(job)
    return {
        "id": job.job_id,
        "domainId": job.domain,
        "channel": job.channel,
        "mode": "BATCH",
        "status": status,
        "flowModelType": "COMMUNICATION",
        "msg": "",
        "externalId": job.external_id,
        "triggeredBy": "colophon-sandbox",
        "startDate": _ms(job.created_at),
        "endDate": _ms(job.created_at) if status in ("complete", "canceled") else None,
        "expirationDate": None,
    }


# The batch channel's flow model and its published snapshot (the OpenAPI types both as uuid).
FLOW_MODEL_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:colophon-batch-flow"))
FLOW_MODEL_SNAPSHOT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:colophon-batch-flow:1"))


def _flow_instance(
    job: ExstreamSandboxJob,
    when: Callable[[datetime.datetime | None], Any] = _ms,
) -> dict[str, Any]:
    status = _job_status(job)
    return {
        "id": job.flow_instance_id,
        "jobId": job.job_id,
        "flowModelId": FLOW_MODEL_ID,
        "flowModelSnapshotId": FLOW_MODEL_SNAPSHOT_ID,
        "domainId": job.domain,
        "status": status,
        "startDate": when(job.created_at),
        "endDate": when(job.created_at) if status in ("complete", "canceled") else None,
        "expirationDate": None,
        "externalId": job.external_id,
        "flowModelType": "COMMUNICATION",
        "executingLongRunningOp": False,
        "inputRetrievable": True,
    }


def _date_time(when: datetime.datetime | None) -> str | None:
    """An OpenAPI ``date-time`` (RFC 3339, UTC)."""
    if when is None:
        return None
    return when.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _step_id(job: ExstreamSandboxJob, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(job.flow_instance_id), name))


def _steps(job: ExstreamSandboxJob) -> list[dict[str, Any]]:
    held = job.hold and not job.released and job.stage == 1
    done = job.stage >= 2
    plan: list[tuple[str, str, str]] = [("input", "input", "complete")]
    plan.append(("docgen", "communication", "complete" if job.stage >= 1 else "started"))
    if job.hold:
        plan.append(
            ("release", "hold", "holding" if held else ("complete" if job.released else "created"))
        )
    plan.append(("output", "output", "complete" if done else "created"))
    steps = []
    previous = None
    for name, step_type, status in plan:
        if job.stopped and status not in ("complete",):
            status = "canceled"
        step_id = _step_id(job, name)
        steps.append(
            {
                "id": step_id,
                "flowInstanceId": job.flow_instance_id,
                "previousStepId": previous,
                "stepName": name,
                "displayName": {"release": "Release for print"}.get(name, name.title()),
                "stepType": step_type,
                "status": status,
                "msg": "",
                "externalId": job.external_id,
                "deliveryFileRetrievable": name == "output" and status == "complete",
                "messageFileRetrievable": status == "complete",
            }
        )
        previous = step_id
    return steps


def _find_job(domain: str, job_id: str) -> ExstreamSandboxJob | None:
    return ExstreamSandboxJob.objects.filter(domain=domain, job_id=job_id).first()


def advance_job(job: ExstreamSandboxJob) -> ExstreamSandboxJob:
    """Move a job one stage on (not past a hold, nor once stopped); complete creates e-mail
    events."""
    if job.stopped or job.stage >= 2:
        return job
    if job.stage == 1 and job.hold and not job.released:
        return job
    job.stage += 1
    job.save(update_fields=["stage"])
    if job.stage == 2:
        _create_email_events(job)
    return job


def _filter_pairs(request: HttpRequest) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for part in request.GET.get("filter", "").split(";"):
        if ":" in part:
            key, value = part.split(":", 1)
            pairs[key.strip()] = [v for v in value.split(",") if v]
    return pairs


@exstream_api()
def jobs(request: HttpRequest, domain: str) -> HttpResponse:
    filters = _filter_pairs(request)
    qs = ExstreamSandboxJob.objects.filter(domain=domain)
    if "externalId" in filters:
        qs = qs.filter(external_id__in=filters["externalId"])
    if "ids" in filters:
        qs = qs.filter(job_id__in=filters["ids"])
    if "channel" in filters:
        qs = qs.filter(channel__in=filters["channel"])
    if filters.get("startDateStart"):
        start = datetime.date.fromisoformat(filters["startDateStart"][0])
        qs = qs.filter(created_at__date__gte=start)
    items = [_job_json(j) for j in qs]
    if "statuses" in filters:
        items = [j for j in items if j["status"] in filters["statuses"]]
    offset = int(request.GET.get("offset", 0))
    count = int(request.GET.get("count", 50))
    return JsonResponse(
        {
            "status": "success",
            "data": items[offset : offset + count],
            "page": _page(len(items), offset, count),
        }
    )


@exstream_api()
def job_detail(request: HttpRequest, domain: str, job_id: str) -> HttpResponse:
    with transaction.atomic():
        job = _find_job(domain, job_id)
        if job is None:
            return spring_error(request, 404, "Not Found", f"Job {job_id} does not exist.")
        data = _job_json(job)
        advance_job(job)  # each read moves the sandbox job on (deterministic, no sleeping)
    return JsonResponse({"status": "success", "data": data})


@exstream_api()
def job_stop(request: HttpRequest, domain: str, job_id: str) -> HttpResponse:
    job = _find_job(domain, job_id)
    if job is None:
        return spring_error(request, 404, "Not Found", f"Job {job_id} does not exist.")
    if request.method != "POST":
        return HttpResponse(status=405)
    if job.stage >= 2:
        return spring_error(request, 409, "Conflict", "The job has already completed.")
    job.stopped = True
    job.save(update_fields=["stopped"])
    return JsonResponse({"status": "success", "message": "Job stopped.", "details": job.job_id})


@exstream_api()
def job_reprocess(request: HttpRequest, domain: str, job_id: str) -> HttpResponse:
    job = _find_job(domain, job_id)
    if job is None:
        return spring_error(request, 404, "Not Found", f"Job {job_id} does not exist.")
    if request.method != "POST":
        return HttpResponse(status=405)
    job.stage = 0
    job.stopped = False
    job.released = False
    job.reprocessed += 1
    job.save(update_fields=["stage", "stopped", "released", "reprocessed"])
    return JsonResponse(
        {"status": "success", "message": "Job resubmitted for processing.", "details": job.job_id}
    )


@exstream_api()
def flow_instances(request: HttpRequest, domain: str) -> HttpResponse:
    filters = _filter_pairs(request)
    qs = ExstreamSandboxJob.objects.filter(domain=domain)
    if "jobId" in filters:
        qs = qs.filter(job_id__in=filters["jobId"])
    if "externalId" in filters:
        qs = qs.filter(external_id__in=filters["externalId"])
    items = [_flow_instance(j) for j in qs]
    return JsonResponse(
        {"status": "success", "data": items, "page": _page(len(items), 0, max(len(items), 1))}
    )


@exstream_api()
def flow_instance_detail(request: HttpRequest, domain: str, flow_instance_id: str) -> HttpResponse:
    """``GET flow-instances/{id}`` (reference §6; OpenAPI ``getFlowInstance``): a
    ``DataResponseFlowInstance`` ``{status, data: FlowInstance}``, exactly as the schema has it:
    dates are the ``date-time`` strings it declares, and a field without a value is left out
    (the schema marks none nullable). ``checkArtifacts`` is accepted; its meaning is not
    documented and a flow instance has no artifact flag to fill. The §5 batch answer and the
    lists keep the epoch milliseconds §5 reports from client code, so Colophon meets both."""
    job = ExstreamSandboxJob.objects.filter(
        domain=domain, flow_instance_id=flow_instance_id
    ).first()
    if job is None:
        return _no_flow_instance(request, flow_instance_id)
    data = {"msg": "", **_flow_instance(job, when=_date_time)}
    return JsonResponse(
        {"status": "success", "data": {k: v for k, v in data.items() if v is not None}}
    )


def _no_flow_instance(request: HttpRequest, flow_instance_id: str) -> HttpResponse:
    return spring_error(
        request, 404, "Not Found", f"Flow instance {flow_instance_id} does not exist."
    )


@exstream_api()
def flow_steps(request: HttpRequest, domain: str) -> HttpResponse:
    filters = _filter_pairs(request)
    qs = ExstreamSandboxJob.objects.filter(domain=domain)
    if "flowInstanceId" in filters:
        qs = qs.filter(flow_instance_id__in=filters["flowInstanceId"])
    items = [step for job in qs for step in _steps(job)]
    if "statuses" in filters:
        items = [s for s in items if s["status"] in filters["statuses"]]
    return JsonResponse(
        {"status": "success", "data": items, "page": _page(len(items), 0, max(len(items), 1))}
    )


@exstream_api()
def flow_instance_input(request: HttpRequest, domain: str, flow_instance_id: str) -> HttpResponse:
    """``flow-instances/{id}/input`` (reference §6): the batch's input, rebuilt from what the
    sandbox stores of the posted body (its external id, communication and records)."""
    job = ExstreamSandboxJob.objects.filter(
        domain=domain, flow_instance_id=flow_instance_id
    ).first()
    if job is None:
        return _no_flow_instance(request, flow_instance_id)
    body = {
        "externalId": job.external_id,
        "communicationId": job.communication_id,
        "records": job.records,
    }
    return JsonResponse(body)


def _job_for_step(domain: str, step_id: str) -> tuple[ExstreamSandboxJob, dict[str, Any]] | None:
    for job in ExstreamSandboxJob.objects.filter(domain=domain):
        for step in _steps(job):
            if step["id"] == step_id:
                return job, step
    return None


@exstream_api()
def step_release(request: HttpRequest, domain: str, step_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    found = _job_for_step(domain, step_id)
    if found is None:
        return spring_error(request, 404, "Not Found", f"Flow step {step_id} does not exist.")
    job, step = found
    if step["status"] != "holding":
        return spring_error(request, 409, "Conflict", "The flow step is not holding.")
    job.released = True
    job.save(update_fields=["released"])
    return JsonResponse({"status": "success", "message": "Flow step released.", "details": step_id})


def delivery_file_xml(job: ExstreamSandboxJob) -> str:
    """``_STDDELIVERYFILE.xml``: one <customer> per generated record; records the engine could
    not deliver (e-mail addresses at undeliverable.test) in <failedCustomer>."""
    comm = ExstreamSandboxCommunication.objects.filter(
        domain=job.domain, communication_id=job.communication_id
    ).first()
    queues = [q["name"] for q in (comm.queues if comm else [])]
    ok, failed = [], []
    for record in job.records:
        key = xml_escape(_customer(record))
        if str(record.get("recipientEmail", "")).endswith("@undeliverable.test"):
            failed.append(
                f'  <failedCustomer><key name="{KEY_NAME}">{key}</key>'
                "<reason>Recipient address rejected by the output connector</reason>"
                "</failedCustomer>"
            )
        else:
            names = "".join(f"<queueName>{xml_escape(q)}</queueName>" for q in queues)
            ok.append(f'  <customer><key name="{KEY_NAME}">{key}</key>{names}</customer>')
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<outputList customersProcessed="{len(ok)}" pagesProcessed="{len(ok)}">',
        *ok,
        *failed,
        '  <reportFile dataFile="Error_Report" name="Error_Report.txt"/>',
        "</outputList>",
    ]
    return "\n".join(lines) + "\n"


@exstream_api()
def step_delivery_file(request: HttpRequest, domain: str, step_id: str) -> HttpResponse:
    found = _job_for_step(domain, step_id)
    if found is None:
        return spring_error(request, 404, "Not Found", f"Flow step {step_id} does not exist.")
    job, step = found
    if not step["deliveryFileRetrievable"]:
        return spring_error(request, 404, "Not Found", "No delivery file for this step yet.")
    return HttpResponse(delivery_file_xml(job), content_type="application/xml")


def _create_email_events(job: ExstreamSandboxJob) -> None:
    comm = ExstreamSandboxCommunication.objects.filter(
        domain=job.domain, communication_id=job.communication_id
    ).first()
    if comm is None or "email" not in comm.channels:
        return
    base = ExstreamSandboxSwitches.current().now()
    for index, record in enumerate(job.records):
        email = str(record.get("recipientEmail", ""))
        if not email or email.endswith("@undeliverable.test"):
            continue
        kinds = ["SUBMIT", "NDLV"] if "bounce" in email else ["SUBMIT", "POST", "OPEN"]
        for step, kind in enumerate(kinds):
            when = base + datetime.timedelta(seconds=index * 3 + step)
            ExstreamSandboxEmailEvent.objects.create(
                event_id=str(uuid.uuid5(uuid.UUID(job.job_id), f"{index}:{kind}")),
                domain=job.domain,
                job_id=job.job_id,
                customer_key=_customer(record),
                event_type=kind,
                event_status="Mailbox unavailable" if kind == "NDLV" else "",
                event_date=when,
                last_update_time=when,
            )


def _parse_when(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@exstream_api()
def email_events(request: HttpRequest, tenant: str, domain: str) -> HttpResponse:
    start = _parse_when(request.GET.get("lastUpdateTimeStart"))
    end = _parse_when(request.GET.get("lastUpdateTimeEnd"))
    if start is None or end is None:
        return spring_error(
            request,
            400,
            "Bad Request",
            "lastUpdateTimeStart and lastUpdateTimeEnd are required (ISO 8601 or epoch ms).",
        )
    qs = ExstreamSandboxEmailEvent.objects.filter(
        domain=domain, last_update_time__gte=start, last_update_time__lt=end
    )
    switches = ExstreamSandboxSwitches.current()
    events = list(qs)
    if switches.out_of_order_events:
        events.reverse()
    if switches.duplicate_events:
        events = [e for e in events for _ in (0, 1)]
    # Reference §7: the whole window in one {status, data} answer. No paging parameters are
    # documented for this endpoint, so offset/count are not honoured (nor refused).
    data = [
        {
            "eventId": e.event_id,
            "connectorType": request.GET.get("connectorType", "EMAIL"),
            "custMetadataId": e.customer_key,
            "domainId": e.domain,
            "tenantId": tenant,
            "eventDate": _ms(e.event_date),
            "eventType": e.event_type,
            "eventStatus": e.event_status,
            "eventRef": e.job_id,
            "jobId": e.job_id,
            "trackerId": e.event_id[:8],
            "processingState": "PROCESSED",
            "lastUpdateTime": _ms(e.last_update_time),
        }
        for e in events
    ]
    return JsonResponse({"status": "success", "data": data})
