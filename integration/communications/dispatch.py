"""Dispatch: the outbox handler that submits an approved communication to Exstream's batch
channel, one chunk of messages per outbox row, with a stable external id per chunk.

* ``send`` first re-checks that what was approved is what would be sent (before each chunk the
  input versions recorded at approval are compared with current ones; only when one moved is
  the payload hash recomputed; a difference voids the approval before the first chunk, or
  refuses the chunk once sending), then submits the chunk's records.
* ``reconcile`` (asked by the outbox engine before any second attempt) looks the external id
  up in Exstream, so a worker that died after the HTTP call never causes a duplicate.
* ``on_success`` marks the chunk's messages submitted with the job id; ``on_dead`` marks them
  failed with the reason (both as per-message status events through
  ``integration.status.apply.message_status_chunk_apply``); when every chunk is settled
  the communication becomes sent, partially failed (some chunks dead or cancelled) or failed
  (all of them).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.audit import log_action
from integration.communications.chunks import current_outbox_items
from integration.communications.offers import offer_refusal
from integration.communications.revalidation import (
    approved_payload_refusal,
    communication_revalidate,
    driver_source_refusal,
    inputs_moved,
)
from integration.connectors.exstream.driver import (
    XML,
    EncodedRecord,
    wire_prefix,
    wire_record,
)
from integration.delivery.gateway import Submitted, gateway
from integration.delivery.outbox import SendResult
from integration.lib.http import ExternalServiceError
from integration.models import Communication, CommunicationTemplate, Message, OutboxItem
from integration.status.apply import message_status_chunk_apply
from integration.status.contributor_actions import contributor_actions_open_for_communication

S = Communication.Status
SENDABLE = (S.QUEUED, S.SENDING, S.PARTIALLY_FAILED, S.FAILED)
# What one chunk's send and its outcome read of the communication, joined into the one
# query that reads it: the template with its Exstream communication (records, submission,
# job) and the type (contributor actions).
SEND_RELATED = ("template__exstream_communication", "communication_type")
# The pre-send check builds the payload's input versions from these too (the title, the
# imprint's name, the audience), so it reads them in the same query instead of one each.
CHECK_RELATED = (*SEND_RELATED, "work__imprint", "imprint", "audience", "product", "contract")
_UNSET: Any = object()


def _not_sendable(message: str) -> ExternalServiceError:
    return ExternalServiceError(message, service="colophon", retryable=False)


def chunk_records(
    communication_id: int, chunk: int, *, template: CommunicationTemplate | None = _UNSET
) -> list[EncodedRecord]:
    """The records of one chunk: the driver data (flat, dotted keys; the connector nests it as
    the sample does) with the message key written at the design's customer-key field, which
    is what delivery files and e-mail events carry back. Read as stored text: where that text
    already is the wire form, it is sent without being decoded and encoded again.
    ``template`` (with its Exstream communication) when the caller has just read it."""
    if template is _UNSET:
        template = (
            Communication.objects.select_related("template__exstream_communication")
            .get(pk=communication_id)
            .template
        )
    key_field = template.customer_key_path if template is not None else ""
    prefix = None
    if template is not None and template.exstream_communication.driver_format != XML:
        fields = list(template.mappings.values_list("driver_field", flat=True))
        prefix = wire_prefix(fields, key_field)
    # PostgreSQL gives the key's canonical text itself (no UUID built and printed per row);
    # elsewhere the UUID field's value is printed (SQLite stores 32 hex digits).
    key: Any = Cast("key", TextField()) if connection.vendor == "postgresql" else F("key")
    rows = (
        Message.objects.filter(communication_id=communication_id, chunk=chunk)
        .order_by("sequence")
        .annotate(driver_text=Cast("driver_data", TextField()), key_text=key)
        .values_list("key_text", "driver_text")
    )
    records = []
    for key_value, text in rows:
        message_key = str(key_value)
        wire = wire_record(prefix, message_key, text) if prefix is not None else None
        records.append(EncodedRecord(text, key_field, message_key, wire))
    return records


def _ready(item: OutboxItem) -> Communication:
    """Lock the communication and check the chunk still belongs to its current approval; move
    it from queued to sending. Revalidates the payload once, before the first chunk goes."""

    comm_id = int(item.payload["communication_id"])
    approved_hash = str(item.payload.get("approved_hash", ""))
    communication = Communication.objects.select_related(*CHECK_RELATED).filter(pk=comm_id).first()
    if communication is None:
        raise _not_sendable("The communication no longer exists.")
    # What was approved is what is sent, checked before every chunk: the versions of the
    # payload's inputs (template, mappings, audience, title data) are compared with those the
    # approval recorded, and only when one moved is the payload recomputed and its hash
    # compared. Before the first chunk a difference voids the approval (nothing went out);
    # once sending, the chunk is refused.
    # The Exstream design's driver data source is checked against the one approved with the
    # chunk, before every chunk too: a catalogue sync may change it between two chunks.
    current = communication.status in SENDABLE and communication.approved_hash == approved_hash
    design = driver_source_refusal(communication, item.payload) if current else None
    if communication.status == S.QUEUED:
        if design and communication_revalidate(communication_id=comm_id, reason=design, force=True):
            raise _not_sendable(f"The approval was voided: {design[0].lower()}{design[1:]}.")
        if inputs_moved(communication) and communication_revalidate(
            communication_id=comm_id, reason="The data changed between approval and sending"
        ):
            raise _not_sendable("The approval was voided: the data changed after approval.")
    elif current and (refusal := design or approved_payload_refusal(communication, item.payload)):
        raise _not_sendable(f"{refusal.rstrip('.')}; this chunk is not sent.")
    with transaction.atomic():
        locked = _locked(comm_id)
        if locked.status not in SENDABLE or locked.approved_hash != approved_hash:
            raise _not_sendable(
                f"The communication is {locked.get_status_display().lower()} and no longer "
                "approved with this payload; this chunk is not sent."
            )
        # An offer checked at submit and approval may expire while the chunks wait or go out.
        if expired := offer_refusal(locked.offer):
            raise _not_sendable(f"This chunk is not sent: {expired}")
        if locked.status == S.QUEUED:
            locked.start_sending()
            locked.save()
            log_action(
                actor=None,
                verb="communication.sending",
                target=locked,
                work_id=locked.work_id,
                data={"first_chunk": item.external_id},
            )
    return locked


def _locked(communication_id: int) -> Communication:
    """The communication, row-locked (only its own row), with what sending a chunk reads."""
    return (
        Communication.objects.select_for_update(of=("self",))
        .select_related(*SEND_RELATED)
        .get(pk=communication_id)
    )


def settle(communication_id: int, *, locked: Communication | None = None) -> None:
    """Move the communication on when every chunk of its approval is done, dead or cancelled.
    Runs inside the transaction that settled a chunk; ``locked`` when that transaction has
    already locked the communication (``_locked``)."""

    if locked is None:
        locked = Communication.objects.select_for_update().get(pk=communication_id)
    if locked.status not in SENDABLE:
        return
    statuses = list(current_outbox_items(locked).values_list("status", flat=True))
    open_ = [s for s in statuses if s in (OutboxItem.Status.PENDING, OutboxItem.Status.IN_PROGRESS)]
    if open_:
        if locked.status in (S.PARTIALLY_FAILED, S.FAILED):
            locked.resume_sending()
            locked.save()
        return
    done = statuses.count(OutboxItem.Status.DONE)
    failed = len(statuses) - done
    if locked.status in (S.PARTIALLY_FAILED, S.FAILED):
        locked.resume_sending()
    if failed == 0:
        locked.mark_sent()
        verb = "communication.sent"
    elif done == 0:
        locked.mark_failed()
        verb = "communication.failed"
    else:
        locked.mark_partially_failed()
        verb = "communication.partially_failed"
    locked.save()
    log_action(
        actor=None,
        verb=verb,
        target=locked,
        work_id=locked.work_id,
        data={"chunks_sent": done, "chunks_failed": failed},
    )


class ExstreamBatchHandler:
    def reconcile(self, item: OutboxItem) -> dict[str, Any] | None:
        found = gateway().find_batch(item.external_id)
        if found is None:
            return None
        return {**found.as_result(), "reconciled": True}

    def send(self, item: OutboxItem) -> SendResult:
        communication = _ready(item)
        assert communication.template is not None
        chunk = int(item.payload["chunk"])
        records = chunk_records(communication.pk, chunk, template=communication.template)
        if not records:
            raise _not_sendable(f"Chunk {chunk} has no messages.")
        submitted = gateway().submit_batch(
            external_id=item.external_id,
            communication=communication.template.exstream_communication,
            records=records,
        )
        return SendResult(
            result=submitted.as_result(),
            status_code=200,
            request_summary={
                "external_id": item.external_id,
                "chunk": chunk,
                "records": len(records),
            },
        )

    def on_success(self, item: OutboxItem, result: dict[str, Any]) -> None:
        comm_id = int(item.payload["communication_id"])
        chunk = int(item.payload["chunk"])
        job_id = str(result.get("job_id", ""))
        # One "submitted" event per message through the status service. FAILED too: a dead
        # chunk replayed from Operations succeeded this time (an internal correction).
        keys = message_status_chunk_apply(
            communication_id=comm_id,
            chunk=chunk,
            status=Message.Status.SUBMITTED,
            from_statuses=[Message.Status.GENERATED, Message.Status.FAILED],
            event_id=f"submitted:{item.external_id}:{job_id}",
            occurred_at=timezone.now(),
            detail={"job_id": job_id},
            extra={"exstream_job_id": job_id[:100]},
        ).keys
        # Locked here (settle needs the lock) and read once for the job, settle and actions.
        comm = _locked(comm_id)
        if comm.template is not None and job_id:
            gateway().record_job(
                submitted=Submitted(
                    job_id=job_id,
                    flow_instance_ids=list(result.get("flow_instance_ids") or []),
                    domain=str(result.get("domain", "")),
                    channel=str(result.get("channel", "")),
                ),
                external_id=item.external_id,
                communication=comm.template.exstream_communication,
                imprint_id=comm.imprint_id,
                customer_keys=keys,
            )
        settle(comm_id, locked=comm)
        # Contributor communications that expect a reply become outstanding actions now.
        contributor_actions_open_for_communication(communication=comm)

    def on_dead(self, item: OutboxItem, reason: str) -> None:
        comm_id = int(item.payload["communication_id"])
        chunk = int(item.payload["chunk"])
        message_status_chunk_apply(
            communication_id=comm_id,
            chunk=chunk,
            status=Message.Status.FAILED,
            from_statuses=[Message.Status.GENERATED],
            event_id=f"failed:{item.external_id}:{item.attempts}",
            occurred_at=timezone.now(),
            detail={"reason": reason[:500]},
            status_detail=reason[:500],
        )
        settle(comm_id)

    def on_cancel(self, item: OutboxItem) -> None:
        comm_id = int(item.payload["communication_id"])
        reason = "The chunk was cancelled in Operations."
        message_status_chunk_apply(
            communication_id=comm_id,
            chunk=int(item.payload["chunk"]),
            status=Message.Status.FAILED,
            from_statuses=[Message.Status.GENERATED, Message.Status.FAILED],
            event_id=f"cancelled:{item.external_id}:{item.attempts}",
            occurred_at=timezone.now(),
            detail={"reason": reason},
            status_detail=reason,
        )
        settle(comm_id)


HANDLER = ExstreamBatchHandler()
