"""Pushed Exstream events, after verification: the raw event is stored first (see
``api/exstream.py``), then each is turned into status events by a handler per event type (a dict
from type to handler) and applied; safe to run twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration.connectors.exstream import events as ev
from integration.connectors.exstream.events import StatusEvent
from integration.models import InboundEvent
from integration.status.customer_service import EVENT_TYPE as CUSTOMER_SERVICE_OUTCOME
from integration.status.customer_service import customer_service_webhook_handler
from integration.status.sink import deliver_status_events

logger = logging.getLogger(__name__)


Handler = Callable[[dict[str, Any], InboundEvent], list[StatusEvent]]


def _status_event(payload: dict[str, Any], inbound: InboundEvent) -> list[StatusEvent]:
    status = ev.status_for_schema_type(inbound.event_type)
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    user = user or {}
    # ``user`` is output-manifest metadata (reference §7: "such as customer id"); its key names
    # come from the design, so the usual customer-key names are all read.
    key = str(user.get("customerNumber") or user.get("customerKey") or user.get("customerId") or "")
    if status is None or not key:
        raise ValueError("The event names no customer key (user.customerKey or user.customerId).")
    expctr = payload.get("expctr") or {}
    stats = payload.get("exstreamEmailStatistics") or payload.get("exstreamJob") or {}
    occurred = (
        ev.from_epoch_ms(expctr.get("eventDate"))
        or ev.from_epoch_ms(stats.get("creationTime"))
        or inbound.received_at
    )
    return [
        StatusEvent(
            message_key=key,
            status=status,
            occurred_at=occurred,
            source=ev.SOURCE_WEBHOOK,
            external_event_id=inbound.event_id,
            detail={
                "schema_type": inbound.event_type,
                "communication_id": stats.get("communicationId", ""),
            },
        )
    ]


HANDLERS: dict[str, Handler] = {
    "Exstream-Generated": _status_event,
    "Exstream-Email-Submit": _status_event,
    "Exstream-Email-POST": _status_event,
    "Exstream-Email-OPEN": _status_event,
    "Exstream-Email-NDLV": _status_event,
    "Exstream-Email-BOUNCE": _status_event,
    # Outcomes of customer-service notices with a case reference (shape documented in
    # integration/status/customer_service.py); stored, no message status.
    CUSTOMER_SERVICE_OUTCOME: customer_service_webhook_handler,
}


def handler_for(event_type: str) -> Handler | None:
    """Known types by name; other ``Exstream-<channel>`` / ``-Failed`` types by shape."""
    if event_type in HANDLERS:
        return HANDLERS[event_type]
    if ev.status_for_schema_type(event_type) is not None:
        return _status_event
    return None


def process_inbound_event(inbound_event_pk: int) -> str:
    """Turn one stored event into status events; safe to run twice."""
    with transaction.atomic():
        inbound = InboundEvent.objects.select_for_update().get(pk=inbound_event_pk)
        if inbound.processed_at is not None:
            return "already processed"
        handler = handler_for(inbound.event_type)
        if handler is None:
            logger.info(
                "Ignoring Exstream event %s of unknown type %r",
                inbound.event_id,
                inbound.event_type,
            )
            inbound.processing_error = f"Unknown event type {inbound.event_type!r}; ignored."
            inbound.processed_at = timezone.now()
            inbound.save(update_fields=["processing_error", "processed_at"])
            return "ignored"
        try:
            events = handler(json.loads(inbound.raw_body), inbound)
        except (ValueError, TypeError, AttributeError) as exc:
            inbound.processing_error = str(exc)[:2000]
            inbound.processed_at = timezone.now()
            inbound.save(update_fields=["processing_error", "processed_at"])
            return "failed"
        created = deliver_status_events(events)
        inbound.processed_at = timezone.now()
        inbound.processing_error = ""
        inbound.save(update_fields=["processing_error", "processed_at"])
        return f"{created} status event(s)"
