"""The outbox: every outbound call that must happen exactly once.

* ``outbox_enqueue`` is called inside the transaction of the decision that causes the call
  (an approval, a write-back rule) and asks a worker to dispatch after commit.
* ``outbox_claim`` takes due rows with ``select_for_update(skip_locked=True)`` and a lease, so any
  number of workers on any number of machines can share the work.
* ``outbox_process`` runs one claimed row through its handler. When an earlier attempt may have
  reached the other system (a timeout, or a worker that died after the call but before recording
  it), the handler is first asked to *reconcile*: does the remote side already know this
  external id? Only if not is the call sent again. So nothing is lost and nothing is sent twice.
* Retryable errors back off with jitter (honouring ``Retry-After``); permanent errors, or too many
  attempts, make the row a dead letter with a readable reason, which admins can replay or cancel.

Handlers are registered per kind with ``register_handler``, from the one registry in
``integration/apps.py`` (``OUTBOX_HANDLERS``).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.audit import log_action
from accounts.types import Actor
from integration.lib.http import ExternalServiceError
from integration.lib.queue import enqueue
from integration.models import OutboxAttempt, OutboxItem

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 15 * 60.0


@dataclass
class SendResult:
    result: dict[str, Any] = field(default_factory=dict)
    status_code: int | None = None
    request_summary: dict[str, Any] = field(default_factory=dict)


class OutboxHandler(Protocol):
    def reconcile(self, item: OutboxItem) -> dict[str, Any] | None:
        """If the other system already has ``item.external_id``, return what we would have
        recorded on success; otherwise ``None``."""

    def send(self, item: OutboxItem) -> SendResult:
        """Make the call. Raise ``ExternalServiceError`` on failure."""

    def on_success(self, item: OutboxItem, result: dict[str, Any]) -> None:
        """Record the outcome (runs inside the transaction that marks the row done)."""

    def on_dead(self, item: OutboxItem, reason: str) -> None:
        """Record the permanent failure (inside the transaction that marks the row dead)."""

    def on_cancel(self, item: OutboxItem) -> None:
        """Record the cancellation (inside its transaction)."""


HANDLERS: dict[str, OutboxHandler] = {}


def register_handler(kind: str, handler: OutboxHandler) -> None:
    HANDLERS[kind] = handler


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    if retry_after is not None:
        return min(max(retry_after, 1.0), BACKOFF_MAX_SECONDS)
    delay = BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1))
    return min(BACKOFF_MAX_SECONDS, delay * (0.5 + random.random()))


def outbox_enqueue(
    *,
    kind: str,
    external_id: str,
    payload: dict[str, Any],
    imprint_id: int | None = None,
    work_id: int | None = None,
    subject: Any = None,
    max_attempts: int = 8,
) -> OutboxItem:
    """Create an outbox row inside the caller's transaction; a worker dispatches it after
    commit. Idempotent on ``external_id``."""
    item, created = OutboxItem.objects.get_or_create(
        external_id=external_id,
        defaults={
            "kind": kind,
            "payload": payload,
            "imprint_id": imprint_id,
            "work_id": work_id,
            "subject_type": subject._meta.label_lower if subject is not None else "",
            "subject_id": subject.pk if subject is not None else None,
            "max_attempts": max_attempts,
        },
    )
    if created:
        enqueue("integration.tasks.outbox_dispatch", group="outbox")
    return item


def outbox_claim(
    *,
    worker: str,
    limit: int = 20,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    now: datetime | None = None,
) -> list[int]:
    """Claim due rows: pending and due, or in progress with an expired lease (its worker died)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxItem.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=OutboxItem.Status.PENDING, next_attempt_at__lte=now)
                | Q(status=OutboxItem.Status.IN_PROGRESS, lease_expires_at__lt=now)
            )
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if rows:
            # One UPDATE for every row claimed (they are locked above), not one per row.
            OutboxItem.objects.filter(id__in=rows).update(
                status=OutboxItem.Status.IN_PROGRESS,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                leased_by=worker,
                attempts=F("attempts") + 1,
                updated_at=timezone.now(),
            )
    return rows


def _still_mine(item_id: int, worker: str) -> OutboxItem | None:
    item = OutboxItem.objects.select_for_update().get(pk=item_id)
    if item.status != OutboxItem.Status.IN_PROGRESS or item.leased_by != worker:
        return None
    return item


def _attempt_recorded(
    item: OutboxItem,
    *,
    worker: str,
    started: datetime,
    duration_ms: int,
    outcome: str,
    status_code: int | None = None,
    request_summary: dict[str, Any] | None = None,
    error: str = "",
) -> OutboxItem | None:
    """Inside the caller's transaction: the row, locked, with this attempt recorded and its
    lease released, for the caller to set the outcome and save; None when this worker no
    longer holds the lease (then nothing is recorded)."""
    locked = _still_mine(item.pk, worker)
    if locked is None:
        return None
    OutboxAttempt.objects.create(
        item=locked,
        number=locked.attempts,
        worker=worker,
        started_at=started,
        duration_ms=duration_ms,
        outcome=outcome,
        status_code=status_code,
        request_summary=request_summary or {},
        error=error[:4000],
    )
    locked.lease_expires_at = None
    return locked


def outbox_process(*, item_id: int, worker: str, now: datetime | None = None) -> str:
    """Run one claimed row through its handler; returns the attempt's outcome."""
    item = OutboxItem.objects.get(pk=item_id)
    if item.status != OutboxItem.Status.IN_PROGRESS or item.leased_by != worker:
        return "not-claimed"
    handler = HANDLERS.get(item.kind)
    started = timezone.now()
    clock = time.monotonic()
    if handler is None:
        return _dead(item, worker, started, 0, f"No handler is registered for {item.kind}.")

    try:
        reconciled = handler.reconcile(item) if item.attempts > 1 else None
        if reconciled is not None:
            outcome, send = OutboxAttempt.Outcome.RECONCILED, SendResult(result=reconciled)
        else:
            outcome, send = OutboxAttempt.Outcome.SUCCEEDED, handler.send(item)
    except ExternalServiceError as exc:
        duration = int((time.monotonic() - clock) * 1000)
        if not exc.retryable:
            return _dead(item, worker, started, duration, exc.message, exc.status, exc.details)
        if item.attempts >= item.max_attempts:
            return _dead(
                item,
                worker,
                started,
                duration,
                f"Gave up after {item.attempts} attempts; last error: {exc.message}",
                exc.status,
            )
        return _retry(
            item, worker, started, duration, exc.message, exc.status, exc.retry_after, now
        )
    except Exception as exc:
        # A bug or an unexpected answer: keep the row, retry with back-off, then dead-letter.
        logger.exception("Outbox item %s failed unexpectedly", item.pk)
        duration = int((time.monotonic() - clock) * 1000)
        message = f"Unexpected {exc.__class__.__name__}: {exc}"
        if item.attempts >= item.max_attempts:
            return _dead(item, worker, started, duration, message)
        return _retry(item, worker, started, duration, message, None, None, now)

    duration = int((time.monotonic() - clock) * 1000)
    with transaction.atomic():
        locked = _attempt_recorded(
            item,
            worker=worker,
            started=started,
            duration_ms=duration,
            outcome=outcome,
            status_code=send.status_code,
            request_summary=send.request_summary,
        )
        if locked is None:
            return "lost-lease"
        locked.status = OutboxItem.Status.DONE
        locked.result = send.result
        locked.done_at = timezone.now()
        locked.last_error = ""
        locked.save()
        handler.on_success(locked, send.result)
    return outcome


def _retry(
    item: OutboxItem,
    worker: str,
    started: datetime,
    duration: int,
    message: str,
    status: int | None,
    retry_after: float | None,
    now: datetime | None,
) -> str:
    with transaction.atomic():
        locked = _attempt_recorded(
            item,
            worker=worker,
            started=started,
            duration_ms=duration,
            outcome=OutboxAttempt.Outcome.RETRY,
            status_code=status,
            error=message,
        )
        if locked is None:
            return "lost-lease"
        locked.status = OutboxItem.Status.PENDING
        locked.next_attempt_at = (now or timezone.now()) + timedelta(
            seconds=backoff_delay(locked.attempts, retry_after)
        )
        locked.last_error = message
        locked.save()
    return OutboxAttempt.Outcome.RETRY


def _dead(
    item: OutboxItem,
    worker: str,
    started: datetime,
    duration: int,
    message: str,
    status: int | None = None,
    details: Any = None,
) -> str:
    reason = message
    if isinstance(details, dict) and details.get("missing_fields"):
        reason = f"{message} Missing driver fields: {', '.join(details['missing_fields'])}."
    with transaction.atomic():
        locked = _attempt_recorded(
            item,
            worker=worker,
            started=started,
            duration_ms=duration,
            outcome=OutboxAttempt.Outcome.DEAD,
            status_code=status,
            error=reason,
        )
        if locked is None:
            return "lost-lease"
        locked.status = OutboxItem.Status.DEAD
        locked.dead_reason = reason
        locked.last_error = message
        locked.save()
        log_action(
            actor=None,
            verb="outbox.dead_letter",
            target=locked,
            imprint=locked.imprint_id,
            work_id=locked.work_id,
            data={"kind": locked.kind, "reason": reason},
        )
        handler = HANDLERS.get(locked.kind)
        if handler is not None:
            handler.on_dead(locked, reason)
    return OutboxAttempt.Outcome.DEAD


def outbox_dispatch(
    *, worker: str | None = None, limit: int = 20, now: datetime | None = None
) -> dict[str, int]:
    """Claim and process due rows until none are left (or ``limit`` per round is exhausted
    twice over). Returns counts per outcome."""
    worker = worker or worker_name()
    counts: dict[str, int] = {}
    for _ in range(50):
        claimed = outbox_claim(worker=worker, limit=limit, now=now)
        if not claimed:
            break
        for item_id in claimed:
            outcome = outbox_process(item_id=item_id, worker=worker, now=now)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def outbox_replay(*, actor: Actor, item: OutboxItem) -> OutboxItem:
    """Give a dead letter another full set of attempts (after someone fixed the cause)."""
    with transaction.atomic():
        locked = OutboxItem.objects.select_for_update().get(pk=item.pk)
        if locked.status != OutboxItem.Status.DEAD:
            raise ValueError("Only dead letters can be replayed.")
        locked.status = OutboxItem.Status.PENDING
        locked.next_attempt_at = timezone.now()
        locked.max_attempts = locked.attempts + 8
        locked.dead_reason = ""
        locked.save()
        log_action(
            actor=actor,
            verb="outbox.replayed",
            target=locked,
            imprint=locked.imprint_id,
            work_id=locked.work_id,
            data={"kind": locked.kind},
        )
        enqueue("integration.tasks.outbox_dispatch", group="outbox")
    return locked


def outbox_cancel(*, actor: Actor, item: OutboxItem) -> OutboxItem:
    """Stop a row that has not been sent (pending or dead)."""
    with transaction.atomic():
        locked = OutboxItem.objects.select_for_update().get(pk=item.pk)
        if locked.status not in (OutboxItem.Status.PENDING, OutboxItem.Status.DEAD):
            raise ValueError("Only pending rows and dead letters can be cancelled.")
        locked.status = OutboxItem.Status.CANCELLED
        locked.save()
        log_action(
            actor=actor,
            verb="outbox.cancelled",
            target=locked,
            imprint=locked.imprint_id,
            work_id=locked.work_id,
            data={"kind": locked.kind},
        )
        handler = HANDLERS.get(locked.kind)
        if handler is not None:
            handler.on_cancel(locked)
    return locked
