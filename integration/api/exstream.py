"""``POST /api/v1/webhooks/exstream/``: signed Exstream events (Standard Webhooks).

No session auth and no CSRF: the signature is the authentication. The raw body is verified
before it is parsed; the event is stored unique on ``webhook-id`` and processed in a task."""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.api import contains_nul
from integration.connectors.exstream import webhooks
from integration.lib.queue import enqueue
from integration.models import InboundEvent

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt
@require_POST
def exstream_webhook(request: HttpRequest) -> JsonResponse:
    length = request.headers.get("Content-Length", "0")
    if (length.isdigit() and int(length) > webhooks.MAX_BODY_BYTES) or len(
        request.body
    ) > webhooks.MAX_BODY_BYTES:
        return _error(413, "too_large", "The event body is larger than 256 KiB.")
    body = request.body
    try:
        msg_id = webhooks.verify(body, request.headers, secrets=webhooks.configured_secrets())
    except webhooks.WebhookVerificationError as exc:
        logger.warning("Rejected an Exstream webhook: %s", exc)
        return _error(401, "bad_signature", str(exc))
    max_id = InboundEvent._meta.get_field("event_id").max_length or 200
    if len(msg_id) > max_id:
        return _error(400, "bad_webhook_id", f"The webhook-id is longer than {max_id} characters.")
    # JSON on the wire is UTF-8 (RFC 8259 §8.1). A UTF-8 byte order mark is tolerated and
    # dropped (the signature was checked over the bytes as sent); UTF-16/32 is refused, never
    # stored in a form the worker cannot read back.
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in body:
        return _error(400, "not_utf8", "The event body must be UTF-8 JSON, not UTF-16/32.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _error(400, "not_utf8", "The event body is not UTF-8 text; send UTF-8 JSON.")
    try:
        payload = json.loads(text)
    except ValueError:
        return _error(400, "invalid_json", "The event body is not valid JSON.")
    if not isinstance(payload, dict):
        return _error(400, "invalid_json", "The event body must be a JSON object.")
    if contains_nul(payload):
        return _error(
            400,
            "nul_character",
            "The event contains a NUL character (\\u0000), which cannot be stored; remove it "
            "and send the event again.",
        )
    headers = {
        k.lower(): v
        for k, v in request.headers.items()
        if k.lower() not in ("webhook-signature", "authorization", "cookie")
    }
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                source=webhooks.SOURCE,
                event_id=msg_id,
                event_type=webhooks.event_type_of(payload)[:200],
                raw_body=text,
                headers=headers,
            )
            enqueue("integration.tasks.exstream_process_inbound_event", event.pk)
    except IntegrityError:
        return JsonResponse({"status": "duplicate", "id": msg_id})
    return JsonResponse({"status": "accepted", "id": msg_id}, status=202)
