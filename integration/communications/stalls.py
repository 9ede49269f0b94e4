"""Stalled composing: restart by a person, and the scheduled sweep with bounded restarts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.policy import Action
from accounts.types import Actor
from integration.communications.common import S
from integration.lib.queue import enqueue
from integration.models import (
    Communication,
    Message,
)


def compose_stalled_minutes(
    communication: Communication, *, now: datetime.datetime | None = None
) -> int | None:
    """Whole minutes since the composing worker last showed progress, when that is at least
    ``COMMUNICATION_COMPOSE_STALLED_MINUTES``; ``None`` when it is not composing or not stalled.
    A healthy worker beats after every chunk of ``COMPOSE_CHUNK`` recipients (well under a
    second each)."""
    if communication.status != S.COMPOSING:
        return None
    last = communication.compose_heartbeat_at or communication.updated_at
    minutes = int(((now or timezone.now()) - last).total_seconds() // 60)
    return minutes if minutes >= settings.COMMUNICATION_COMPOSE_STALLED_MINUTES else None


def compose_restart_refusal(actor: Actor, communication: Communication) -> str | None:
    """Why ``actor`` may not restart composing now, or ``None``. Imprint admins and the person
    who drafted it may, once it has stalled."""
    admin = policy.can(actor, Action.OPERATE, communication)
    drafter = (
        communication.created_by_id is not None
        and communication.created_by_id == getattr(actor, "pk", None)
        and policy.can(actor, Action.VIEW, communication)
    )
    if not (admin or drafter):
        return "Only the person who drafted it or an imprint admin can restart composing."
    if communication.status != S.COMPOSING:
        return f"It is {communication.get_status_display().lower()}, not composing."
    if compose_stalled_minutes(communication) is None:
        return (
            "Composing is still making progress; restart is offered after "
            f"{settings.COMMUNICATION_COMPOSE_STALLED_MINUTES} minutes without any."
        )
    return None


def _restart_composing(locked: Communication, *, actor: Actor, stalled: int, by: str) -> None:
    """Throw away the partial messages and compose again as a new attempt (the old worker, if
    it ever wakes, finds its attempt superseded and stops). Inside the caller's transaction."""
    partial = Message.objects.filter(communication=locked).delete()[0]
    locked.compose_attempt += 1
    locked.compose_restarts += 1
    locked.compose_done = 0
    locked.compose_heartbeat_at = timezone.now()
    locked.payload_hash = ""
    locked.input_versions = {}
    locked.save(
        update_fields=[
            "compose_attempt",
            "compose_restarts",
            "compose_done",
            "compose_heartbeat_at",
            "payload_hash",
            "updated_at",
        ]
    )
    log_action(
        actor=actor,
        verb="communication.compose_restarted",
        target=locked,
        work_id=locked.work_id,
        data={
            "stalled_minutes": stalled,
            "partial_messages_deleted": partial,
            "attempt": locked.compose_attempt,
            "restarts": locked.compose_restarts,
            "by": by,
        },
    )
    enqueue(
        "integration.tasks.communication_compose",
        locked.pk,
        locked.compose_attempt,
        group="compose",
    )


def communication_compose_restart(*, actor: Actor, communication: Communication) -> Communication:
    """Restart a composition whose worker stopped showing progress (e.g. it died): the partial
    messages are deleted and composing starts again from scratch. Refused unless it is
    composing and stalled; only imprint admins and the drafter may."""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = compose_restart_refusal(actor, locked)
        if refusal is not None:
            if not (
                policy.can(actor, Action.OPERATE, locked)
                or locked.created_by_id == getattr(actor, "pk", None)
            ):
                raise PermissionDenied(refusal)
            raise ValidationError(refusal)
        stalled = compose_stalled_minutes(locked) or 0
        _restart_composing(locked, actor=actor, stalled=stalled, by="hand")
    return locked


def communications_compose_sweep(*, now: datetime.datetime | None = None) -> str:
    """The scheduled safety net: restart compositions with no progress for
    ``COMMUNICATION_COMPOSE_SWEEP_MINUTES``, at most ``COMMUNICATION_COMPOSE_MAX_RESTARTS``
    times each; after that, put them back to draft with a ``compose_error`` saying why."""
    now = now or timezone.now()
    limit = settings.COMMUNICATION_COMPOSE_SWEEP_MINUTES
    cutoff = now - datetime.timedelta(minutes=limit)
    max_restarts = settings.COMMUNICATION_COMPOSE_MAX_RESTARTS
    candidates = list(
        Communication.objects.filter(status=S.COMPOSING)
        .filter(
            Q(compose_heartbeat_at__lt=cutoff)
            | Q(compose_heartbeat_at__isnull=True, updated_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    restarted = abandoned = 0
    for pk in candidates:
        with transaction.atomic():
            locked = Communication.objects.select_for_update().get(pk=pk)
            last = locked.compose_heartbeat_at or locked.updated_at
            if locked.status != S.COMPOSING or last >= cutoff:
                continue  # it moved on while we looked
            stalled = int((now - last).total_seconds() // 60)
            if locked.compose_restarts < max_restarts:
                _restart_composing(locked, actor=None, stalled=stalled, by="sweep")
                restarted += 1
                continue
            Message.objects.filter(communication=locked).delete()
            locked.compose_failed()
            locked.compose_error = (
                f"Composing stalled {locked.compose_restarts + 1} times (no progress for "
                f"{limit} minutes or more each time) and was restarted "
                f"{locked.compose_restarts} times, so it was stopped. The worker may be "
                "failing on this audience or template: check the worker log in Operations, "
                "then recompose."
            )
            locked.payload_hash = ""
            locked.input_versions = {}
            locked.save()
            log_action(
                actor=None,
                verb="communication.compose_abandoned",
                target=locked,
                work_id=locked.work_id,
                data={"restarts": locked.compose_restarts, "stalled_minutes": stalled},
            )
            abandoned += 1
    return f"{restarted} stalled composition(s) restarted, {abandoned} put back to draft."
