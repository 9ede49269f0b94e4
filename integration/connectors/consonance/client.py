"""The Consonance client: GraphQL (``POST {base}/graphql``, ``Authorization: Bearer``) and the
legacy REST v4 products endpoint (``Authorization: Token token=...``) as a fallback.

Every call goes through ``integration.lib.http.request`` (timeouts, retries honouring Retry-After).
Paging is keyset on ``after`` until an empty page, as the reference says (§2: whether the server
caps a page is unconfirmed, and a page shorter than the one before is not taken for the last: a
server may cap pages by cost rather than by count).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import requests
from django.conf import settings

from integration.connectors.consonance.schema import (
    INTROSPECTION,
    INTROSPECTION_OPERATION,
    Fitted,
    as_shipped,
    fit_document,
    schema_from_introspection,
)
from integration.lib import http
from integration.lib.http import ExternalServiceError

SERVICE = "Consonance"
P = TypeVar("P")
QUERIES = Path(__file__).with_name("queries")
SANDBOX_KEY = "sandbox-key"


@cache
def load_query(name: str) -> str:
    """A query document from ``integration/connectors/consonance/queries/<name>.graphql``."""
    return (QUERIES / f"{name}.graphql").read_text(encoding="utf-8")


@cache
def shipped(name: str) -> Fitted:
    """The shipped document as it is, with the variables it declares."""
    return as_shipped(name, load_query(name))


def base_url() -> str:
    """CONSONANCE_URL, or the built-in sandbox when it is unset."""
    return settings.CONSONANCE_URL or f"{settings.SANDBOX_BASE_URL}/sandbox/consonance"


def api_key() -> str:
    """CONSONANCE_API_KEY for the real Consonance; the sandbox's own key against the sandbox
    (CONSONANCE_URL unset): the real key is never sent to the sandbox."""
    if not settings.CONSONANCE_URL:
        return SANDBOX_KEY
    return str(getattr(settings, "CONSONANCE_API_KEY", "") or "")


def _error_text(error: Any) -> str:
    """One payload error. The reference's examples disagree on its shape (``{field message}``,
    ``{attribute message}``, ``{field messages}``): every reading is accepted."""
    if not isinstance(error, dict):
        return str(error)
    where = error.get("field") or error.get("attribute") or "?"
    message = error.get("message") or "; ".join(str(m) for m in error.get("messages") or [])
    return f"{where}: {message}"


class ConsonanceClient:
    def __init__(
        self,
        *,
        url: str | None = None,
        key: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
    ) -> None:
        self.url = (url or base_url()).rstrip("/")
        self.key = key if key is not None else api_key()
        self.session = session or requests.Session()
        self.sleep = sleep
        self.timeout = timeout
        self._schema_loaded = False
        self._schema: Any = None
        self.schema_note = ""
        self._fitted: dict[str, Fitted] = {}

    # --- GraphQL ---------------------------------------------------------------------------------

    def graphql(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the named query document and return ``data``. Raises ``ExternalServiceError`` with
        the operation name on GraphQL ``errors[]`` or an unexpected response shape.

        After ``fit(operation)`` the document fitted to this server's schema is sent (with only
        the variables it still declares); otherwise the shipped document."""
        fitted = self._fitted.get(operation) or shipped(operation)
        # Only the variables the document declares (a server may refuse undeclared ones), and
        # only those with a value: a variable left out makes its input field absent (GraphQL
        # input coercion), while an explicit null reaches the server as ``changedSince: null``
        # or ``after: null``, which the reference never shows (its example declares
        # ``$since: ISO8601Date!``) and a server may refuse.
        sent = {
            k: v for k, v in (variables or {}).items() if k in fitted.variables and v is not None
        }
        return self._post(operation, fitted.source, sent)

    def server_schema(self) -> Any:
        """This server's schema by introspection, asked once per client (one client per sync
        run). ``None`` when the server refuses introspection (GraphQL errors): the shipped,
        documented documents are then sent as they are and ``schema_note`` says so. HTTP
        failures (404, 5xx …) raise as for any other call."""
        if not self._schema_loaded:
            try:
                data = self._post(INTROSPECTION_OPERATION, INTROSPECTION, {})
                self._schema = schema_from_introspection(data)
            except ExternalServiceError as exc:
                if not isinstance(exc.details, list):  # not GraphQL errors: HTTP, malformed …
                    raise
                self._schema = None
                self.schema_note = (
                    "Consonance did not describe its schema (introspection failed: "
                    f"{str(exc)[:200]}); the documented fields were requested as they are."
                )
            except (TypeError, ValueError, KeyError) as exc:
                self._schema = None
                self.schema_note = (
                    f"Consonance's schema description could not be read ({exc}); the documented "
                    "fields were requested as they are."
                )
            self._schema_loaded = True
        return self._schema

    def fit(self, operation: str) -> Fitted:
        """The named document fitted to this server's schema (introspected once), cached."""
        if operation not in self._fitted:
            schema = self.server_schema()
            source = load_query(operation)
            self._fitted[operation] = (
                as_shipped(operation, source)
                if schema is None
                else fit_document(operation, source, schema)
            )
        return self._fitted[operation]

    def _post(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if not self.key:
            raise ExternalServiceError(
                "CONSONANCE_API_KEY is not set; add the key from Consonance's settings page.",
                service=SERVICE,
                retryable=False,
            )
        response = http.request(
            "POST",
            f"{self.url}/graphql",
            service=SERVICE,
            session=self.session,
            sleep=self.sleep,
            timeout=self.timeout,
            # Reference §1: Content-Type "application/json; charset=utf-8" (requests would
            # send it without the charset). ``operationName`` is standard GraphQL over HTTP.
            headers={
                "Authorization": f"Bearer {self.key}",
                "Accept": "application/json",
                "Content-Type": "application/json; charset=utf-8",
            },
            json={"query": query, "operationName": operation, "variables": variables},
        )
        try:
            body = http.json_body(response)
        except ValueError as exc:
            raise ExternalServiceError(
                f"{operation}: Consonance answered with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')}).",
                service=SERVICE,
                retryable=True,
                status=response.status_code,
                body=response.text,
            ) from exc
        if not isinstance(body, dict):
            raise ExternalServiceError(
                f"{operation}: expected a JSON object with 'data', got {type(body).__name__}.",
                service=SERVICE,
                retryable=False,
                status=response.status_code,
            )
        errors = body.get("errors")
        if errors:
            messages = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:5]
            )
            raise ExternalServiceError(
                f"{operation}: Consonance returned GraphQL errors: {messages}",
                service=SERVICE,
                retryable=False,
                status=response.status_code,
                details=errors,
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise ExternalServiceError(
                f"{operation}: the response has no 'data' object.",
                service=SERVICE,
                retryable=False,
                status=response.status_code,
            )
        return data

    def pages(
        self,
        operation: str,
        root: str,
        *,
        since: str | None = None,
        after: int | None = None,
        prefetch: bool | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Yield ``(records, last_id)`` per keyset page of ``root`` until an empty page.

        With ``prefetch`` the next page is requested (one request in flight, on a helper
        thread) while the caller stores the current one, so a sync costs little more than the
        fetch itself. Errors surface in the caller's thread when that page is reached."""
        for records, last, _ in self.prepared_pages(
            operation, root, None, since=since, after=after, prefetch=prefetch
        ):
            yield records, last

    def prepared_pages(
        self,
        operation: str,
        root: str,
        prepare: Callable[[list[dict[str, Any]]], P] | None,
        *,
        since: str | None = None,
        after: int | None = None,
        prefetch: bool | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None, P | None]]:
        """As ``pages``, yielding ``(records, last_id, prepare(records))``. With prefetch,
        ``prepare`` (pure code, no database: e.g. mapping the records) runs on a second helper
        thread as soon as the page arrives, so it overlaps both the caller storing the page
        before and the request for the page after (which is sent as soon as this page's last
        id is known, not after it is prepared). What it raises surfaces in the caller's thread
        when that page is reached."""
        if prefetch is None:
            prefetch = bool(getattr(settings, "CONSONANCE_PREFETCH", True))
        executor = ThreadPoolExecutor(max_workers=1) if prefetch else None
        preparer = ThreadPoolExecutor(max_workers=1) if prefetch and prepare else None

        def fetch(after_id: int | None) -> tuple[dict[str, Any], Future[P] | None]:
            data = self.graphql(operation, {"since": since, "after": after_id})
            records = data.get(root)
            well_formed = isinstance(records, list) and all(isinstance(r, dict) for r in records)
            # Malformed pages are left to the checks below, which say what is wrong.
            if prepare is None or not well_formed or not records:
                return data, None
            if preparer is not None:
                return data, preparer.submit(prepare, records)
            done: Future[P] = Future()
            try:
                done.set_result(prepare(records))
            except Exception as exc:
                done.set_exception(exc)
            return data, done

        try:
            pending: Future[tuple[dict[str, Any], Future[P] | None]] | None = (
                executor.submit(fetch, after) if executor else None
            )
            while True:
                data, preparing = pending.result() if pending is not None else fetch(after)
                pending = None
                records = data.get(root)
                if not isinstance(records, list):
                    raise ExternalServiceError(
                        f"{operation}: expected a list under '{root}', "
                        f"got {type(records).__name__}.",
                        service=SERVICE,
                        retryable=False,
                    )
                if not records:
                    return
                ids: list[int] = [
                    r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), int)
                ]
                if len(ids) != len(records):
                    raise ExternalServiceError(
                        f"{operation}: a record in '{root}' has no integer id.",
                        service=SERVICE,
                        retryable=False,
                    )
                last = max(ids)
                if after is not None and last <= after:
                    raise ExternalServiceError(
                        f"{operation}: paging did not advance past id {after}.",
                        service=SERVICE,
                        retryable=False,
                    )
                after = last
                if executor is not None:
                    pending = executor.submit(fetch, after)
                yield records, after, (preparing.result() if preparing is not None else None)
        finally:
            # The fetcher first: it is what hands work to the preparer.
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            if preparer is not None:
                preparer.shutdown(wait=True, cancel_futures=True)

    def works_pages(
        self, *, since: str | None = None, after: int | None = None, prefetch: bool | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        return self.pages("WorksPage", "works", since=since, after=after, prefetch=prefetch)

    def prepared_works_pages(
        self,
        prepare: Callable[[list[dict[str, Any]]], P],
        *,
        since: str | None = None,
        after: int | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None, P | None]]:
        """``works_pages`` with ``prepare`` run on the prefetch thread (``prepared_pages``)."""
        return self.prepared_pages("WorksPage", "works", prepare, since=since, after=after)

    def prepared_contracts_pages(
        self, prepare: Callable[[list[dict[str, Any]]], P], *, after: int | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], int | None, P | None]]:
        """``contracts_pages`` with ``prepare`` run on the prefetch thread."""
        return self.prepared_pages("ContractsPage", "contracts", prepare, after=after)

    def contracts_pages(
        self, *, after: int | None = None, prefetch: bool | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Every contract, keyset paged: ContractSearchAttributes has no ``changedSince``."""
        return self.pages("ContractsPage", "contracts", after=after, prefetch=prefetch)

    def mutate(self, operation: str, input_: dict[str, Any]) -> dict[str, Any]:
        """Run a write-back mutation; payload ``errors`` become an ``ExternalServiceError``.

        The document is first fitted to the server's schema (introspected once per client): the
        payload's error type is not the same in every example the reference cites, so the
        ``errors`` fields asked for are the ones this server has (``schema.ERROR_FIELDS``)."""
        try:
            fitted = self.fit(operation)
        except ExternalServiceError as exc:
            if exc.retryable:
                raise
            # Introspection refused over HTTP (a 4xx): the documented mutation goes as shipped.
            fitted = self._fitted[operation] = shipped(operation)
        if fitted.missing:
            raise ExternalServiceError(
                f"{operation}: this Consonance does not offer {', '.join(fitted.missing)}.",
                service=SERVICE,
                retryable=False,
            )
        data = self.graphql(operation, {"input": input_})
        payload = next(iter(data.values()), None)
        if not isinstance(payload, dict):
            raise ExternalServiceError(
                f"{operation}: no payload returned.", service=SERVICE, retryable=False
            )
        if payload.get("errors"):
            text = "; ".join(_error_text(e) for e in payload["errors"])
            raise ExternalServiceError(
                f"{operation}: Consonance refused the change: {text}",
                service=SERVICE,
                retryable=False,
                details=payload["errors"],
            )
        return payload

    # --- REST v4 (fallback for products) ---------------------------------------------------------

    def rest_products(self) -> Iterator[dict[str, Any]]:
        """Every product from ``/api/v4/products.json``: read ``total_pages`` from page 1."""
        for products, _page, _total in self.rest_product_pages():
            yield from products

    def rest_product_pages(
        self, *, start: int = 1
    ) -> Iterator[tuple[list[dict[str, Any]], int, int]]:
        """Yield ``(products, page, total_pages)`` from page ``start`` to ``total_pages`` (as the
        latest page reports it, so a catalogue growing mid-run is read to its end)."""
        page, total = max(1, start), max(1, start)
        while page <= total:
            response = http.request(
                "GET",
                f"{self.url}/api/v4/products.json",
                service=SERVICE,
                session=self.session,
                sleep=self.sleep,
                timeout=self.timeout,
                params={"page": page},
                headers={"Authorization": f"Token token={self.key}"},
            )
            try:
                body = http.json_body(response)
                products = body["products"]
                total = int(body["total_pages"])
                if not isinstance(products, list):
                    raise TypeError(f"'products' is a {type(products).__name__}, not a list")
            except (ValueError, KeyError, TypeError) as exc:
                raise ExternalServiceError(
                    f"REST products page {page}: unexpected response shape ({exc}).",
                    service=SERVICE,
                    retryable=False,
                ) from exc
            yield products, page, total
            page += 1
