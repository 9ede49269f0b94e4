"""``log_action``: the one way to write an audit row, inside the caller's transaction.

Anything that looks like a secret (by key name or by value shape) is masked before it is stored,
and the same masking protects log output (``SecretMaskingFilter``).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.masking import mask
from accounts.models import AuditEvent
from accounts.types import Actor, person


def _label(obj: Any) -> str:
    return str(obj)[:300]


def log_action(
    *,
    actor: Actor,
    verb: str,
    target: Any = None,
    data: dict[str, Any] | None = None,
    imprint: Any = None,
    work_id: int | None = None,
) -> AuditEvent:
    """Write one append-only audit row. Call it inside the service's transaction.

    ``actor`` is a user, ``None`` for the system, or a string such as ``"trigger:12"``.
    ``imprint`` defaults to ``target.imprint_id``; ``work_id`` ties the row to a title's timeline.
    """
    if actor is None or isinstance(actor, str):
        actor_obj = None
        actor_label = actor or "system"
    else:
        actor_obj = person(actor)
        actor_label = str(getattr(actor, "email", "") or actor)
    target_type = target_id = target_label = ""
    if isinstance(target, models.Model):
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_label = _label(target)
    elif target is not None:
        target_label = _label(target)
    imprint_id = None
    if imprint is not None:
        imprint_id = getattr(imprint, "pk", imprint)
    elif target is not None:
        imprint_id = getattr(target, "imprint_id", None)
        if imprint_id is None and target_type == "accounts.imprint":
            imprint_id = target.pk
    if work_id is None and target is not None:
        work_id = getattr(target, "work_id", None)
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_label=actor_label[:200],
        verb=verb,
        imprint_id=imprint_id,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        work_id=work_id,
        data=mask(data or {}),
    )
