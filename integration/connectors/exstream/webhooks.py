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
import logging
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integration.connectors.exstream.base import using_sandbox

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
