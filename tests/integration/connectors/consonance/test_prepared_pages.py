"""prepared_pages: the page's records are mapped on the prefetch thread, while the caller stores
the page before; what the mapping raises, and malformed pages, surface in the caller."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from integration.connectors.consonance.client import ConsonanceClient
from integration.lib.http import ExternalServiceError


class Pages(requests.Session):
    """Keyset pages of two works, then a short page, then an empty one."""

    def __init__(self, pages: list[Any]) -> None:
        super().__init__()
        self.pages = pages
        self.asked: list[Any] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.asked.append(kwargs["json"]["variables"].get("after"))
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps({"data": {"works": self.pages.pop(0)}}).encode()
        response.url = url
        return response


def client(pages: list[Any]) -> ConsonanceClient:
    return ConsonanceClient(url="https://consonance.test", key="k" * 32, session=Pages(pages))


@pytest.mark.parametrize("prefetch", [True, False])
def test_each_page_is_prepared_once_on_the_fetching_thread(prefetch):
    threads: list[str] = []

    def prepare(records: list[dict[str, Any]]) -> list[int]:
        threads.append(threading.current_thread().name)
        return [r["id"] * 10 for r in records]

    c = client([[{"id": 1}, {"id": 2}], [{"id": 3}], []])
    got = list(c.prepared_pages("WorksPage", "works", prepare, prefetch=prefetch))
    assert got == [([{"id": 1}, {"id": 2}], 2, [10, 20]), ([{"id": 3}], 3, [30])]
    main = threading.current_thread().name
    assert (main not in threads) if prefetch else (threads == [main, main])
    # Plain pages() is the same paging without the mapping.
    plain = client([[{"id": 1}, {"id": 2}], [{"id": 3}], []])
    assert list(plain.pages("WorksPage", "works", prefetch=prefetch)) == [
        ([{"id": 1}, {"id": 2}], 2),
        ([{"id": 3}], 3),
    ]


def test_a_failing_prepare_surfaces_in_the_caller():
    def prepare(records: list[dict[str, Any]]) -> None:
        raise ValueError("cannot map")

    pages = client([[{"id": 1}]]).prepared_pages("WorksPage", "works", prepare, prefetch=True)
    with pytest.raises(ValueError, match="cannot map"):
        next(pages)


def test_a_malformed_page_is_not_prepared_and_says_what_is_wrong():
    calls: list[Any] = []
    pages = client([[{"id": 1}, "not a record"]]).prepared_pages(
        "WorksPage", "works", calls.append, prefetch=True
    )
    with pytest.raises(ExternalServiceError, match="no integer id"):
        next(pages)
    assert calls == []


def test_the_next_page_is_requested_while_this_one_is_being_prepared():
    c = client([[{"id": 1}, {"id": 2}], [{"id": 3}], []])
    session = c.session
    assert isinstance(session, Pages)
    next_asked = threading.Event()
    original = session.request

    def request(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs["json"]["variables"].get("after") == 2:
            next_asked.set()
        return original(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    waited: list[bool] = []

    def prepare(records: list[dict[str, Any]]) -> None:
        if records[0]["id"] == 1:
            # Page 1 is prepared only once page 2 has been asked for: no waiting in line.
            waited.append(next_asked.wait(timeout=10))

    assert [
        last for _r, last, _p in c.prepared_pages("WorksPage", "works", prepare, prefetch=True)
    ] == [2, 3]
    assert waited == [True]


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_page_shorter_than_the_one_before_is_not_the_last(prefetch):
    """Reference §2: whether the server caps a page is unconfirmed; loop until an empty page. A
    server whose pages vary in size (a cap by cost, not by count) still has works after a
    shorter page."""
    c = client([[{"id": 1}, {"id": 2}, {"id": 3}], [{"id": 4}], [{"id": 5}, {"id": 6}], []])
    got = [last for _records, last in c.pages("WorksPage", "works", prefetch=prefetch)]
    assert got == [3, 4, 6]
    session = c.session
    assert isinstance(session, Pages) and session.asked == [None, 3, 4, 6]


def test_a_variable_without_a_value_is_left_out_not_sent_as_null():
    """A full sync has no ``changedSince`` and the first page no ``after``. Sent as explicit
    nulls, a server reads ``changedSince: null`` (the reference's own example declares
    ``$since: ISO8601Date!``); left out, the filter is simply absent (GraphQL input coercion)."""
    c = client([[{"id": 1}], []])
    session = c.session
    assert isinstance(session, Pages)
    sent: list[dict[str, Any]] = []
    original = session.request

    def request(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(dict(kwargs["json"]["variables"]))
        return original(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    assert [last for _r, last in c.pages("WorksPage", "works", prefetch=False)] == [1]
    assert sent == [{}, {"after": 1}]
