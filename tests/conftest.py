"""Personas and shared fixtures.

Imprint A ("Harbour Lights") has a rights manager, a second rights manager (for four eyes),
a marketing colleague, a royalties colleague, a project manager, an admin and a viewer.
The outsider belongs only to imprint B. The superuser belongs nowhere and sees everything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection
from django.test import Client

from accounts.models import Imprint, Role, User
from tests.factories import PASSWORD, ImprintFactory, UserFactory, member

# pytest-playwright runs an event loop in the test thread; Django's ORM is still used
# synchronously from that thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ONIX_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "onix"

TABLE_LOCK_PATIENCE_SECONDS = 10.0


def _wait_out_table_locks(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Re-run a statement SQLite refused with "database table is locked".

    With a live server, the test's in-memory database is shared (shared cache) between the
    test's thread and the server's request threads. In shared-cache mode a writer meeting
    another connection's table lock fails at once with SQLITE_LOCKED instead of waiting out
    the busy timeout, as it would on the file database ``make run`` uses. The refused
    statement has no effect and leaves the transaction open, so running it again once the
    other thread is done is what the busy timeout would have done."""
    deadline = time.monotonic() + TABLE_LOCK_PATIENCE_SECONDS
    pause = 0.005
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if "table is locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


@pytest.fixture(autouse=True)
def _live_server_waits_out_sqlite_table_locks(request, monkeypatch) -> Iterator[None]:
    """For tests with a live server on SQLite, both the test's thread and every request thread
    wait out another thread's table lock (see ``_wait_out_table_locks``)."""
    if "live_server" not in request.fixturenames or connection.vendor != "sqlite":
        yield
        return
    serve = WSGIHandler.__call__

    def patient(self: WSGIHandler, environ: dict[str, Any], start_response: Any) -> Any:
        with connection.execute_wrapper(_wait_out_table_locks):
            return serve(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", patient)
    with connection.execute_wrapper(_wait_out_table_locks):
        yield


@pytest.fixture
def imprint_a(db) -> Imprint:
    return ImprintFactory(name="Harbour Lights", code="harbour", consonance_id=101)


@pytest.fixture
def imprint_b(db) -> Imprint:
    return ImprintFactory(name="Northwind Press", code="northwind", consonance_id=102)


@pytest.fixture
def rights_manager(imprint_a) -> User:
    return member(Role.RIGHTS_MANAGER, imprint_a, "rights@a.test")


@pytest.fixture
def second_rights_manager(imprint_a) -> User:
    return member(Role.RIGHTS_MANAGER, imprint_a, "rights2@a.test")


@pytest.fixture
def marketing(imprint_a) -> User:
    return member(Role.MARKETING, imprint_a, "marketing@a.test")


@pytest.fixture
def royalties(imprint_a) -> User:
    return member(Role.ROYALTIES, imprint_a, "royalties@a.test")


@pytest.fixture
def project_manager(imprint_a) -> User:
    return member(Role.PROJECT_MANAGER, imprint_a, "pm@a.test")


@pytest.fixture
def admin_a(imprint_a) -> User:
    return member(Role.IMPRINT_ADMIN, imprint_a, "admin@a.test")


@pytest.fixture
def viewer(imprint_a) -> User:
    return member(Role.VIEWER, imprint_a, "viewer@a.test")


@pytest.fixture
def outsider(imprint_b) -> User:
    return member(Role.IMPRINT_ADMIN, imprint_b, "outsider@b.test")


@pytest.fixture
def superuser(db) -> User:
    return UserFactory(email="super@colophon.test", is_superuser=True, is_staff=True)


@pytest.fixture
def login():
    """``login(user)`` -> a test client signed in as ``user``."""

    def _login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def onix_dir() -> Path:
    if not ONIX_DIR.is_dir():
        pytest.skip(f"the shared ONIX folder {ONIX_DIR} is absent (it is present in CI)")
    return ONIX_DIR


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's Chromium (never a downloaded browser build)."""
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Debian's chromium is not installed (scripts/install-chromium.sh installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def sandbox(live_server, settings):
    """A live server; connectors with their URL unset talk to its /sandbox/ over REAL HTTP.
    Use with ``@pytest.mark.django_db(transaction=True)``."""
    settings.SANDBOX_BASE_URL = live_server.url
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    settings.CONSONANCE_URL = ""
    return live_server
