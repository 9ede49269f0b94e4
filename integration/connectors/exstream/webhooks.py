"""Pushed Exstream events: Standard Webhooks verification and the handlers per event type.

Exstream has no outbound webhooks of its own (reference §9); events reach us from a flow step
or relay that posts CXI event JSON (``expctr.schemaType`` is the event type) signed per the
Standard Webhooks specification (https://www.standardwebhooks.com/):
``webhook-signature: v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.connectors.exstream import events as ev
from integration.connectors.exstream.client import using_sandbox
from integration.connectors.exstream.events import StatusEvent
from integration.models import InboundEvent
from integration.status.customer_service import EVENT_TYPE as CUSTOMER_SERVICE_OUTCOME
from integration.status.customer_service import customer_service_webhook_handler
from integration.status.sink import deliver_status_events

logger = logging.getLogger(__name__)

SOURCE = "exstream"
TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 256 * 1024
# Documented sandbox default, used only when EXSTREAM_URL and EXSTREAM_EVENTS_SECRET are unset.
SANDBOX_EVENTS_SECRET = "whsec_" + base64.b64encode(b"colophon-sandbox-exstream-events").decode()
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookVerificationError(Exception):
    pass


def configured_secrets() -> list[str]:
    # The sandbox's published secret only while the sandbox is served: in production (sandbox
    # off) an unset secret means no pushed event is accepted.
    sandbox = using_sandbox() and settings.SANDBOX_ENABLED
    raw = settings.EXSTREAM_EVENTS_SECRET or (SANDBOX_EVENTS_SECRET if sandbox else "")
    return [s.strip() for s in str(raw).split(",") if s.strip()]


def _key(secret: str) -> bytes:
    value = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value for a body (used by tests and the sandbox pusher)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secrets: list[str],
    now: float | None = None,
) -> str:
    """Check the signature over the raw body; returns the webhook id or raises."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError(
            "Missing webhook-id, webhook-timestamp or webhook-signature."
        )
    if not secrets:
        raise WebhookVerificationError("No webhook secret is configured.")
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time.") from exc
    current = time.time() if now is None else now
    if abs(current - sent) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is more than 5 minutes off.")
    offered = [s.split(",", 1)[1] for s in signatures.split() if s.startswith("v1,")]
    for secret in secrets:
        expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected.encode(), sig.encode()) for sig in offered):
            return msg_id
    raise WebhookVerificationError("No webhook-signature matches.")


def event_type_of(payload: dict[str, Any]) -> str:
    expctr = payload.get("expctr") if isinstance(payload.get("expctr"), dict) else {}
    return str((expctr or {}).get("schemaType") or payload.get("type") or "")


# --- handlers (event type -> handler) ----------------------------------------------------------

Handler = Callable[[dict[str, Any], InboundEvent], list[StatusEvent]]


def _status_event(payload: dict[str, Any], inbound: InboundEvent) -> list[StatusEvent]:
    status = ev.status_for_schema_type(inbound.event_type)
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    user = user or {}
    key = str(user.get("customerKey") or user.get("customerId") or "")
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
