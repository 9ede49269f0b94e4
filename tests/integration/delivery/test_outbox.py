"""The outbox: nothing lost, nothing sent twice, readable dead letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from integration.delivery import outbox
from integration.delivery.outbox import SendResult
from integration.lib.http import ExternalServiceError
from integration.models import OutboxAttempt, OutboxItem

pytestmark = pytest.mark.django_db

KIND = "test_kind"


class RemoteSystem:
    """A fake remote: remembers which external ids it has accepted."""

    def __init__(self) -> None:
        self.accepted: dict[str, int] = {}
        self.failures: list[ExternalServiceError] = []
        self.accept_then_fail: ExternalServiceError | None = None
        self.succeeded: list[dict[str, Any]] = []
        self.dead: list[str] = []
        self.cancelled: list[str] = []

    # handler protocol
    def reconcile(self, item: OutboxItem) -> dict[str, Any] | None:
        if item.external_id in self.accepted:
            return {"job": f"job-{item.external_id}"}
        return None

    def send(self, item: OutboxItem) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        self.accepted[item.external_id] = self.accepted.get(item.external_id, 0) + 1
        if self.accept_then_fail is not None:  # e.g. the response timed out after acceptance
            error, self.accept_then_fail = self.accept_then_fail, None
            raise error
        return SendResult(result={"job": f"job-{item.external_id}"}, status_code=200)

    def on_success(self, item: OutboxItem, result: dict[str, Any]) -> None:
        self.succeeded.append(result)

    def on_dead(self, item: OutboxItem, reason: str) -> None:
        self.dead.append(reason)

    def on_cancel(self, item: OutboxItem) -> None:
        self.cancelled.append(item.external_id)


@pytest.fixture
def remote():
    system = RemoteSystem()
    outbox.register_handler(KIND, system)
    yield system
    outbox.HANDLERS.pop(KIND, None)


def make_item(external_id: str = "ext-1") -> OutboxItem:
    return outbox.outbox_enqueue(kind=KIND, external_id=external_id, payload={"n": 1})


def retryable(message: str = "boom", retry_after: float | None = None) -> ExternalServiceError:
    return ExternalServiceError(
        message, service="test", retryable=True, status=503, retry_after=retry_after
    )


def test_happy_path_sends_once_and_records_the_attempt(remote):
    item = make_item()
    counts = outbox.outbox_dispatch(worker="w1")
    item.refresh_from_db()
    assert counts == {"succeeded": 1}
    assert item.status == OutboxItem.Status.DONE
    assert item.result == {"job": "job-ext-1"}
    assert remote.accepted == {"ext-1": 1}
    assert remote.succeeded == [{"job": "job-ext-1"}]
    [attempt] = item.attempt_rows.all()
    assert attempt.outcome == "succeeded" and attempt.status_code == 200


def test_enqueue_is_idempotent_on_external_id(remote):
    first = make_item("same")
    second = make_item("same")
    assert first.pk == second.pk
    assert OutboxItem.objects.count() == 1


def test_503_burst_backs_off_then_succeeds(remote):
    remote.failures = [retryable(), retryable(), retryable()]
    item = make_item()
    now = timezone.now()
    for _ in range(3):
        assert outbox.outbox_dispatch(worker="w1", now=now) == {"retry": 1}
        item.refresh_from_db()
        assert item.status == OutboxItem.Status.PENDING
        assert item.next_attempt_at > now  # not due again immediately
        assert outbox.outbox_dispatch(worker="w1", now=now) == {}  # nothing due yet
        now = item.next_attempt_at + timedelta(seconds=1)
    assert outbox.outbox_dispatch(worker="w1", now=now)
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DONE
    assert remote.accepted == {"ext-1": 1}
    outcomes = list(item.attempt_rows.values_list("outcome", flat=True))
    assert outcomes[:3] == ["retry", "retry", "retry"]


def test_retry_after_is_honoured(remote):
    remote.failures = [retryable("slow down", retry_after=120)]
    item = make_item()
    now = timezone.now()
    outbox.outbox_dispatch(worker="w1", now=now)
    item.refresh_from_db()
    assert (item.next_attempt_at - now).total_seconds() == pytest.approx(120, abs=1)


def test_permanent_error_becomes_a_readable_dead_letter_and_replay_succeeds(remote, admin_a):
    remote.failures = [
        ExternalServiceError(
            "Driver data rejected (422).",
            service="exstream",
            retryable=False,
            status=422,
            details={"missing_fields": ["recipientName", "workTitle"]},
        )
    ]
    item = make_item()
    outbox.outbox_dispatch(worker="w1")
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DEAD
    assert "recipientName, workTitle" in item.dead_reason
    assert remote.dead and "recipientName" in remote.dead[0]
    assert AuditEvent.objects.filter(verb="outbox.dead_letter").count() == 1

    outbox.outbox_replay(actor=admin_a, item=item)
    outbox.outbox_dispatch(worker="w1")
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DONE
    assert remote.accepted == {"ext-1": 1}
    assert AuditEvent.objects.filter(verb="outbox.replayed").count() == 1


def test_only_dead_letters_can_be_replayed(remote, admin_a):
    item = make_item()
    with pytest.raises(ValueError, match="Only dead letters"):
        outbox.outbox_replay(actor=admin_a, item=item)


def test_worker_crash_after_the_call_causes_no_second_submission(remote):
    item = make_item()
    now = timezone.now()
    [item_id] = outbox.outbox_claim(worker="dying", now=now)
    # The worker makes the call, then dies before recording anything.
    remote.send(OutboxItem.objects.get(pk=item_id))
    # Its lease has not expired: nobody else takes the row yet.
    assert outbox.outbox_claim(worker="w2", now=now) == []
    # After the lease expires another worker takes over and reconciles instead of resending.
    later = now + timedelta(seconds=outbox.DEFAULT_LEASE_SECONDS + 1)
    assert outbox.outbox_dispatch(worker="w2", now=later) == {"reconciled": 1}
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DONE
    assert remote.accepted == {"ext-1": 1}
    assert item.attempt_rows.get().outcome == OutboxAttempt.Outcome.RECONCILED


def test_timeout_after_acceptance_is_reconciled_not_resent(remote):
    remote.accept_then_fail = retryable("timed out after 15s")
    item = make_item()
    now = timezone.now()
    assert outbox.outbox_dispatch(worker="w1", now=now) == {"retry": 1}
    item.refresh_from_db()
    later = item.next_attempt_at + timedelta(seconds=1)
    assert outbox.outbox_dispatch(worker="w1", now=later) == {"reconciled": 1}
    assert remote.accepted == {"ext-1": 1}


def test_gives_up_after_max_attempts(remote):
    item = outbox.outbox_enqueue(kind=KIND, external_id="x", payload={}, max_attempts=2)
    remote.failures = [retryable(), retryable(), retryable()]
    now = timezone.now()
    outbox.outbox_dispatch(worker="w1", now=now)
    item.refresh_from_db()
    outbox.outbox_dispatch(worker="w1", now=item.next_attempt_at + timedelta(seconds=1))
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DEAD
    assert "Gave up after 2 attempts" in item.dead_reason


def test_unknown_kind_is_a_dead_letter_not_a_crash(db):
    item = outbox.outbox_enqueue(kind="nobody-handles-this", external_id="y", payload={})
    outbox.outbox_dispatch(worker="w1")
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DEAD
    assert "No handler" in item.dead_reason


def test_unexpected_exception_is_retried_and_recorded(remote, monkeypatch):
    def broken(item):
        raise KeyError("data")

    monkeypatch.setattr(remote, "send", broken)
    item = make_item()
    assert outbox.outbox_dispatch(worker="w1") == {"retry": 1}
    item.refresh_from_db()
    assert "KeyError" in item.last_error


def test_cancel_pending_item(remote, admin_a):
    item = make_item()
    outbox.outbox_cancel(actor=admin_a, item=item)
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.CANCELLED
    assert outbox.outbox_dispatch(worker="w1") == {}
    assert remote.accepted == {}
    assert remote.cancelled == ["ext-1"]


def test_enqueue_dispatches_after_commit(remote, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        item = make_item("on-commit")
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.DONE


def test_outbox_screen_lists_dead_letters_and_replays(remote, login, admin_a, imprint_a, viewer):
    from django.urls import reverse

    remote.failures = [
        ExternalServiceError("Rejected (422).", service="x", retryable=False, status=422)
    ]
    item = outbox.outbox_enqueue(
        kind=KIND, external_id="dead-1", payload={}, imprint_id=imprint_a.pk
    )
    outbox.outbox_dispatch(worker="w1")
    assert login(viewer).get(reverse("operations:outbox")).status_code == 403
    client = login(admin_a)
    response = client.get(reverse("operations:outbox"), {"status": "dead"})
    assert b"dead-1" in response.content and b"Rejected (422)." in response.content
    client.post(reverse("operations:outbox_replay", args=[item.pk]))
    item.refresh_from_db()
    assert item.status in (OutboxItem.Status.PENDING, OutboxItem.Status.DONE)


def test_outbox_items_of_other_imprints_are_invisible(remote, login, outsider, imprint_a):
    from django.urls import reverse

    item = outbox.outbox_enqueue(
        kind=KIND, external_id="a-only", payload={}, imprint_id=imprint_a.pk
    )
    client = login(outsider)
    assert b"a-only" not in client.get(reverse("operations:outbox")).content
    assert client.post(reverse("operations:outbox_cancel", args=[item.pk])).status_code == 404
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.PENDING
