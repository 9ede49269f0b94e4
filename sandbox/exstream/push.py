"""Optional push: the sandbox posts its e-mail events to Colophon's webhook as CXI event JSON
signed per Standard Webhooks (what an Exstream-side relay would do; Exstream itself has no
outbound webhooks). The duplicate and out-of-order switches apply here too."""

from __future__ import annotations

import json
import time

from django.conf import settings

from integration.connectors.exstream.webhooks import configured_secrets, sign
from integration.lib import http
from sandbox.models import ExstreamSandboxEmailEvent, ExstreamSandboxSwitches

SCHEMA_TYPES = {"SUBMIT": "Submit"}


def cxi_payload(event: ExstreamSandboxEmailEvent) -> dict:
    millis = int(event.event_date.timestamp() * 1000)
    return {
        "expctr": {
            "schemaVersion": "1.0",
            "schemaType": f"Exstream-Email-{SCHEMA_TYPES.get(event.event_type, event.event_type)}",
            "schemaSource": "Exstream",
            "tenant": "colophon",
            "eventId": event.event_id,
            "eventDate": millis,
        },
        "exstreamEmailStatistics": {
            "creationTime": millis,
            "emailProvider": "sandbox",
            "domain": event.domain,
            "eventType": event.event_type,
        },
        "user": {"customerNumber": event.customer_key},
    }


def push_email_events(*, url: str | None = None, secret: str | None = None) -> int:
    """POST every not yet pushed e-mail event; returns how many requests were sent."""
    url = url or f"{settings.SANDBOX_BASE_URL}/api/v1/webhooks/exstream/"
    keys = [secret] if secret else configured_secrets()
    if not keys:
        raise ValueError("No webhook secret to sign with (set EXSTREAM_EVENTS_SECRET).")
    switches = ExstreamSandboxSwitches.current()
    events = list(ExstreamSandboxEmailEvent.objects.filter(pushed=False))
    if switches.out_of_order_events:
        events.reverse()
    sent = 0
    for event in events:
        body = json.dumps(cxi_payload(event)).encode()
        msg_id = f"msg_{event.event_id}"
        for _ in range(2 if switches.duplicate_events else 1):
            timestamp = int(time.time())
            http.request(
                "POST",
                url,
                service="Sandbox Exstream push",
                headers={
                    "Content-Type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(keys[0], msg_id, timestamp, body),
                },
                data=body,
                retries=1,
            )
            sent += 1
        ExstreamSandboxEmailEvent.objects.filter(pk=event.pk).update(pushed=True)
    return sent


def push_customer_service_outcome(
    *,
    event_id: str,
    case_reference: str,
    issue_type: str,
    isbn: str,
    outcome: str,
    message_key: str = "",
    note: str = "",
    occurred_at_ms: int | None = None,
    url: str | None = None,
    secret: str | None = None,
) -> None:
    """POST one ``customer_service.outcome`` event (the shape ``integration/status/
    customer_service.py`` documents) to Colophon's webhook, signed as the e-mail events are:
    what a relay from the contact centre's case system would send once a case about a notice
    is closed. Exstream itself documents no such event; this is the relay's contract."""
    url = url or f"{settings.SANDBOX_BASE_URL}/api/v1/webhooks/exstream/"
    keys = [secret] if secret else configured_secrets()
    if not keys:
        raise ValueError("No webhook secret to sign with (set EXSTREAM_EVENTS_SECRET).")
    data: dict = {
        "caseReference": case_reference,
        "issueType": issue_type,
        "isbn": isbn,
        "outcome": outcome,
    }
    if message_key:
        data["messageKey"] = message_key
    if note:
        data["note"] = note
    body = json.dumps(
        {
            "type": "customer_service.outcome",
            "id": event_id,
            "occurredAt": occurred_at_ms or int(time.time() * 1000),
            "data": data,
        }
    ).encode()
    msg_id = f"msg_{event_id}"
    timestamp = int(time.time())
    http.request(
        "POST",
        url,
        service="Sandbox Exstream push",
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(keys[0], msg_id, timestamp, body),
        },
        data=body,
        retries=1,
    )
