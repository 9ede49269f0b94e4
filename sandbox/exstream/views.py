"""The sandbox Exstream over HTTP: the documented OTDS token endpoints, the orchestration
version (with its XSRF cookie) and the design API (DAS). Generation and the batch channel are
in ``generation``, the runtime API and CXI e-mail events in ``runtime``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.exstream.catalogue import CUSTOMER_KEY, driver_sample, get_path, sample_id_for
from sandbox.exstream.xml_driver import sample_xml
from sandbox.models import (
    ExstreamSandboxCommunication,
    ExstreamSandboxSwitches,
    ExstreamSandboxToken,
)

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


def generic_error(status: int, message: str, details: str = "") -> JsonResponse:
    """The OpenAPI's ``GenericResponse {status, message, details}``: what the orchestration
    spec documents for a refused request ("400 Bad request. Validation failure.")."""
    return JsonResponse(
        {"status": "failure", "message": message, "details": details}, status=status
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
    """The content of a DAS resource; the sandbox holds driver samples only (JSON, or XML for a
    design whose sample is XML: Appendix A)."""
    for comm in ExstreamSandboxCommunication.objects.filter(domain=domain, latest=True):
        if sample_id_for(comm.communication_set_id) == resource_id:
            if comm.driver_format == "xml":
                return HttpResponse(sample_xml(comm.driver_fields), content_type="application/xml")
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


def _customer(record: dict[str, Any]) -> str:
    value = get_path(record, CUSTOMER_KEY)
    return "" if value is None else str(value)
