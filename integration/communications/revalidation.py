"""What was approved is what is sent: re-checking communications that await sending against
current data, voiding the approval (and recomposing) when the payload changed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import log_action
from integration.communications.chunks import (
    absent_driver_fields,
    cancel_items,
    dispatch_version,
    outbox_items,
)
from integration.communications.create import start_composing
from integration.communications.payload import (
    composed_on,
    input_versions_current,
    payload_hash_and_versions,
)
from integration.lib.queue import enqueue
from integration.models import (
    Approval,
    Audience,
    ChangeEvent,
    Communication,
    CommunicationTemplate,
    Work,
)


def stale_reason(communication: Communication) -> str | None:
    """Cheap: has anything the payload reads changed since it was last found current?"""
    since = communication.checked_at or communication.composed_at
    if since is None:
        return None
    c = communication
    if (
        c.template_id
        and CommunicationTemplate.objects.filter(pk=c.template_id, updated_at__gt=since).exists()
    ):
        return f"The template {communication.template} or its mapping changed"
    if c.audience_id and Audience.objects.filter(pk=c.audience_id, updated_at__gt=since).exists():
        return f"The audience {communication.audience} changed"
    if (
        communication.work_id
        and ChangeEvent.objects.filter(work_id=communication.work_id, created_at__gt=since).exists()
    ):
        return f"The catalogue data of “{communication.work}” changed"
    return None


def changed_since_composed(communication: Communication) -> str | None:
    """None when the composed payload is still what current data gives; otherwise why not.
    Recomputes the hash only when something it reads has changed."""
    why = stale_reason(communication)
    if why is None:
        return None
    current, versions = payload_hash_and_versions(
        communication=communication, on_date=composed_on(communication)
    )
    if current == communication.payload_hash:
        _found_current(communication.pk, current, versions)
        return None
    return why


def _found_current(communication_id: int, payload_hash: str, versions: dict[str, str]) -> None:
    """The payload recomputed from current data is still ``payload_hash``: record when, and
    the versions of the inputs it was built from (a no-op save moved a version without
    changing the payload; the next check need not recompute for it again)."""
    Communication.objects.filter(pk=communication_id, payload_hash=payload_hash).update(
        checked_at=timezone.now(), input_versions=versions
    )
    Communication.objects.filter(pk=communication_id, approved_hash=payload_hash).update(
        approved_inputs=versions
    )


def inputs_moved(communication: Communication) -> bool:
    """Cheap (a few queries, nothing per message): has any input of the approved payload
    moved since the approval recorded its versions? True when no versions were recorded
    (an input without a cheap version): then the payload must be recomputed."""
    recorded = communication.approved_inputs or {}
    if not recorded:
        return True
    try:
        now = input_versions_current(
            communication=communication, on_date=composed_on(communication)
        )
    except ValidationError:
        return True  # e.g. the template no longer resolves: the recompute says why
    return now != recorded


def approved_template_refusal(communication: Communication, chunk: dict[str, Any]) -> str | None:
    """None when what a chunk reads from its template when it goes (``dispatch_version``: the
    Exstream communication, customer-key path, driver fields) is still what was approved with
    the chunk (``chunk``: the outbox row's payload); otherwise why not. Chunks queued before
    this version was kept with them carry none and are not refused."""
    recorded = chunk.get("dispatch_version")
    if recorded is None:
        return None
    template = communication.template
    if template is None or template.pk != chunk.get("template_id"):
        return "The communication's template changed after approval"
    if dispatch_version(template) != recorded:
        return (
            f"The template {template}, its mapping or its Exstream communication changed after "
            "approval, so this chunk would not be what was approved"
        )
    return None


def driver_source_refusal(communication: Communication, chunk: dict[str, Any]) -> str | None:
    """None when the Exstream design's driver data source, as the catalogue sync last read it,
    still fits the records approved with the chunk (``chunk``: the outbox row's payload, whose
    ``driver_source`` was taken at approval); otherwise why not. Chunks queued before it was
    kept with them carry none and are not refused."""
    approved = chunk.get("driver_source")
    template = communication.template
    if not approved or template is None:
        return None
    ex = template.exstream_communication
    changes = []
    if ex.prod_dsn != approved.get("prod_dsn", ""):
        changes.append(
            f"its driver data source is now {ex.prod_dsn or 'none'!r} "
            f"(approved for {approved.get('prod_dsn') or 'none'!r})"
        )
    if ex.driver_format != approved.get("format", ex.driver_format) or (
        ex.driver_root != approved.get("root", ex.driver_root)
    ):
        changes.append(
            f"its driver sample is now {ex.driver_format.upper()}"
            + (f" rooted at <{ex.driver_root}>" if ex.driver_root else "")
        )
    gone = sorted(set(absent_driver_fields(template)) - set(approved.get("absent") or []))
    if gone:
        changes.append("its driver sample no longer has " + ", ".join(gone))
    if not changes:
        return None
    return (
        f"The Exstream design {ex.name} changed after approval ({'; '.join(changes)}), so the "
        "approved records no longer fit it"
    )


def approved_payload_refusal(
    communication: Communication, chunk: dict[str, Any] | None = None
) -> str | None:
    """For a communication already sending: None when what would be sent is still what was
    approved (recomputed only when an input version moved); otherwise why not. ``chunk``:
    the outbox row's payload of the chunk about to go."""
    if not communication.approved_inputs:
        # No cheap versions for the recipients: the full recompute before the first chunk is
        # the check of the data (each chunk sends its messages as stored). What a later chunk
        # still reads from current setup — the template's Exstream communication, key path
        # and driver fields — is checked against the version approved with the chunk.
        return approved_template_refusal(communication, chunk or {})
    if not inputs_moved(communication):
        return None
    bound = communication.approved_hash
    try:
        current, versions = payload_hash_and_versions(
            communication=communication, on_date=composed_on(communication)
        )
    except ValidationError as exc:
        return exc.messages[0]
    if current == bound:
        _found_current(communication.pk, current, versions)
        return None
    return "The data changed after approval, so this chunk would differ from what was approved"


def communication_revalidate(
    *, communication_id: int, reason: str = "", force: bool = False
) -> bool:
    """Recompute the payload hash from current data; when it differs from what was submitted
    or approved, void the approval, return the communication to draft with the reason, and
    recompose it. ``force``: void even when the hash is unchanged (what the payload is sent
    to changed, e.g. the Exstream design's data source). Returns True when it voided."""
    communication = (
        Communication.objects.select_related("communication_type", "audience", "template")
        .filter(pk=communication_id)
        .first()
    )
    if communication is None or communication.status not in Communication.AWAITING_SEND:
        return False
    bound = communication.approved_hash or communication.payload_hash
    versions: dict[str, str] = {}
    try:
        current, versions = payload_hash_and_versions(
            communication=communication, on_date=composed_on(communication)
        )
    except ValidationError as exc:
        current, reason = "", reason or exc.messages[0]
    if current == bound and not force:
        _found_current(communication_id, current, versions)
        return False
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication_id)
        if (
            locked.status not in Communication.AWAITING_SEND
            or (locked.approved_hash or locked.payload_hash) != bound
        ):
            return False
        # While queued no chunk has reached Exstream: the dispatcher moves the communication
        # to "sending" under this same lock before its first HTTP call. Chunks claimed by a
        # worker are cancelled too; that worker then finds it lost them and sends nothing.
        items = list(outbox_items(locked).select_for_update())
        was = locked.get_status_display().lower()
        why = reason or "The template, mapping, audience or catalogue data changed"
        locked.void_approval()
        locked.void_reason = (
            f"{why.rstrip('.')} while it was {was}, so what was approved is no longer what "
            "would be sent and the approval is void. It has been recomposed from current data; "
            "check it and submit it again."
        )
        cancel_items(items, "Approval voided: " + locked.void_reason, claimed=True)
        Approval.objects.create(
            communication=locked,
            decided_by=None,
            decision=Approval.Decision.VOIDED,
            payload_hash=current,
            comment=locked.void_reason,
        )
        locked.save()
        log_action(
            actor=None,
            verb="communication.approval_voided",
            target=locked,
            work_id=locked.work_id,
            data={"reason": locked.void_reason, "was": bound, "now": current},
        )
        start_composing(locked, actor=None)
    return True


def communications_awaiting_send(**filters: Any) -> QuerySet[Communication]:
    return Communication.objects.filter(status__in=Communication.AWAITING_SEND, **filters)


def _enqueue_revalidation(ids: list[int], reason: str) -> int:
    for pk in ids:
        enqueue("integration.tasks.communication_revalidate", pk, reason)
    return len(ids)


def communications_revalidate_for_work(work_id: int, reason: str = "") -> int:
    """Called by the Consonance sync after it records change events for a work: every
    communication about that work that awaits sending is re-checked in the background."""

    ids = list(
        communications_awaiting_send()
        .filter(Q(work_id=work_id) | Q(contract__work_id=work_id))
        .values_list("pk", flat=True)
    )
    if not reason:
        title = Work.objects.filter(pk=work_id).values_list("title", flat=True).first()
        reason = f"The catalogue data of “{title or work_id}” changed in Consonance"
    return _enqueue_revalidation(ids, reason)


def communications_revalidate_for_setup(*, kind: str, object_id: int) -> int:
    """After a template, mapping or audience is saved: re-check what uses it."""
    if kind == "template":
        name = CommunicationTemplate.objects.filter(pk=object_id).first()
        ids = list(communications_awaiting_send(template_id=object_id).values_list("pk", flat=True))
        reason = f"The template {name or object_id} or its mapping changed"
    elif kind == "audience":
        audience = Audience.objects.filter(pk=object_id).first()
        ids = list(communications_awaiting_send(audience_id=object_id).values_list("pk", flat=True))
        reason = f"The audience {audience or object_id} changed"
    else:
        raise ValueError(f"Unknown setup kind {kind!r}.")
    return _enqueue_revalidation(ids, reason)
