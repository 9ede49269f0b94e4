"""The Exstream client: OTDS tokens, XSRF and the transport, combined with the API families —
the DAS catalogue chain (``design.py``), and on-demand generation, the HTTP batch channel, the
runtime API and CXI e-mail events (``orchestration.py``).

Every call goes through ``integration.lib.http.request`` (timeouts, bounded retries on 429/5xx and
connection errors honouring Retry-After). On top of that this client

* fetches an OTDS client-credentials token (OpenText cloud JSON form, or the self-hosted
  form-encoded form when the token URL contains ``/otdsws/`` or ``/otdstenant/``), caches it in
  the Django cache (shared by processes when the cache is) and refreshes it at 80% of
  ``expires_in``;
* on a 401, or a 500 whose body mentions OTDS (an expired token surfaces that way), drops the
  token and retries once with a fresh one, at once (the choke point's back-off retries are for
  a busy server, not for an expired token);
* with each token, reads ``XSRF-TOKEN`` from ``GET /orchestration/api/v1/version`` and sends
  it as ``X-Xsrf-Token`` and as a cookie on every orchestration POST (input channels need it,
  documented; whether ``generate`` ever demands it is unconfirmed, so it is sent there too);
  a 403 re-reads it once, and a second 403 is reported as a refused XSRF token;
* parses every response through the typed models in ``models.py`` (extra fields kept, a missing
  required field reported as a non-retryable ``ExternalServiceError`` naming it);
* turns both documented error envelopes into readable messages (``errors.readable_error``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache

from integration.connectors.exstream import models as m
from integration.connectors.exstream.base import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SERVICE,
    _json,
    _xsrf_error,
    base_url,
    token_form,
    token_url,
    using_sandbox,
)
from integration.connectors.exstream.design import DesignApi
from integration.connectors.exstream.errors import is_token_failure, readable_error
from integration.connectors.exstream.orchestration import OrchestrationApi
from integration.lib import http
from integration.lib.http import ExternalServiceError

logger = logging.getLogger(__name__)


TOKEN_REFRESH_FRACTION = 0.8

# Used only when EXSTREAM_URL is unset (the built-in sandbox); see sandbox/exstream/views.py.


class ExstreamClient(DesignApi, OrchestrationApi):
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
        try:
            response = self._send("GET", "/orchestration/api/v1/version", access_token)
        except ExternalServiceError as exc:
            # Whether generate needs XSRF at all is unconfirmed (reference §2; the SDK sends
            # only the bearer token): a server refusing /version (4xx other than a token
            # failure) is asked without it, and a 403 on the POST still names the token.
            if exc.status is None or exc.status >= 500 or is_token_failure(exc):
                raise
            logger.warning("Exstream refused /orchestration/api/v1/version (%s).", exc.status)
            self._xsrf = (access_token, "")
            return ""
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
            # An expired token (401, or a 500 naming OTDS) is refreshed by ``call`` at once
            # (reference §10), not retried with back-off as if the server were busy.
            give_up=is_token_failure,
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
