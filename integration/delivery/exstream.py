"""Exstream services: catalogue sync, previews, batch submission, job polling and control,
and e-mail event pulls. HTTP happens outside the database transactions; audit rows inside."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint
from integration.connectors.exstream import events as ev
from integration.connectors.exstream.client import ExstreamClient
from integration.connectors.exstream.delivery import DeliveryOutcome
from integration.connectors.exstream.driver import record_key, with_customer_key
from integration.connectors.exstream.events import StatusEvent
from integration.delivery.delivery_files import delivery_files_read
from integration.lib.http import ExternalServiceError
from integration.models import (
    EventCursor,
    ExstreamCommunication,
    ExstreamJob,
    PreviewOutput,
)
from integration.setup.designs import catalogue_fetch
from integration.status.sink import deliver_status_events

logger = logging.getLogger(__name__)

TERMINAL_FLOW_STATUSES = frozenset({"complete", "error", "canceled"})
EMAIL_CURSOR = "exstream-email-events"
EMAIL_OVERLAP = datetime.timedelta(minutes=10)
EMAIL_FIRST_WINDOW = datetime.timedelta(days=1)


def _client(client: ExstreamClient | None) -> ExstreamClient:
    return client or ExstreamClient()


# --- catalogue ----------------------------------------------------------------------------------


@dataclass
class CatalogueSyncResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    domains: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.created} new, {self.updated} updated, {self.deactivated} no longer listed "
            f"({', '.join(self.domains)})"
        )


def exstream_catalogue_sync(
    *, actor: Any, domains: list[str] | None = None, client: ExstreamClient | None = None
) -> CatalogueSyncResult:
    """Read approved, latest communications with their communication-set manifests from DAS
    and store them; those no longer listed in a domain become inactive."""
    client = _client(client)
    domains = domains or [settings.EXSTREAM_DOMAIN, settings.EXSTREAM_PREVIEW_DOMAIN]
    fetched = catalogue_fetch(client, domains)  # integration/setup/designs.py
    result = CatalogueSyncResult(domains=domains)
    now = timezone.now()
    with transaction.atomic():
        for domain, rows in fetched.items():
            seen: list[str] = []
            for row in rows:
                comm_id = str(row.pop("communication_id"))
                seen.append(comm_id)
                _, created = ExstreamCommunication.objects.update_or_create(
                    domain=domain,
                    communication_id=comm_id,
                    defaults={**row, "active": True, "synced_at": now},
                )
                if created:
                    result.created += 1
                else:
                    result.updated += 1
            result.deactivated += (
                ExstreamCommunication.objects.filter(domain=domain, active=True)
                .exclude(communication_id__in=seen)
                .update(active=False, synced_at=now)
            )
        log_action(actor=actor, verb="exstream.catalogue_synced", data=result.__dict__.copy())
    return result


# --- previews -----------------------------------------------------------------------------------


def driver_hash(driver_data: dict[str, Any]) -> str:
    canonical = json.dumps(driver_data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_EXTENSIONS = {"application/pdf": "pdf", "text/html": "html", "text/plain": "txt"}


def preview_generate(
    *,
    actor: Any,
    exstream_communication: ExstreamCommunication,
    driver_data: dict[str, Any],
    imprint: Imprint,
    customer_key: str = "",
    customer_key_field: str = "",
    client: ExstreamClient | None = None,
) -> list[PreviewOutput]:
    """Generate on the non-production preview domain (watermarked, not counted) and store every
    output for audit. Raises ``ExternalServiceError`` (a 422 names the missing driver fields,
    in ``details``) and stores nothing then.

    Designs are promoted between domains with their DAS ids, so the communication id of a
    production row is also valid on the preview domain."""
    if not isinstance(driver_data, dict):
        raise ValueError("The driver data must be a JSON object.")
    if getattr(actor, "is_authenticated", False):
        policy.require(actor, policy.Action.PREVIEW, imprint)
    domain = settings.EXSTREAM_PREVIEW_DOMAIN
    preview_row = (
        ExstreamCommunication.objects.filter(
            domain=domain, communication_id=exstream_communication.communication_id, active=True
        ).first()
        or exstream_communication
    )
    key_field = customer_key_field or exstream_communication.default_customer_key
    data = with_customer_key(driver_data, key_field, customer_key)
    digest = driver_hash(data)
    outputs = _client(client).generate(
        domain=domain,
        communication_id=exstream_communication.communication_id,
        driver_data_source=preview_row.prod_dsn or exstream_communication.prod_dsn,
        driver_data=data,
        driver_format=exstream_communication.driver_format,
        driver_root=exstream_communication.driver_root,
    )
    stored = []
    with transaction.atomic():
        for index, output in enumerate(outputs):
            row = PreviewOutput(
                exstream_communication=exstream_communication,
                communication_id=exstream_communication.communication_id,
                domain=domain,
                imprint=imprint,
                customer_key=str(data.get(key_field, "") if key_field else customer_key),
                driver_hash=digest,
                queue_name=output.queue_name,
                file_name=output.file_name,
                mime_type=output.mime_type,
                size=len(output.content),
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            ext = _EXTENSIONS.get(output.mime_type, "bin")
            row.content.save(
                f"{digest[:16]}-{index}.{ext}", ContentFile(output.content), save=False
            )
            row.save()
            stored.append(row)
        log_action(
            actor=actor,
            verb="exstream.preview_generated",
            target=exstream_communication,
            imprint=imprint,
            data={
                "communication": exstream_communication.name,
                "driver_hash": digest,
                "outputs": [o.mime_type for o in stored],
            },
        )
    return stored


# --- batch --------------------------------------------------------------------------------------


def exstream_batch_submit(
    *,
    actor: Any,
    communication: ExstreamCommunication,
    imprint: Imprint | None,
    external_id: str,
    records: list[dict[str, Any]],
    client: ExstreamClient | None = None,
) -> ExstreamJob:
    """Submit through the HTTP batch channel and record the job for polling."""
    result = _client(client).submit_batch(
        external_id=external_id, communication=communication, records=records
    )
    with transaction.atomic():
        job = ExstreamJob.objects.create(
            job_id=result.job_id,
            external_id=external_id,
            domain=result.domain,
            channel=result.channel,
            exstream_communication=communication,
            imprint=imprint,
            status=str(result.flow_instances[0].get("status", "started")),
            flow_instance_ids=result.flow_instance_ids,
            flow_instances=result.flow_instances,
            customer_keys=[record_key(r, communication.default_customer_key) for r in records],
        )
        log_action(
            actor=actor,
            verb="exstream.batch_submitted",
            target=job,
            imprint=imprint,
            data={"external_id": external_id, "records": len(records), "job_id": job.job_id},
        )
    return job


def _delivery_events(
    job: ExstreamJob, outcome: DeliveryOutcome, occurred_at: datetime.datetime
) -> list[StatusEvent]:
    events = []
    for key, queues in outcome.delivered.items():
        events.append(
            StatusEvent(
                message_key=key,
                status=ev.DELIVERED,
                occurred_at=occurred_at,
                source=ev.SOURCE_RUNTIME,
                external_event_id=f"{job.job_id}:{key}:{ev.DELIVERED}",
                detail={"job_id": job.job_id, "queues": queues},
            )
        )
    failed = dict(outcome.failed)
    for key in job.customer_keys:
        if key and key not in outcome.delivered and key not in failed:
            failed[key] = (
                "absent from the delivery file"
                if job.status == "complete"
                else f"the Exstream job ended {job.status}"
            )
    for key, reason in failed.items():
        events.append(
            StatusEvent(
                message_key=key,
                status=ev.FAILED,
                occurred_at=occurred_at,
                source=ev.SOURCE_RUNTIME,
                external_event_id=f"{job.job_id}:{key}:{ev.FAILED}",
                detail={"job_id": job.job_id, "reason": reason},
            )
        )
    return events


def exstream_job_poll(*, job_pk: int, client: ExstreamClient | None = None) -> list[StatusEvent]:
    """Poll the job, its flow instances and flow steps once. When the job has reached a terminal
    state, read the delivery files and turn per-recipient outcomes into status events (delivered
    to the sink and returned). A poll before that, or after, returns []."""
    client = _client(client)
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
    if terminal:  # integration/delivery/delivery_files.py keeps every file, unparsed ones too
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


def _job_action(actor: Any, job: ExstreamJob, verb: str, data: dict[str, Any]) -> None:
    with transaction.atomic():
        ExstreamJob.objects.filter(pk=job.pk).update(terminal=False)
        log_action(actor=actor, verb=verb, target=job, imprint=job.imprint_id, data=data)


def exstream_step_release(*, actor: Any, job: ExstreamJob, step_id: str) -> str:
    if step_id not in {s.get("id") for s in job.held_steps}:
        raise ValueError("That step is not holding in this job; refresh the job and try again.")
    message = _client(None).release_step(step_id, domain=job.domain)
    _job_action(actor, job, "exstream.step_released", {"job_id": job.job_id, "step_id": step_id})
    return message


def exstream_job_stop(*, actor: Any, job: ExstreamJob) -> str:
    message = _client(None).stop_job(job.job_id, domain=job.domain)
    _job_action(actor, job, "exstream.job_stopped", {"job_id": job.job_id})
    return message


def exstream_job_reprocess(*, actor: Any, job: ExstreamJob) -> str:
    message = _client(None).reprocess_job(job.job_id, domain=job.domain)
    _job_action(actor, job, "exstream.job_reprocessed", {"job_id": job.job_id})
    return message


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


# --- e-mail events (pull) ------------------------------------------------------------------------


def email_event_to_status(item: dict[str, Any]) -> StatusEvent | None:
    status = ev.EMAIL_EVENT_STATUS.get(str(item.get("eventType", "")).upper())
    key = str(item.get("custMetadataId") or "")
    event_id = str(item.get("eventId") or "")
    if status is None or not key or not event_id:
        return None
    occurred = ev.from_epoch_ms(item.get("eventDate")) or ev.from_epoch_ms(
        item.get("lastUpdateTime")
    )
    return StatusEvent(
        message_key=key,
        status=status,
        occurred_at=occurred or timezone.now(),
        source=ev.SOURCE_EMAIL_PULL,
        external_event_id=event_id,
        detail={
            "event_type": item.get("eventType"),
            "event_status": item.get("eventStatus", ""),
            "job_id": item.get("jobId", ""),
        },
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
) -> EmailPullResult:
    """Pull e-mail events updated since the cursor (minus an overlap, so late-indexed events
    are not missed), page by page; duplicates are dropped by event id in the sink. The cursor
    moves to the window's end only after the whole window was read."""
    client = _client(client)
    now = now or timezone.now()
    cursor, _ = EventCursor.objects.get_or_create(name=EMAIL_CURSOR)
    start = (cursor.position - EMAIL_OVERLAP) if cursor.position else now - EMAIL_FIRST_WINDOW
    result = EmailPullResult()
    batch: list[StatusEvent] = []
    seen_ids: set[str] = set()
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
        if event.external_event_id in seen_ids:
            continue
        seen_ids.add(event.external_event_id)
        batch.append(event)
    with transaction.atomic():
        result.new = deliver_status_events(batch)
        EventCursor.objects.filter(pk=cursor.pk).update(position=now, updated_at=timezone.now())
    return result
