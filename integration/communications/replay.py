"""Replaying a communication's dead-letter chunks after someone fixed the cause."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.policy import Action
from accounts.types import Actor
from integration.communications.chunks import current_outbox_items
from integration.communications.common import S
from integration.delivery.outbox import outbox_replay
from integration.models import (
    Communication,
    Message,
    OutboxItem,
)


def communication_replay(*, actor: Actor, communication: Communication) -> int:
    """Replay the communication's dead-letter chunks (after someone fixed the cause)."""
    policy.require(actor, Action.OPERATE, communication)
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        dead = list(
            current_outbox_items(locked).filter(status=OutboxItem.Status.DEAD).select_for_update()
        )
        if not dead:
            raise ValidationError("There are no dead-letter chunks to replay.")
        for item in dead:
            outbox_replay(actor=actor, item=item)
        Message.objects.filter(
            communication=locked, chunk__in=[i.payload.get("chunk") for i in dead]
        ).update(status=Message.Status.GENERATED, status_detail="", status_at=timezone.now())
        if locked.status in (S.PARTIALLY_FAILED, S.FAILED):
            locked.resume_sending()
            locked.save()
        log_action(
            actor=actor,
            verb="communication.replayed",
            target=locked,
            work_id=locked.work_id,
            data={"chunks": [i.payload.get("chunk") for i in dead]},
        )
    return len(dead)
