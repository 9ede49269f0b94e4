"""THE one place normalized Exstream status events go.

For now they are stored in ``MessageStatusEvent`` (unique on source + external event id, so a
duplicate is a no-op). A later issue adds per-recipient messages and makes this also move each
message's status forward monotonically; callers do not change.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from integration.exstream.events import StatusEvent
from integration.models import MessageStatusEvent


def deliver_status_events(events: list[StatusEvent]) -> int:
    """Store each event once; returns how many were new. Idempotent."""
    created = 0
    for event in events:
        if not event.message_key:
            continue
        try:
            with transaction.atomic():
                _, was_created = MessageStatusEvent.objects.get_or_create(
                    source=event.source,
                    external_event_id=event.external_event_id,
                    defaults={
                        "message_key": event.message_key,
                        "status": event.status,
                        "occurred_at": event.occurred_at,
                        "detail": event.detail,
                    },
                )
        except IntegrityError:  # a concurrent delivery of the same event won the race
            was_created = False
        created += int(was_created)
    return created
