"""The Exstream client: OTDS tokens, XSRF, the DAS catalogue chain, on-demand generation, the
HTTP batch channel, the runtime API and CXI e-mail events.

Every call goes through ``integration.lib.http.request`` (timeouts, bounded retries on 429/5xx and
connection errors honouring Retry-After). On top of that this client

* fetches an OTDS client-credentials token (OpenText cloud JSON form, or the self-hosted
  form-encoded form when the token URL contains ``/otdsws/`` or ``/otdstenant/``), caches it in
  the Django cache (shared by processes when the cache is) and refreshes it at 80% of
  ``expires_in``;
* on a 401, or a 500 whose body mentions OTDS (an expired token surfaces that way), drops the
  token and retries once with a fresh one;
* for input channels, reads ``XSRF-TOKEN`` from ``GET /orchestration/api/v1/version`` (once
  per token) and sends it as ``X-Xsrf-Token`` and as a cookie;
* turns both documented error envelopes into readable messages (``errors.readable_error``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache

from integration.connectors.exstream.errors import is_token_failure, readable_error
from integration.lib import http
from integration.lib.http import ExternalServiceError

SERVICE = "Exstream"
TOKEN_REFRESH_FRACTION = 0.8

# Used only when EXSTREAM_URL is unset (the built-in sandbox); see sandbox/exstream/views.py.
SANDBOX_CLIENT_ID = "colophon-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-exstream-client-secret"
SANDBOX_TENANT = "colophon"


def using_sandbox() -> bool:
    return not settings.EXSTREAM_URL


def base_url() -> str:
    return settings.EXSTREAM_URL or f"{settings.SANDBOX_BASE_URL}/sandbox/exstream"


def tenant() -> str:
    return settings.EXSTREAM_TENANT or (SANDBOX_TENANT if using_sandbox() else "")


def token_url() -> str:
    if settings.EXSTREAM_TOKEN_URL:
        return str(settings.EXSTREAM_TOKEN_URL)
    return f"{base_url()}/tenants/{tenant()}/oauth2/token"


def token_form(url: str) -> str:
    """'form' for self-hosted OTDS (…/otdsws/otdstenant/{tenant}/oauth2/token and the OT2
    variant …/otdstenant/…), 'json' for the OpenText cloud (…/tenants/{tenant}/oauth2/token)."""
    return "form" if ("/otdsws/" in url or "/otdstenant/" in url) else "json"


@dataclass
class GeneratedOutput:
    content: bytes
    mime_type: str
    queue_name: str = ""
    file_name: str = ""
    customer_number: str = ""


@dataclass
class BatchResult:
    job_id: str
    flow_instance_ids: list[str]
    external_id: str
    domain: str
    channel: str
    flow_instances: list[dict[str, Any]] = field(default_factory=list)


class ExstreamClient:
    def __init__(
        self,
        *,
        url: str | None = None,
        token_endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        retries: int | None = None,
    ) -> None:
        self.url = (url or base_url()).rstrip("/")
        self.token_endpoint = token_endpoint or token_url()
        sandbox = using_sandbox()
        self.client_id = (
            client_id or settings.EXSTREAM_CLIENT_ID or (SANDBOX_CLIENT_ID if sandbox else "")
        )
        self.client_secret = (
            client_secret
            or settings.EXSTREAM_CLIENT_SECRET
            or (SANDBOX_CLIENT_SECRET if sandbox else "")
        )
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.retries = retries
        self.tokens_fetched = 0
        self._xsrf: tuple[str, str] | None = None  # (access token, XSRF token)
        digest = hashlib.sha256(f"{self.token_endpoint}|{self.client_id}".encode()).hexdigest()
        self.cache_key = f"exstream:token:{digest[:24]}"

    # --- tokens ---------------------------------------------------------------------------

    def access_token(self, *, force: bool = False) -> str:
        cached = None if force else cache.get(self.cache_key)
        if cached and self.clock() < cached["refresh_at"]:
            return str(cached["access_token"])
        return self._fetch_token()

    def forget_token(self) -> None:
        cache.delete(self.cache_key)
        self._xsrf = None

    def _fetch_token(self) -> str:
        if not (self.client_id and self.client_secret):
            raise ExternalServiceError(
                "EXSTREAM_CLIENT_ID and EXSTREAM_CLIENT_SECRET must be set to reach Exstream.",
                service=SERVICE,
                retryable=False,
            )
        if token_form(self.token_endpoint) == "form":
            kwargs: dict[str, Any] = {
                "data": {
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "scope": "otds:groups",
                }
            }
        else:
            kwargs = {
                "json": {
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "grant_type": "client_credentials",
                }
            }
        try:
            response = http.request(
                "POST",
                self.token_endpoint,
                service=f"{SERVICE} OTDS",
                session=self.session,
                sleep=self.sleep,
                retries=self.retries,
                **kwargs,
            )
        except ExternalServiceError as exc:
            raise readable_error(exc) from exc
        try:
            body = response.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 900)
        except (ValueError, KeyError, TypeError) as exc:
            raise ExternalServiceError(
                "OTDS answered without an access_token.", service=SERVICE, retryable=True
            ) from exc
        now = self.clock()
        cache.set(
            self.cache_key,
            {
                "access_token": token,
                "refresh_at": now + expires_in * TOKEN_REFRESH_FRACTION,
                "expires_at": now + expires_in,
            },
            timeout=max(1, int(expires_in)),
        )
        self.tokens_fetched += 1
        self._xsrf = None
        return token

    # --- transport --------------------------------------------------------------------------

    def _xsrf_token(self, access_token: str) -> str:
        if self._xsrf and self._xsrf[0] == access_token:
            return self._xsrf[1]
        response = self._send("GET", "/orchestration/api/v1/version", access_token)
        value = response.cookies.get("XSRF-TOKEN") or self.session.cookies.get("XSRF-TOKEN")
        if not value:
            raise ExternalServiceError(
                "Exstream did not set an XSRF-TOKEN cookie on /orchestration/api/v1/version.",
                service=SERVICE,
                retryable=True,
            )
        self._xsrf = (access_token, value)
        return value

    def _send(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        headers: dict[str, str] | None = None,
        xsrf: str | None = None,
        **kwargs: Any,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {access_token}", **(headers or {})}
        if xsrf:
            all_headers["X-Xsrf-Token"] = xsrf
            kwargs["cookies"] = {"XSRF-TOKEN": xsrf}
        return http.request(
            method,
            f"{self.url}{path}",
            service=SERVICE,
            headers=all_headers,
            session=self.session,
            sleep=self.sleep,
            **{"retries": self.retries, **kwargs},
        )

    def call(
        self, method: str, path: str, *, xsrf: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One authenticated call; refreshes the token and retries once on 401 (or an OTDS
        500), and re-reads XSRF once on a 403 of an input channel."""
        last: ExternalServiceError | None = None
        for attempt in (1, 2):
            token = self.access_token()
            try:
                xsrf_value = self._xsrf_token(token) if xsrf else None
                return self._send(method, path, token, xsrf=xsrf_value, **kwargs)  # type: ignore[no-any-return]
            except ExternalServiceError as exc:
                last = exc
                if attempt == 1 and is_token_failure(exc):
                    self.forget_token()
                    continue
                if attempt == 1 and xsrf and exc.status == 403:
                    self._xsrf = None
                    continue
                raise readable_error(exc) from exc
        assert last is not None
        raise readable_error(last)

    def get_json(self, path: str, **params: Any) -> Any:
        return _json(self.call("GET", path, params=params or None))

    # --- design (DAS) -------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return dict(self.get_json("/orchestration/api/v1/version"))

    def list_domains(self) -> list[dict[str, Any]]:
        return list(self.get_json("/design/api/v1/domains").get("data", []))

    def list_approved_communications(self, domain: str) -> list[dict[str, Any]]:
        """Approved, latest exstrapplication resources (paged 100 at a time)."""
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self.get_json(
                f"/design/api/v1/resources/{domain}",
                **{
                    "filter.types": "exstrapplication",
                    "filter.states": "APPROVED",
                    "filter.latestVersion": "true",
                    "count": 100,
                    "offset": offset,
                },
            )
            page = body.get("data", [])
            items.extend(page)
            total = (body.get("page") or {}).get("totalElements")
            offset += len(page)
            if not page or len(page) < 100 or (total is not None and offset >= total):
                return items

    def communication_set_id(self, domain: str, communication_id: str) -> str | None:
        body = self.get_json(
            f"/design/api/v1/links/{domain}",
            linkSubjectId=communication_id,
            linkDepth=2,
            **{"filter.types": "exstrcommunicationset"},
        )
        for link in body.get("data", []):
            if link.get("type", "exstrcommunicationset") == "exstrcommunicationset":
                return str(link["id"])
        return None

    def manifest(self, domain: str, set_id: str) -> dict[str, Any]:
        body = self.get_json(f"/design/api/v1/manifests/{domain}/communication-set/{set_id}")
        data = body.get("data", body)
        return dict(data) if isinstance(data, dict) else {}

    # --- on-demand generation -----------------------------------------------------------------

    def _generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        accept: str,
    ) -> requests.Response:
        return self.call(
            "POST",
            f"/orchestration/api/v1/inputs/ondemand/{domain}/generate",
            headers={
                "communicationId": communication_id,
                "driverDataSource": driver_data_source,
                "Content-Type": "application/json",
                "Accept": accept,
            },
            data=json.dumps(driver_data).encode(),
        )

    def generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
    ) -> list[GeneratedOutput]:
        """The JSON envelope: one base64 output per queue."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="*/*",
        )
        body = _json(response)
        outputs = []
        for item in body.get("data", []):
            if "errorMessage" in item:
                raise ExternalServiceError(
                    f"Exstream engine error: {item['errorMessage']}",
                    service=SERVICE,
                    retryable=False,
                    details=body.get("data"),
                )
            context = item.get("engineOutputContext") or {}
            outputs.append(
                GeneratedOutput(
                    content=base64.b64decode(item.get("content", "")),
                    mime_type=str(item.get("mimeType", "application/octet-stream")),
                    queue_name=str(context.get("queueName", "")),
                    file_name=str(context.get("fileName", "")),
                    customer_number=str(context.get("customerNumber", "")),
                )
            )
        return outputs

    def generate_pdf(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
    ) -> bytes:
        """Raw PDF bytes (Accept: application/pdf)."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="application/pdf",
        )
        if not response.content.startswith(b"%PDF"):
            raise ExternalServiceError(
                "Exstream answered a PDF request with something that is not a PDF.",
                service=SERVICE,
                retryable=False,
            )
        return response.content

    # --- batch channel ------------------------------------------------------------------------

    def submit_batch(
        self,
        *,
        external_id: str,
        communication: Any,
        records: list[dict[str, Any]],
        domain: str | None = None,
        channel: str | None = None,
    ) -> BatchResult:
        """POST the records to the HTTP batch channel. ``communication`` is an
        ``ExstreamCommunication``; each record carries ``customerKey`` = Colophon message id.
        The external id travels as ``exstream-variable-externalId`` and in the body, so
        ``find_jobs_by_external_id`` can tell after a timeout whether the batch exists."""
        domain = domain or settings.EXSTREAM_DOMAIN
        channel = channel or settings.EXSTREAM_BATCH_CHANNEL
        body = {
            "externalId": external_id,
            "communicationId": communication.communication_id,
            "driverDataSource": communication.prod_dsn,
            "records": records,
        }
        response = self.call(
            "POST",
            f"/orchestration/api/v1/inputs/batch/{domain}/{channel}",
            xsrf=True,
            headers={
                "exstream-variable-externalId": external_id,
                "Content-Type": "application/json",
            },
            data=json.dumps(body).encode(),
            retries=0,  # never resubmit blindly: ask find_jobs_by_external_id first
        )
        instances = list(_json(response).get("data", []))
        if not instances:
            raise ExternalServiceError(
                "Exstream accepted the batch but started no flow instance.",
                service=SERVICE,
                retryable=False,
            )
        return BatchResult(
            job_id=str(instances[0].get("jobId", "")),
            flow_instance_ids=[str(i["id"]) for i in instances],
            external_id=external_id,
            domain=domain,
            channel=channel,
            flow_instances=instances,
        )

    # --- runtime --------------------------------------------------------------------------------

    def _runtime(self, domain: str | None) -> str:
        return f"/orchestration/api/v1/runtime/{domain or settings.EXSTREAM_DOMAIN}"

    def find_jobs_by_external_id(
        self, external_id: str, *, domain: str | None = None
    ) -> list[dict[str, Any]]:
        body = self.get_json(
            f"{self._runtime(domain)}/jobs",
            filter=f"externalId:{external_id}",
            offset=0,
            count=100,
        )
        return list(body.get("data", []))

    def get_job(self, job_id: str, *, domain: str | None = None) -> dict[str, Any]:
        return dict(self.get_json(f"{self._runtime(domain)}/jobs/{job_id}").get("data", {}))

    def list_flow_instances(self, job_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(f"{self._runtime(domain)}/flow-instances", filter=f"jobId:{job_id}")
        return list(body.get("data", []))

    def list_flow_steps(self, flow_instance_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(
            f"{self._runtime(domain)}/flow-steps", filter=f"flowInstanceId:{flow_instance_id}"
        )
        return list(body.get("data", []))

    def delivery_file(self, step_id: str, *, domain: str | None = None) -> bytes:
        response = self.call(
            "GET",
            f"{self._runtime(domain)}/flow-steps/{step_id}/delivery-file",
            params={"download": "true"},
        )
        return response.content

    def _control(self, path: str, **params: Any) -> str:
        response = self.call("POST", path, params=params or None, retries=0)
        try:
            body = response.json()
        except ValueError:
            return response.text
        return str(body.get("message", "")) if isinstance(body, dict) else str(body)

    def stop_job(self, job_id: str, *, domain: str | None = None) -> str:
        return self._control(f"{self._runtime(domain)}/jobs/{job_id}/stop")

    def reprocess_job(self, job_id: str, *, domain: str | None = None) -> str:
        return self._control(
            f"{self._runtime(domain)}/jobs/{job_id}/reprocessing",
            useCurrentFlowModel="true",
            useCurrentFlowContext="false",
        )

    def release_step(self, step_id: str, *, domain: str | None = None) -> str:
        return self._control(f"{self._runtime(domain)}/flow-steps/{step_id}/release")

    # --- CXI e-mail events ----------------------------------------------------------------------

    def email_events(
        self,
        *,
        start_ms: int,
        end_ms: int,
        domain: str | None = None,
        connector_type: str = "EMAIL",
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every e-mail event whose lastUpdateTime is in [start, end), page by page."""
        domain = domain or settings.EXSTREAM_DOMAIN
        offset = 0
        while True:
            body = self.get_json(
                f"/ei/api/v1/eventmetrics/email-event/{tenant()}/{domain}/content",
                connectorType=connector_type,
                lastUpdateTimeStart=start_ms,
                lastUpdateTimeEnd=end_ms,
                offset=offset,
                count=page_size,
            )
            page = list(body.get("data", []))
            yield from page
            offset += len(page)
            total = (body.get("page") or {}).get("totalElements")
            if not page or len(page) < page_size or (total is not None and offset >= total):
                return


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ExternalServiceError(
            f"Exstream answered {response.status_code} with a body that is not JSON.",
            service=SERVICE,
            retryable=False,
            status=response.status_code,
        ) from exc
