"""Status from Exstream by polling: runtime jobs and flow instances (with delivery-file outcomes)
and the e-mail event feed (an overlapping window). Every event goes to ``status.sink``.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration.connectors.exstream import events as ev
from integration.connectors.exstream.client import ExstreamClient
from integration.connectors.exstream.delivery import (
    DeliveryOutcome,
)
from integration.connectors.exstream.events import StatusEvent
from integration.lib.http import ExternalServiceError
from integration.models import (
    EventCursor,
    ExstreamJob,
)
from integration.status.delivery_files import delivery_files_read
from integration.status.sink import deliver_status_events

logger = logging.getLogger(__name__)


TERMINAL_FLOW_STATUSES = frozenset({"complete", "error", "canceled"})


EMAIL_CURSOR = "exstream-email-events"


EMAIL_OVERLAP = datetime.timedelta(minutes=10)


EMAIL_FIRST_WINDOW = datetime.timedelta(days=1)
# Pulled e-mail events are handed to the sink this many at a time as they are read (one
# transaction each), never the whole window at once.
EMAIL_DELIVER_EVERY = 1000


def _delivery_events(
    job: ExstreamJob, outcome: DeliveryOutcome, occurred_at: datetime.datetime
) -> list[StatusEvent]:
    def event(key: str, status: str, **detail: Any) -> StatusEvent:
        return StatusEvent(
            message_key=key,
            status=status,
            occurred_at=occurred_at,
            source=ev.SOURCE_RUNTIME,
            external_event_id=f"{job.job_id}:{key}:{status}",
            detail={"job_id": job.job_id, **detail},
        )

    events = [event(key, ev.DELIVERED, queues=q) for key, q in outcome.delivered.items()]
    failed = dict(outcome.failed)
    for key in job.customer_keys:
        if key and key not in outcome.delivered and key not in failed:
            failed[key] = (
                "absent from the delivery file"
                if job.status == "complete"
                else f"the Exstream job ended {job.status}"
            )
    events += [event(key, ev.FAILED, reason=reason) for key, reason in failed.items()]
    return events


def exstream_job_poll(*, job_pk: int, client: ExstreamClient | None = None) -> list[StatusEvent]:
    """Poll the job, its flow instances and flow steps once. When the job has reached a terminal
    state, read the delivery files and turn per-recipient outcomes into status events (delivered
    to the sink and returned). A poll before that, or after, returns []."""
    client = client or ExstreamClient()
    job = ExstreamJob.objects.get(pk=job_pk)
    if job.terminal:
        return []
    remote = client.get_job(job.job_id, domain=job.domain)
    instances = client.list_flow_instances(job.job_id, domain=job.domain)
    steps = [
        step
        for fi in instances
        for step in client.list_flow_steps(str(fi["id"]), domain=job.domain)
    ]
    status = str(remote.get("status", job.status))
    terminal = status in ExstreamJob.TERMINAL_JOB_STATUSES and all(
        fi.get("status") in TERMINAL_FLOW_STATUSES for fi in instances
    )
    outcome = DeliveryOutcome()
    error = ""
    if terminal:  # integration/status/delivery_files.py keeps every file, unparsed ones too
        read = delivery_files_read(client=client, job=job, steps=steps)
        outcome, error = read.outcome, read.error
    now = timezone.now()
    events: list[StatusEvent] = []
    with transaction.atomic():
        job = ExstreamJob.objects.select_for_update().get(pk=job_pk)
        if job.terminal:
            return []
        job.status = status
        job.flow_instances = instances
        job.flow_steps = steps
        job.last_polled_at = now
        job.terminal = terminal
        job.last_error = error
        if terminal and not error:
            events = _delivery_events(job, outcome, now)
            job.delivery_summary = {
                "delivered": len([e for e in events if e.status == ev.DELIVERED]),
                "failed": len([e for e in events if e.status == ev.FAILED]),
                "outcomes": {e.message_key: e.status for e in events},
            }
        elif error:
            job.delivery_summary = {"error": error}
        job.save()
        if events:
            deliver_status_events(events)
    return events


def exstream_poll_open_jobs() -> int:
    """Poll every non-terminal job once (scheduled)."""
    polled = 0
    for pk in ExstreamJob.objects.filter(terminal=False).values_list("pk", flat=True):
        try:
            exstream_job_poll(job_pk=pk)
        except ExternalServiceError as exc:
            ExstreamJob.objects.filter(pk=pk).update(last_error=str(exc)[:2000])
            logger.warning("Polling Exstream job %s failed: %s", pk, exc)
        polled += 1
    return polled


UNREACHED = (ev.NOT_DELIVERED, ev.BOUNCED, ev.FAILED)


def email_event_to_status(item: dict[str, Any]) -> StatusEvent | None:
    # Reference §7: the pulled eventType strings are unconfirmed. A bare code (POST, OPEN …)
    # and a documented schemaType (Exstream-Email-OPEN …) are both read.
    event_type = str(item.get("eventType", ""))
    status = (
        ev.status_for_schema_type(event_type)
        if event_type.startswith("Exstream-")
        else ev.EMAIL_EVENT_STATUS.get(event_type.upper())
    )
    key = str(item.get("custMetadataId") or "")
    event_id = str(item.get("eventId") or "")
    if status is None or not key or not event_id:
        return None
    occurred = ev.from_epoch_ms(item.get("eventDate")) or ev.from_epoch_ms(
        item.get("lastUpdateTime")
    )
    detail = {
        "event_type": item.get("eventType"),
        "event_status": item.get("eventStatus", ""),
        "job_id": item.get("jobId", ""),
    }
    # The reference lists ``eventStatus`` on an e-mail event without its values; on an event
    # that did not reach the recipient it is the only text saying why, so it is shown as the
    # reason there (and nowhere else, where it may be a processing state).
    if status in UNREACHED and str(item.get("eventStatus") or "").strip():
        detail["reason"] = str(item["eventStatus"]).strip()
    return StatusEvent(
        message_key=key,
        status=status,
        occurred_at=occurred or timezone.now(),
        source=ev.SOURCE_EMAIL_PULL,
        external_event_id=event_id,
        detail=detail,
    )


@dataclass
class EmailPullResult:
    seen: int = 0
    new: int = 0
    ignored: int = 0


def exstream_email_events_pull(
    *,
    client: ExstreamClient | None = None,
    now: datetime.datetime | None = None,
    page_size: int = 100,
    deliver_every: int | None = None,
) -> EmailPullResult:
    """Pull e-mail events updated since the cursor (minus an overlap, so late-indexed events
    are not missed), and deliver them as they are read: every ``deliver_every`` events
    (default ``EMAIL_DELIVER_EVERY``) go to the sink in their own transaction, so no
    transaction holds the whole window. CXI answers a window whole (reference §7);
    ``page_size`` is used only with a server that pages (``ExstreamClient.email_events``).
    The cursor moves to the window's end only after the whole window was read and delivered; if the
    pull dies half-way, the next pull reads the window again and the events already stored
    are dropped by event id in the sink (nothing is applied twice)."""
    client = client or ExstreamClient()
    now = now or timezone.now()
    every = max(deliver_every or EMAIL_DELIVER_EVERY, 1)
    cursor, _ = EventCursor.objects.get_or_create(name=EMAIL_CURSOR)
    start = (cursor.position - EMAIL_OVERLAP) if cursor.position else now - EMAIL_FIRST_WINDOW
    result = EmailPullResult()
    batch: list[StatusEvent] = []
    for item in client.email_events(
        start_ms=int(start.timestamp() * 1000),
        end_ms=int(now.timestamp() * 1000),
        page_size=page_size,
    ):
        result.seen += 1
        event = email_event_to_status(item)
        if event is None:
            result.ignored += 1
            logger.info("Ignoring e-mail event of type %r", item.get("eventType"))
            continue
        batch.append(event)
        if len(batch) >= every:
            result.new += deliver_status_events(batch)
            batch = []
    with transaction.atomic():
        result.new += deliver_status_events(batch)
        EventCursor.objects.filter(pk=cursor.pk).update(position=now, updated_at=timezone.now())
    return result
