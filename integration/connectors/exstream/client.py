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
* with each token, reads ``XSRF-TOKEN`` from ``GET /orchestration/api/v1/version`` and sends
  it as ``X-Xsrf-Token`` and as a cookie on every orchestration POST (input channels need it,
  documented; whether ``generate`` ever demands it is unconfirmed, so it is sent there too);
  a 403 re-reads it once, and a second 403 is reported as a refused XSRF token;
* parses every response through the typed models in ``models.py`` (extra fields kept, a missing
  required field reported as a non-retryable ``ExternalServiceError`` naming it);
* turns both documented error envelopes into readable messages (``errors.readable_error``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, tostring

import requests
from django.conf import settings
from django.core.cache import cache

from integration.connectors.exstream import models as m
from integration.connectors.exstream.driver import JSON, XML, encode_driver, nest, xml_record
from integration.connectors.exstream.errors import is_token_failure, readable_error
from integration.lib import http
from integration.lib.http import ExternalServiceError

logger = logging.getLogger(__name__)
T = TypeVar("T")

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
            parsed = m.TokenResponse.parse(response.json())
        except (ValueError, m.ContractError) as exc:
            raise ExternalServiceError(
                f"OTDS answered without an access_token ({exc}).", service=SERVICE, retryable=True
            ) from exc
        token, expires_in = parsed.access_token, parsed.expires_in
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
        """The XSRF token for this access token ('' when Exstream sets none: then the call
        goes without it, and a 403 names the missing token)."""
        if self._xsrf and self._xsrf[0] == access_token:
            return self._xsrf[1]
        response = self._send("GET", "/orchestration/api/v1/version", access_token)
        value = response.cookies.get("XSRF-TOKEN") or self.session.cookies.get("XSRF-TOKEN") or ""
        if not value:
            logger.warning("Exstream set no XSRF-TOKEN cookie on /orchestration/api/v1/version.")
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
        self, method: str, path: str, *, xsrf: bool | None = None, **kwargs: Any
    ) -> requests.Response:
        """One authenticated call; refreshes the token and retries once on 401 (or an OTDS
        500), and re-reads XSRF once on a 403. ``xsrf`` defaults to True for POSTs under
        ``/orchestration/``."""
        if xsrf is None:
            xsrf = method.upper() == "POST" and path.startswith("/orchestration/")
        token_retried = False
        xsrf_refreshed = False
        while True:  # at most three rounds: one token refresh, one XSRF refresh
            token = self.access_token()
            xsrf_value = None
            try:
                xsrf_value = self._xsrf_token(token) if xsrf else None
                return self._send(method, path, token, xsrf=xsrf_value, **kwargs)  # type: ignore[no-any-return]
            except ExternalServiceError as exc:
                if not token_retried and is_token_failure(exc):
                    token_retried = True
                    self.forget_token()
                    continue
                if xsrf and exc.status == 403:
                    if not xsrf_refreshed:
                        xsrf_refreshed = True
                        self._xsrf = None
                        continue
                    raise _xsrf_error(exc, xsrf_value or "") from exc
                raise readable_error(exc) from exc

    def get_json(self, path: str, **params: Any) -> Any:
        return _json(self.call("GET", path, params=params or None))

    # --- design (DAS) -------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return dict(self.get_json("/orchestration/api/v1/version"))

    def list_domains(self) -> list[m.Domain]:
        body = self.get_json("/design/api/v1/domains")
        return _parsed(lambda: [m.Domain.parse(d) for d in m.items_of(body, "domain list")])

    def list_approved_communications(self, domain: str) -> list[m.ResourceVersion]:
        """Approved, latest exstrapplication resources (paged 100 at a time)."""
        items: list[m.ResourceVersion] = []
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
            page: list[m.ResourceVersion] = _parsed(functools.partial(_resources, body))
            items.extend(page)
            total = m.Page.parse(body).total_elements
            offset += len(page)
            if not page or len(page) < 100 or (total is not None and offset >= total):
                return items

    def links(self, domain: str, subject_id: str, *, type_id: str) -> list[m.Link]:
        """Links of a subject whose object is of ``type_id``. The server is asked to filter;
        the result is filtered again on ``typeId`` (without a filter other links come back
        too, in any order)."""
        body = self.get_json(
            f"/design/api/v1/links/{domain}",
            linkSubjectId=subject_id,
            linkDepth=2,
            **{"filter.types": type_id},
        )
        links = _parsed(lambda: [m.Link.parse(item) for item in m.items_of(body, "link list")])
        return [link for link in links if link.type_id == type_id]

    def communication_set_id(self, domain: str, communication_id: str) -> str | None:
        links = self.links(domain, communication_id, type_id="exstrcommunicationset")
        return links[0].link_object_id if links else None

    def sample_file_id(self, domain: str, communication_id: str) -> str | None:
        """The id of the communication's driver sample (a linked ``samplefile`` resource)."""
        links = self.links(domain, communication_id, type_id="samplefile")
        return links[0].link_object_id if links else None

    def resource_content(self, domain: str, resource_id: str) -> bytes:
        """``GET /design/api/v1/resources/{domain}/{id}/content``: the resource as uploaded."""
        response = self.call("GET", f"/design/api/v1/resources/{domain}/{resource_id}/content")
        return bytes(response.content)

    def manifest(self, domain: str, set_id: str) -> m.Manifest:
        body = self.get_json(f"/design/api/v1/manifests/{domain}/communication-set/{set_id}")
        return _parsed(lambda: m.Manifest.parse(body))

    # --- on-demand generation -----------------------------------------------------------------

    def _generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        accept: str,
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> requests.Response:
        body, content_type = encode_driver(driver_data, format=driver_format, root=driver_root)
        return self.call(
            "POST",
            f"/orchestration/api/v1/inputs/ondemand/{domain}/generate",
            headers={
                "communicationId": communication_id,
                "driverDataSource": driver_data_source,
                "Content-Type": content_type,
                "Accept": accept,
            },
            data=body,
        )

    def generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> list[GeneratedOutput]:
        """The JSON envelope: one base64 output per queue. ``driver_data`` may be flat (dotted
        keys) or nested; it is sent shaped like the sample (nested JSON, or XML)."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="*/*",
            driver_format=driver_format,
            driver_root=driver_root,
        )
        body = _json(response)
        items = _parsed(
            lambda: [m.EngineOutput.parse(i) for i in m.items_of(body, "generate response")]
        )
        errors = [i for i in items if i.error_message]
        if errors:
            raise ExternalServiceError(
                "Exstream engine error: " + "; ".join(i.error_message for i in errors),
                service=SERVICE,
                retryable=False,
                details=[i.raw for i in errors],
            )
        outputs = []
        for item in items:
            try:
                content = base64.b64decode(item.content, validate=False)
            except ValueError as exc:
                raise ExternalServiceError(
                    f"Exstream returned an output that is not base64 ({exc}).",
                    service=SERVICE,
                    retryable=False,
                ) from exc
            outputs.append(
                GeneratedOutput(
                    content=content,
                    mime_type=item.mime_type,
                    queue_name=item.queue_name,
                    file_name=item.file_name,
                    customer_number=item.customer_number,
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
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> bytes:
        """Raw PDF bytes (Accept: application/pdf)."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="application/pdf",
            driver_format=driver_format,
            driver_root=driver_root,
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
        ``ExstreamCommunication``; each record already carries Colophon's message key at the
        design's customer-key field, and is sent shaped like the driver sample (nested JSON,
        or XML). The external id travels as ``exstream-variable-externalId`` and in the body,
        so ``find_jobs_by_external_id`` can tell after a timeout whether the batch exists.

        Unconfirmed (reference §5): the batch channel's body. Colophon sends one envelope
        ``{externalId, communicationId, driverDataSource, records: [...]}`` (JSON), or for an
        XML sample ``<batch externalId=… communicationId=… driverDataSource=…>`` holding one
        sample-rooted element per record; the channel's flow model must read that shape."""
        domain = domain or settings.EXSTREAM_DOMAIN
        channel = channel or settings.EXSTREAM_BATCH_CHANNEL
        driver_format = getattr(communication, "driver_format", JSON) or JSON
        if driver_format == XML:
            root = Element(
                "batch",
                externalId=external_id,
                communicationId=communication.communication_id,
                driverDataSource=communication.prod_dsn,
            )
            for record in records:
                root.append(xml_record(record, getattr(communication, "driver_root", "")))
            data = tostring(root, encoding="utf-8", xml_declaration=True)
            content_type = "application/xml"
        else:
            body = {
                "externalId": external_id,
                "communicationId": communication.communication_id,
                "driverDataSource": communication.prod_dsn,
                "records": [nest(r) for r in records],
            }
            data = json.dumps(body).encode()
            content_type = "application/json"
        response = self.call(
            "POST",
            f"/orchestration/api/v1/inputs/batch/{domain}/{channel}",
            xsrf=True,
            headers={"exstream-variable-externalId": external_id, "Content-Type": content_type},
            data=data,
            retries=0,  # never resubmit blindly: ask find_jobs_by_external_id first
        )
        body_json = _json(response)
        instances = _parsed(
            lambda: [m.FlowInstance.parse(i) for i in m.items_of(body_json, "batch response")]
        )
        if not instances:
            raise ExternalServiceError(
                "Exstream accepted the batch but started no flow instance.",
                service=SERVICE,
                retryable=False,
            )
        return BatchResult(
            job_id=instances[0].job_id,
            flow_instance_ids=[i.id for i in instances],
            external_id=external_id,
            domain=domain,
            channel=channel,
            flow_instances=[i.raw for i in instances],
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
        return _parsed(lambda: [m.Job.parse(j).raw for j in m.items_of(body, "job list")])

    def get_job(self, job_id: str, *, domain: str | None = None) -> dict[str, Any]:
        body = self.get_json(f"{self._runtime(domain)}/jobs/{job_id}")
        data = body.get("data", body) if isinstance(body, dict) else body
        return _parsed(lambda: m.Job.parse(data).raw)

    def list_flow_instances(self, job_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(f"{self._runtime(domain)}/flow-instances", filter=f"jobId:{job_id}")
        return _parsed(
            lambda: [m.FlowInstance.parse(i).raw for i in m.items_of(body, "flow-instance list")]
        )

    def list_flow_steps(self, flow_instance_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(
            f"{self._runtime(domain)}/flow-steps", filter=f"flowInstanceId:{flow_instance_id}"
        )
        return _parsed(
            lambda: [m.FlowStep.parse(i).raw for i in m.items_of(body, "flow-step list")]
        )

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
            items: list[Any] = _parsed(functools.partial(m.items_of, body, "e-mail event list"))
            for item in items:
                try:
                    m.EmailEvent.parse(item)
                except m.ContractError as exc:
                    # never crash the puller: the event is logged and skipped
                    logger.warning("Skipping an e-mail event Colophon cannot read: %s", exc)
                    continue
                yield item
            offset += len(items)
            total = m.Page.parse(body).total_elements
            if not items or len(items) < page_size or (total is not None and offset >= total):
                return


def _parsed(build: Callable[[], T]) -> T:
    """Run a typed-model parse; a contract breach becomes a non-retryable service error."""
    try:
        return build()
    except m.ContractError as exc:
        raise ExternalServiceError(str(exc), service=SERVICE, retryable=False) from exc


def _resources(body: Any) -> list[m.ResourceVersion]:
    return [m.ResourceVersion.parse(r) for r in m.items_of(body, "resource list")]


def _xsrf_error(exc: ExternalServiceError, sent: str) -> ExternalServiceError:
    """A 403 on an orchestration POST names the XSRF token (not "missing permissions")."""
    readable = readable_error(exc)
    why = (
        "refused the XSRF token (X-Xsrf-Token header and XSRF-TOKEN cookie) even after it was "
        "read again from /orchestration/api/v1/version"
        if sent
        else "wants an XSRF token, and /orchestration/api/v1/version set no XSRF-TOKEN cookie"
    )
    said = ""
    try:
        body = json.loads(exc.body) if exc.body else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        said = f" Exstream said: {body['message']}"
    return ExternalServiceError(
        f"Exstream answered 403: it {why}.{said}",
        service=SERVICE,
        retryable=False,
        status=exc.status,
        body=exc.body,
        details=readable.details,
    )


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
