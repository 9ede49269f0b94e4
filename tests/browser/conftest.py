"""Shared set-up for the browser journeys: the seeded communication types, signing in through
the real login form, and a rights confirmation letter wired to the sandbox Exstream."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.handlers.wsgi import WSGIHandler
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import (
    PASSWORD,
)
from tests.scenarios import rights_letter_setup, sandbox_clients_forgotten

# Playwright's assertions give up after 5 s by default. Under two xdist workers on a two-core
# machine, ReDoc's bundle alone (and its schema) can take longer than that to render; a page
# that truly never shows what a journey expects still fails, fifteen seconds in.
expect.set_options(timeout=15_000)


@pytest.fixture(autouse=True)
def one_browser_request_at_a_time(monkeypatch) -> threading.Lock:
    """The live server shares the test's in-memory SQLite database across its threads, where
    two concurrent writers fail with "database table is locked" (a page with four preview frames
    saves the session four times at once). Serve the browser's requests one at a time; the
    sandbox under /sandbox/ stays outside the lock because the app calls it while serving."""
    lock = threading.Lock()
    serve = WSGIHandler.__call__

    def serialised(self: WSGIHandler, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/sandbox/"):
            return serve(self, environ, start_response)
        with lock:
            return serve(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", serialised)
    return lock  # hold it to write from the test while the browser polls


@pytest.fixture
def communication_types(db) -> None:
    """Transactional tests flush the data migration's communication types; put them back."""
    seed = importlib.import_module("integration.migrations.0003_seed_communication_types")
    seed.seed(apps, None)


@pytest.fixture
def console_errors(page) -> list[str]:
    """Browser console errors (a CSP violation shows up here), every server error and every
    missing resource. A 400 is how a form with bad input answers, so it is not listed."""
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def on_response(response: Any) -> None:
        if response.status == 404 or response.status >= 500:
            errors.append(f"HTTP {response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    return errors


@pytest.fixture
def sign_in(live_server, page) -> Callable[[User | str], None]:
    """``sign_in(user)`` signs in through the login form, signing out whoever was in first."""

    def _sign_in(user: User | str) -> None:
        email = user if isinstance(user, str) else user.email
        # Leave the current page first: a poll still in flight from it would answer after the
        # cookies are cleared and set a CSRF cookie the login form's token no longer matches.
        page.goto("about:blank")
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return _sign_in


@pytest.fixture
def letter(sandbox, imprint_a, settings, communication_types) -> Iterator[dict[str, Any]]:
    """The sandbox Exstream catalogue synced (one letter), a rights confirmation template for
    imprint A mapped to the title, contract and recipient, and an uploaded list of three agents.
    Dispatch sends chunks of two, so three recipients make two chunks."""
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    yield rights_letter_setup(imprint=imprint_a, domains=["production", "preview"])
    sandbox_clients_forgotten()
