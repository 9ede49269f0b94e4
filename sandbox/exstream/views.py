"""The sandbox Exstream API over real HTTP: OTDS tokens, XSRF, DAS design API, on-demand
generation, the HTTP batch channel, the runtime API with delivery files, and CXI e-mail events.

Response shapes follow /work/shared/reference/exstream-api.md. Fault switches and the clock
come from ``ExstreamSandboxSwitches`` so tests never sleep.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.exstream import render
from sandbox.exstream.catalogue import CUSTOMER_KEY, driver_sample, get_path, sample_id_for
from sandbox.models import (
    ExstreamSandboxCommunication,
    ExstreamSandboxEmailEvent,
    ExstreamSandboxJob,
    ExstreamSandboxSwitches,
    ExstreamSandboxToken,
)

# The sandbox's OTDS accepts exactly this client (Colophon uses it when EXSTREAM_CLIENT_ID is
# unset and the sandbox is in use).
SANDBOX_CLIENT_ID = "colophon-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-exstream-client-secret"
SANDBOX_TENANT = "colophon"

View = Callable[..., HttpResponse]
KEY_NAME = CUSTOMER_KEY.rsplit(".", 1)[-1]  # the <key name> of delivery files


def _ms(when: datetime.datetime | None) -> int | None:
    return int(when.timestamp() * 1000) if when else None


def spring_error(
    request: HttpRequest,
    status: int,
    error: str,
    message: str,
    *,
    details: Any = None,
    code: str = "",
) -> JsonResponse:
    """The Spring-style service error envelope."""
    return JsonResponse(
        {
            "timestamp": timezone.now().isoformat(),
            "status": status,
            "error": error,
            "message": message,
            "details": details if details is not None else [],
            "errorCode": code,
            "path": request.path,
        },
        status=status,
    )


def engine_error(status: int, message: str, **context: Any) -> JsonResponse:
    """The engine error envelope of on-demand and channel calls."""
    return JsonResponse(
        {
            "status": "error",
            "data": [
                {
                    "errorMessage": message,
                    "statusCode": str(status),
                    "engineOutputContext": context or None,
                }
            ],
        },
        status=status,
    )


def xsrf_for(token: str) -> str:
    return hashlib.sha256(f"xsrf:{token}".encode()).hexdigest()[:32]


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def exstream_api(*, xsrf: bool = False) -> Callable[[View], View]:
    """Apply latency and fault switches, then demand a live bearer token (and XSRF)."""

    def decorator(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            switches = ExstreamSandboxSwitches.current()
            if switches.latency_ms:
                time.sleep(switches.latency_ms / 1000)
            if switches.fail_next_5xx:
                ExstreamSandboxSwitches.objects.filter(pk=1).update(
                    fail_next_5xx=F("fail_next_5xx") - 1
                )
                return spring_error(
                    request, 503, "Service Unavailable", "The orchestration service is busy."
                )
            if switches.rate_limit_next:
                ExstreamSandboxSwitches.objects.filter(pk=1).update(
                    rate_limit_next=F("rate_limit_next") - 1
                )
                response = spring_error(request, 429, "Too Many Requests", "Slow down.")
                response["Retry-After"] = str(switches.retry_after_seconds)
                return response
            token = _bearer(request)
            row = ExstreamSandboxToken.objects.filter(token=token).first() if token else None
            if row is None:
                return spring_error(
                    request, 401, "Unauthorized", "A valid OTDS bearer token is required."
                )
            if row.expires_at <= switches.now():
                if switches.expired_token_as_500:
                    return spring_error(
                        request,
                        500,
                        "Internal Server Error",
                        "Request processing failed.",
                        details="OTDS token validation failed: the access token has expired.",
                    )
                return spring_error(request, 401, "Unauthorized", "The OTDS token has expired.")
            if xsrf:
                expected = xsrf_for(token)
                if (
                    request.headers.get("X-Xsrf-Token") != expected
                    or request.COOKIES.get("XSRF-TOKEN") != expected
                ):
                    return spring_error(request, 403, "Forbidden", "Invalid or missing XSRF token.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- OTDS --------------------------------------------------------------------------------------


def _issue_token(request: HttpRequest, client_id: str, client_secret: str) -> JsonResponse:
    if client_id != SANDBOX_CLIENT_ID or client_secret != SANDBOX_CLIENT_SECRET:
        return JsonResponse(
            {"error": "invalid_client", "error_description": "Client authentication failed."},
            status=401,
        )
    switches = ExstreamSandboxSwitches.current()
    now = switches.now()
    token = secrets.token_urlsafe(24)
    ExstreamSandboxToken.objects.create(
        token=token,
        client_id=client_id,
        issued_at=now,
        expires_at=now + datetime.timedelta(seconds=switches.token_ttl_seconds),
    )
    return JsonResponse(
        {
            "access_token": token,
            "refresh_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": switches.token_ttl_seconds,
        }
    )


@csrf_exempt
def token_cloud(request: HttpRequest, tenant: str) -> HttpResponse:
    """OpenText cloud form: JSON body."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "invalid_request"}, status=400)
    if body.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    return _issue_token(request, str(body.get("client_id", "")), str(body.get("client_secret", "")))


@csrf_exempt
def token_otds(request: HttpRequest, tenant: str) -> HttpResponse:
    """Self-hosted OTDS form: form-encoded body."""
    if request.method != "POST":
        return HttpResponse(status=405)
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    return _issue_token(
        request, request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    )


@exstream_api()
def version(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(
        {
            "apiIdentifier": "orchestration",
            "major": "25",
            "minor": "2",
            "patch": "0",
            "versionString": "25.2.0-sandbox",
        }
    )
    response.set_cookie("XSRF-TOKEN", xsrf_for(_bearer(request)), samesite="Lax")
    return response


# --- Design (DAS) ------------------------------------------------------------------------------


def _domains() -> list[str]:
    return list(
        ExstreamSandboxCommunication.objects.values_list("domain", flat=True)
        .distinct()
        .order_by("domain")
    )


@exstream_api()
def domains(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    data = [
        {
            "id": name,
            "production": name == settings.EXSTREAM_DOMAIN,
            "description": f"Sandbox {name} domain",
            "jobTracing": True,
            "workflow": "NORMAL",
        }
        for name in _domains()
    ]
    return JsonResponse({"status": "success", "data": data})


@exstream_api()
def resources(request: HttpRequest, domain: str) -> HttpResponse:
    if domain not in _domains():
        return spring_error(request, 404, "Not Found", f"Domain {domain!r} does not exist.")
    qs = ExstreamSandboxCommunication.objects.filter(domain=domain)
    if request.GET.get("filter.types") not in (None, "exstrapplication"):
        qs = qs.none()
    if states := request.GET.get("filter.states"):
        qs = qs.filter(state__in=states.split(","))
    if request.GET.get("filter.latestVersion") == "true":
        qs = qs.filter(latest=True)
    total = qs.count()
    offset = int(request.GET.get("offset", 0))
    count = min(int(request.GET.get("count", 100)), 100)
    data = [
        {
            "id": c.communication_id,
            "version": c.version,
            "name": c.name,
            "type": "exstrapplication",
            "state": c.state,
            "description": f"{c.name} (sandbox design)",
            "locked": False,
        }
        for c in qs.order_by("name")[offset : offset + count]
    ]
    return JsonResponse({"status": "success", "data": data, "page": _page(total, offset, count)})


@exstream_api()
def resource_content(request: HttpRequest, domain: str, resource_id: str) -> HttpResponse:
    """The content of a DAS resource; the sandbox holds driver samples only."""
    for comm in ExstreamSandboxCommunication.objects.filter(domain=domain, latest=True):
        if sample_id_for(comm.communication_set_id) == resource_id:
            return JsonResponse(driver_sample(comm.driver_fields))
    return spring_error(request, 404, "Not Found", f"No resource {resource_id!r} in {domain!r}.")


def _page(total: int, offset: int, count: int) -> dict[str, int]:
    return {
        "pageSize": count,
        "pageOffset": offset,
        "totalElements": total,
        "totalPages": (total + count - 1) // count if count else 0,
        "currentPageNumber": offset // count if count else 0,
    }


@exstream_api()
def links(request: HttpRequest, domain: str) -> HttpResponse:
    """Documented link objects {linkSubjectId, subjectVersion, linkObjectId, typeId}. Without
    a type filter both links come back, the samplefile first (the order is not promised)."""
    subject = request.GET.get("linkSubjectId", "")
    comm = (
        ExstreamSandboxCommunication.objects.filter(domain=domain, communication_id=subject)
        .order_by("-version")
        .first()
    )
    if comm is None:
        return spring_error(request, 404, "Not Found", f"No resource {subject!r} in {domain!r}.")
    all_links = [
        {
            "linkSubjectId": subject,
            "subjectVersion": comm.version,
            "linkObjectId": sample_id_for(comm.communication_set_id),
            "typeId": "samplefile",
        },
        {
            "linkSubjectId": subject,
            "subjectVersion": comm.version,
            "linkObjectId": comm.communication_set_id,
            "typeId": "exstrcommunicationset",
        },
    ]
    wanted = [t for t in request.GET.get("filter.types", "").split(",") if t]
    data = [link for link in all_links if not wanted or link["typeId"] in wanted]
    return JsonResponse({"status": "success", "data": data})


def reference_dsn(comm: ExstreamSandboxCommunication) -> str:
    return f"{comm.dsn.removesuffix('Driver')}Reference"


@exstream_api()
def manifest(request: HttpRequest, domain: str, set_id: str) -> HttpResponse:
    """Appendix A: ``dsnlist`` (a reference data source listed first, then the driver) and
    ``queueList``."""
    comm = (
        ExstreamSandboxCommunication.objects.filter(domain=domain, communication_set_id=set_id)
        .order_by("-version")
        .first()
    )
    if comm is None:
        return spring_error(request, 404, "Not Found", f"No communication set {set_id!r}.")
    return JsonResponse(
        {
            "dsnlist": [
                {
                    "name": "Imprint reference data",
                    "prodDsn": reference_dsn(comm),
                    "resourceId": str(uuid.uuid5(uuid.UUID(set_id), "reference")),
                    "type": "reference",
                },
                {
                    "name": f"{comm.name} driver",
                    "prodDsn": comm.dsn,
                    "resourceId": str(uuid.uuid5(uuid.UUID(set_id), "driver")),
                    "type": "driver",
                },
            ],
            "queueList": comm.queues,
        }
    )


# --- Generation ---------------------------------------------------------------------------------


def _missing_fields(comm: ExstreamSandboxCommunication, driver: dict[str, Any]) -> list[str]:
    """Required fields of the design absent from the (nested, as the sample) driver data."""
    return [
        f["name"]
        for f in comm.driver_fields
        if f.get("required") and get_path(driver, f["name"]) in (None, "")
    ]


def _customer(record: dict[str, Any]) -> str:
    value = get_path(record, CUSTOMER_KEY)
    return "" if value is None else str(value)


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
    try:
        driver = json.loads(request.body or b"")
    except ValueError:
        return spring_error(request, 400, "Bad Request", "The driver data is not valid JSON.")
    if not isinstance(driver, dict):
        return spring_error(request, 400, "Bad Request", "The driver data must be a JSON object.")
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


# --- Batch channel ------------------------------------------------------------------------------


@exstream_api(xsrf=True)
def batch(request: HttpRequest, domain: str, channel: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        body = json.loads(request.body or b"")
    except ValueError:
        return spring_error(request, 400, "Bad Request", "The driver data is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return spring_error(request, 400, "Bad Request", "The batch body needs a 'records' list.")
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


# --- Runtime ------------------------------------------------------------------------------------


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


def _flow_instance(job: ExstreamSandboxJob) -> dict[str, Any]:
    status = _job_status(job)
    return {
        "id": job.flow_instance_id,
        "jobId": job.job_id,
        "flowModelId": "colophon-batch-flow",
        "flowModelSnapshotId": "colophon-batch-flow-1",
        "domainId": job.domain,
        "status": status,
        "startDate": _ms(job.created_at),
        "endDate": _ms(job.created_at) if status in ("complete", "canceled") else None,
        "expirationDate": None,
        "externalId": job.external_id,
        "flowModelType": "COMMUNICATION",
        "executingLongRunningOp": False,
        "inputRetrievable": True,
    }


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


# --- CXI e-mail events --------------------------------------------------------------------------


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
    offset = int(request.GET.get("offset", 0))
    count = max(1, min(int(request.GET.get("count", 100)), 500))
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
        for e in events[offset : offset + count]
    ]
    return JsonResponse({"status": "success", "data": data})
