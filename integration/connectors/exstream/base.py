"""What the Exstream API families share: the transport they call through (implemented by
``client.ExstreamClient``: OTDS token, XSRF, retries) and the typed-response helpers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from django.conf import settings

from integration.connectors.exstream import models as m
from integration.connectors.exstream.errors import readable_error
from integration.lib.http import ExternalServiceError

logger = logging.getLogger(__name__)


T = TypeVar("T")

SERVICE = "Exstream"


class Transport:
    """The calls an API family makes; ``ExstreamClient`` provides them."""

    def call(
        self,
        method: str,
        path: str,
        *,
        xsrf: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        raise NotImplementedError

    def get_json(self, path: str, **params: Any) -> Any:
        raise NotImplementedError

    def listed(self, path: str, what: str, *, count: int = 100, **params: Any) -> Iterator[Any]:
        """Every item of a list endpoint that takes ``offset``/``count`` (DAS lists, reference
        §3; the runtime ``filterRequest``, §6), page by page.

        Whether a server caps ``count``, or what it serves when ``count`` is absent, is not
        documented. So the list ends at an empty page, or when the page envelope's
        ``totalElements`` has been read; only without that total does a page shorter than asked
        end it (a capped page is never taken for the last while the total says more). A server
        that answers the same page whatever the offset is read once."""
        offset = 0
        first: list[Any] | None = None
        while True:
            body = self.get_json(path, **params, offset=offset, count=count)
            items = _parsed(functools.partial(m.items_of, body, what))
            if not items or items == first:
                return
            first = first if first is not None else items
            yield from items
            offset += len(items)
            total = m.Page.parse(body).total_elements
            if (total is not None and offset >= total) or (total is None and len(items) < count):
                return


def _parsed(build: Callable[[], T]) -> T:
    """Run a typed-model parse; a contract breach becomes a non-retryable service error."""
    try:
        return build()
    except m.ContractError as exc:
        raise ExternalServiceError(str(exc), service=SERVICE, retryable=False) from exc


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
