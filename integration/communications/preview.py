"""Previews: a sample of recipients rendered through Exstream on the preview domain."""

from __future__ import annotations

import random
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import policy
from accounts.audit import log_action
from accounts.policy import Action
from accounts.types import Actor, person
from integration.communications.common import S
from integration.delivery.gateway import gateway
from integration.models import (
    Communication,
    Message,
    MessagePreview,
)

PREVIEW_RANDOM = 3


PREVIEW_MAX_WITH_FINDINGS = 20


def preview_sample(*, communication: Communication, random_count: int = PREVIEW_RANDOM) -> list:
    """The first recipient, a random few, and every one with findings (capped)."""
    messages = Message.objects.filter(communication=communication)
    picked: dict[int, str] = {}
    first = messages.order_by("sequence").values_list("pk", flat=True).first()
    if first is not None:
        picked[first] = "first recipient"
    total = communication.recipient_count
    if total > 1 and random_count:
        rng = random.Random()
        sequences = rng.sample(range(2, total + 1), min(random_count, total - 1))
        for pk in messages.filter(sequence__in=sequences).values_list("pk", flat=True):
            picked.setdefault(pk, "random recipient")
    with_findings = (
        messages.exclude(findings=[])
        .order_by("-blocking", "sequence")
        .values_list("pk", flat=True)[:PREVIEW_MAX_WITH_FINDINGS]
    )
    for pk in with_findings:
        picked[pk] = "has findings"
    rows = {m.pk: m for m in messages.filter(pk__in=picked).order_by("sequence")}
    return [(rows[pk], picked[pk]) for pk in sorted(picked, key=lambda p: rows[p].sequence)]


def communication_preview(
    *, actor: Actor, communication: Communication, random_count: int = PREVIEW_RANDOM
) -> list[MessagePreview]:
    """Render a sample through Exstream on-demand on the preview domain and keep the result."""

    policy.require(actor, Action.PREVIEW, communication)
    if communication.status == S.COMPOSING:
        raise ValidationError("Wait until composing has finished, then preview.")
    if communication.template is None or communication.recipient_count == 0:
        raise ValidationError("There is nothing to preview: no template or no recipients.")
    exstream = communication.template.exstream_communication
    previews: list[MessagePreview] = []
    for message, reason in preview_sample(communication=communication, random_count=random_count):
        outputs: list[dict[str, Any]] = []
        error = ""
        try:
            outputs = gateway().preview(
                actor=actor,
                exstream_communication=exstream,
                driver_data=message.driver_data,
                imprint=communication.imprint,
                customer_key=str(message.key),
                customer_key_field=communication.template.customer_key_path,
            )
        except Exception as exc:  # shown next to the recipient; others still render
            error = getattr(exc, "message", None) or str(exc)
        previews.append(
            MessagePreview(
                communication=communication,
                message=message,
                reason=reason,
                payload_hash=message.payload_hash,
                outputs=outputs,
                error=error[:4000],
                created_by=person(actor),
            )
        )
    with transaction.atomic():
        MessagePreview.objects.filter(communication=communication).delete()
        MessagePreview.objects.bulk_create(previews)
        log_action(
            actor=actor,
            verb="communication.previewed",
            target=communication,
            work_id=communication.work_id,
            data={
                "recipients": [p.message.sequence for p in previews],
                "errors": sum(1 for p in previews if p.error),
            },
        )
    return previews
