"""The one choke point for outbound HTTP (Consonance, Exstream, anything else).

* a default timeout on every call;
* bounded retries on connection errors, timeouts, 429 and 5xx, honouring ``Retry-After``
  (capped), with exponential back-off and jitter otherwise;
* ``ExternalServiceError`` says in words what went wrong and whether retrying can help;
* every attempt is reported to an optional ``on_attempt`` callback so callers can save it as a row;
* ``json_body`` decodes a JSON answer (orjson, falling back to the standard library).

Secrets never appear in errors: URLs are stripped of query strings and bodies are truncated.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests
from django.conf import settings
from django.utils import timezone

from accounts.masking import mask_text

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ExternalServiceError(Exception):
    """A call to another system failed.

    ``retryable`` is True when trying again later may succeed (timeouts, 429, 5xx, connection
    errors) and False when it will not without a change (bad credentials, validation errors).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        retryable: bool,
        status: int | None = None,
        body: str = "",
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.retryable = retryable
        self.status = status
        self.body = body[:2000]
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.service}: {self.message}"


@dataclass
class Attempt:
    service: str
    method: str
    url: str
    status: int | None
    duration_ms: int
    error: str
    attempt: int


def _safe_url(url: str) -> str:
    return url.split("?", 1)[0]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    cap = float(getattr(settings, "HTTP_RETRY_MAX_SECONDS", 30.0))
    if retry_after is not None:
        return min(retry_after, cap)
    base = float(getattr(settings, "HTTP_RETRY_BASE_SECONDS", 0.5))
    return min(cap, base * (2 ** (attempt - 1)) * (0.5 + random.random()))


_session = requests.Session()


def request(
    method: str,
    url: str,
    *,
    service: str,
    timeout: float | None = None,
    retries: int | None = None,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    raise_for_status: bool = True,
    give_up: Callable[[ExternalServiceError], bool] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one logical request with bounded retries. Returns the response or raises
    ``ExternalServiceError``. Non-retryable HTTP errors (4xx but 408/425/429) are raised at once,
    and so is an error for which ``give_up`` says the caller has a better remedy than waiting
    (e.g. an expired token surfacing as a 500: the caller refreshes it instead)."""
    timeout = timeout if timeout is not None else float(settings.HTTP_TIMEOUT_SECONDS)
    retries = retries if retries is not None else int(settings.HTTP_MAX_RETRIES)
    sess = session or _session
    last_error: ExternalServiceError | None = None
    for attempt in range(1, retries + 2):
        started = time.monotonic()
        response: requests.Response | None = None
        error: ExternalServiceError | None = None
        try:
            response = sess.request(method, url, headers=headers, timeout=timeout, **kwargs)
        except requests.Timeout:
            error = ExternalServiceError(
                f"{method} {_safe_url(url)} timed out after {timeout:g}s.",
                service=service,
                retryable=True,
            )
        except requests.ConnectionError as exc:
            error = ExternalServiceError(
                f"Could not connect to {_safe_url(url)}: {mask_text(str(exc))[:300]}",
                service=service,
                retryable=True,
            )
        duration_ms = int((time.monotonic() - started) * 1000)
        if response is not None and raise_for_status and response.status_code >= 400:
            error = error_from_response(response, service=service, method=method)
        if on_attempt is not None:
            on_attempt(
                Attempt(
                    service=service,
                    method=method,
                    url=_safe_url(url),
                    status=response.status_code if response is not None else None,
                    duration_ms=duration_ms,
                    error=error.message if error else "",
                    attempt=attempt,
                )
            )
        if error is None:
            assert response is not None
            return response
        last_error = error
        if not error.retryable or attempt > retries or (give_up is not None and give_up(error)):
            break
        wait = backoff_seconds(attempt, error.retry_after)
        logger.info("%s; retrying in %.1fs (attempt %d of %d)", error, wait, attempt, retries + 1)
        sleep(wait)
    assert last_error is not None
    raise last_error


def json_body(response: requests.Response) -> Any:
    """The response's JSON body. Decoded with orjson (a page of records several times faster
    than the standard library); a body orjson refuses (not UTF-8, ``NaN``) is decoded by
    ``response.json()`` as before, which raises ``ValueError`` when it is not JSON at all.
    One difference: orjson reads an integer beyond 64 bits as a float. Consonance's ids are
    GraphQL ``Int`` (32-bit by the GraphQL specification); the REST v4 reference gives its
    integers no range, and this reading assumes none is beyond 64 bits."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def error_from_response(
    response: requests.Response, *, service: str, method: str = ""
) -> ExternalServiceError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    body = mask_text(response.text[:2000]) if response.content else ""
    where = f"{method} {_safe_url(response.url)}".strip()
    if status == 401:
        message = f"{where} was refused (401): the credentials are missing, wrong or expired."
    elif status == 403:
        message = f"{where} was forbidden (403): the credentials lack permission."
    elif status == 404:
        message = f"{where} was not found (404)."
    elif status == 429:
        message = f"{where} was rate-limited (429)" + (
            f"; the service asked us to wait {retry_after:g}s." if retry_after is not None else "."
        )
    elif status >= 500:
        message = f"{where} failed on the server side ({status})."
    else:
        message = f"{where} was rejected ({status})."
    return ExternalServiceError(
        message,
        service=service,
        retryable=status in RETRYABLE_STATUSES,
        status=status,
        body=body,
        retry_after=retry_after,
    )
