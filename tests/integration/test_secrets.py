"""Secrets never leave the process: a 401 from the sandbox (wrong Consonance API key, wrong
Exstream client secret) is reported readably, and the key appears in no log record, no error
message, no stored attempt row, no sync run and no audit row."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import AuditEvent
from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.connectors.exstream.client import ExstreamClient
from integration.lib.http import ExternalServiceError
from integration.models import OutboxAttempt, OutboxItem, SyncRun, WritebackRecord
from integration.status.writeback import HANDLER
from tests.integration.status import test_writeback_sandbox as writeback

# The write-back fixtures, shared with tests/integration/status/test_writeback_sandbox.py.
setup = writeback.setup
seeded_types = writeback.seeded_types
respond = writeback.respond

pytestmark = pytest.mark.django_db(transaction=True)

CONSONANCE_KEY = "cns-live-7Qx2Vb9LmT4kW8pZ"
EXSTREAM_SECRET = "exs-secret-3Hd8Nq5RzY1cJ6uF"


def _stored_text() -> str:
    """Everything Colophon stored that an operator can read back."""
    rows: list[Any] = []
    rows += list(AuditEvent.objects.values())
    rows += list(OutboxAttempt.objects.values())
    rows += list(OutboxItem.objects.values())
    rows += list(SyncRun.objects.values())
    rows += list(WritebackRecord.objects.values())
    return repr(rows)


def _assert_nowhere(secret: str, caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    logged = "\n".join(r.getMessage() + repr(r.args) + str(r.exc_text) for r in caplog.records)
    assert secret not in logged
    assert secret not in _stored_text()
    for text in texts:
        assert secret not in text


def test_wrong_consonance_key_fails_the_sync_readably_without_the_key(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    # The sandbox accepts its default key; Colophon holds a wrong (but real-looking) one.
    run = sync_run_start(enqueue_task=False)
    run = consonance_sync(run=run, client=sandbox.client(key=CONSONANCE_KEY))
    assert run.status == SyncRun.Status.FAILED
    assert "401" in run.message or "API key" in run.message or "nauthori" in run.message
    _assert_nowhere(CONSONANCE_KEY, caplog, run.message, repr(run.errors))


def test_wrong_consonance_key_on_a_write_back_is_kept_out_of_the_attempt_rows(
    setup,
    sandbox,
    caplog,
    monkeypatch,
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(HANDLER, "client_factory", lambda: sandbox.client(key=CONSONANCE_KEY))
    respond(setup["message"])
    item = OutboxItem.objects.get()
    attempts = list(OutboxAttempt.objects.filter(item=item))
    assert attempts and attempts[-1].status_code == 401
    assert item.status in (OutboxItem.Status.DEAD, OutboxItem.Status.PENDING)
    _assert_nowhere(CONSONANCE_KEY, caplog, item.last_error, item.dead_reason)


def test_wrong_exstream_client_secret_is_reported_without_the_secret(sandbox, settings, caplog):
    caplog.set_level(logging.DEBUG)
    cache.clear()
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    with pytest.raises(ExternalServiceError) as info:
        ExstreamClient(client_secret=EXSTREAM_SECRET, sleep=lambda s: None).list_domains()
    assert info.value.status == 401
    _assert_nowhere(
        EXSTREAM_SECRET, caplog, info.value.message, str(info.value), repr(info.value.details)
    )


def test_exstream_sync_screen_shows_the_401_without_the_secret(
    sandbox, settings, caplog, login, admin_a
):
    caplog.set_level(logging.DEBUG)
    cache.clear()
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    settings.EXSTREAM_CLIENT_SECRET = EXSTREAM_SECRET
    response = login(admin_a).post(reverse("exstream:sync"), follow=True)
    body = response.content.decode()
    assert "The Exstream sync failed" in body
    _assert_nowhere(EXSTREAM_SECRET, caplog, body)
