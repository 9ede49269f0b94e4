"""The dispatch chunks of an approved communication: one EXSTREAM_BATCH outbox row per chunk
of messages, created in the approval's transaction, found and cancelled by the current approval.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from integration.communications.common import SUBJECT_TYPE, canonical_json, dispatch_chunk_size
from integration.lib.queue import enqueue
from integration.models import (
    Communication,
    CommunicationTemplate,
    Message,
    OutboxItem,
)


def dispatch_version(template: CommunicationTemplate | None) -> str:
    """A digest of what sending a chunk reads from the template when it goes, besides the
    stored messages, and what Colophon's staff can change: the template, its customer-key
    path, its driver fields and which Exstream communication the records go to. Before the
    first chunk the recomputed payload hash covers the same (the key path is in the template,
    the driver fields in each message, the Exstream communication in the header). What
    Exstream's own sync refreshes (data source, format, ``synced_at``, ``raw``) is left out
    here: whether the records still fit the design's data source is ``driver_source``'s
    check, which a routine sync does not trip."""
    if template is None:
        return ""
    ex = template.exstream_communication
    fields = sorted(template.mappings.values_list("driver_field", flat=True))
    return hashlib.sha256(
        canonical_json(
            [template.pk, template.customer_key_path, fields, [ex.pk, ex.communication_id]]
        ).encode()
    ).hexdigest()


def driver_source(template: CommunicationTemplate | None) -> dict[str, Any]:
    """What the approved records were shaped for, from the Exstream design's data source as
    the catalogue sync last read it. The reference gives two things to compare (§3 and
    Appendix A): the manifest's driver ``dsnlist`` entry, whose ``prodDsn`` is the
    ``driverDataSource`` every chunk carries, and the driver sample (``samplefile``), whose
    shape the records follow — its format (JSON or XML), XML root element and field names.
    It documents no schema version, no data-source revision and no list of required fields,
    so nothing else is compared: ``version``, queues, channels, ``raw`` and ``synced_at``
    may change in a routine sync without stopping a communication half-sent.

    ``absent``: the fields the records carry (mapped fields and the customer key) that the
    sample did not list when this was taken; a later chunk is refused only for a field that
    was there then and is gone now. A sample that could not be read (no fields) is nothing
    to compare against, so it lists none absent."""
    if template is None:
        return {}
    ex = template.exstream_communication
    return {
        "prod_dsn": ex.prod_dsn,
        "format": ex.driver_format,
        "root": ex.driver_root,
        "absent": absent_driver_fields(template),
    }


def absent_driver_fields(template: CommunicationTemplate) -> list[str]:
    """The fields the records carry that the design's current driver sample does not list
    (none when no sample could be read)."""
    names = set(template.exstream_communication.field_names)
    if not names:
        return []
    carried = set(template.mappings.values_list("driver_field", flat=True))
    if template.customer_key_path:
        carried.add(template.customer_key_path)
    return sorted(f for f in carried if f and f not in names)


def chunk_external_id(communication: Communication, chunk: int) -> str:
    return f"colophon-comm-{communication.pk}-chunk-{chunk}-{communication.approved_hash[:12]}"


def queue_dispatch(communication: Communication) -> int:
    """One EXSTREAM_BATCH outbox row per chunk of messages, in the approval's transaction."""
    size = dispatch_chunk_size()
    fresh = {
        "chunk": (F("sequence") - 1) / size + 1,
        "status": Message.Status.GENERATED,
        "exstream_job_id": "",
        "status_detail": "",
    }
    # Compose already writes each message fresh and in its chunk: only messages that are not
    # (a chunk size changed since, or an approval before this one was voided) are rewritten,
    # instead of every message once more.
    Message.objects.filter(communication=communication).exclude(**fresh).update(**fresh)
    count = communication.recipient_count
    chunks = (count + size - 1) // size
    # Each chunk is written through the template as it is when it goes (its Exstream
    # communication, customer-key path and driver fields): the version approved is kept with
    # every chunk, and a chunk whose template moved since is not sent.
    dispatch = dispatch_version(communication.template)
    # And the design's data source the records were approved for (``driver_source``): a
    # chunk whose records no longer fit the design's current one is not sent.
    source = driver_source(communication.template)
    rows = {
        chunk_external_id(communication, n): {
            "communication_id": communication.pk,
            "chunk": n,
            "approved_hash": communication.approved_hash,
            "messages": min(size, count - (n - 1) * size),
            "template_id": communication.template_id,
            "dispatch_version": dispatch,
            "driver_source": source,
        }
        for n in range(1, chunks + 1)
    }
    existing = {
        item.external_id: item
        for item in OutboxItem.objects.select_for_update().filter(external_id__in=list(rows))
    }
    # One row per chunk, like ``outbox_enqueue`` but in one INSERT and with one wake-up call.
    OutboxItem.objects.bulk_create(
        [
            OutboxItem(
                kind=OutboxItem.Kind.EXSTREAM_BATCH,
                external_id=external_id,
                payload=payload,
                imprint_id=communication.imprint_id,
                work_id=communication.work_id,
                subject_type=SUBJECT_TYPE,
                subject_id=communication.pk,
            )
            for external_id, payload in rows.items()
            if external_id not in existing
        ],
        batch_size=500,
    )
    for item in existing.values():
        if item.status == OutboxItem.Status.CANCELLED:
            # The same payload was approved, voided and approved again: send it this time.
            item.status = OutboxItem.Status.PENDING
            item.next_attempt_at = timezone.now()
            item.last_error = ""
            item.save()
    enqueue("integration.tasks.outbox_dispatch", group="outbox")
    return chunks


def outbox_items(communication: Communication) -> QuerySet[OutboxItem]:
    return OutboxItem.objects.filter(
        subject_type=SUBJECT_TYPE,
        subject_id=communication.pk,
        kind=OutboxItem.Kind.EXSTREAM_BATCH,
    ).order_by("id")


def current_outbox_items(communication: Communication) -> QuerySet[OutboxItem]:
    """The chunks of the current approval."""
    if not communication.approved_hash:
        return OutboxItem.objects.none()
    return outbox_items(communication).filter(
        external_id__endswith=f"-{communication.approved_hash[:12]}"
    )


def cancel_items(items: list[OutboxItem], reason: str, *, claimed: bool = False) -> None:
    statuses = [OutboxItem.Status.PENDING, OutboxItem.Status.DEAD]
    if claimed:
        statuses.append(OutboxItem.Status.IN_PROGRESS)
    for item in items:
        if item.status in statuses:
            item.status = OutboxItem.Status.CANCELLED
            item.last_error = reason
            item.save()
