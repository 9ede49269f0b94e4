"""Granting an approval, by a person (``approval``) or automatically for a trigger draft whose
type the imprint marked as needing none: binds the payload hash and queues the chunks.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.audit import log_action
from accounts.types import Actor, person
from integration.communications.chunks import queue_dispatch
from integration.communications.common import S
from integration.communications.offers import offer_refusal
from integration.models import (
    Approval,
    Communication,
)
from integration.setup.mappings import mapping_problems
from integration.setup.triggers import type_is_auto_approvable


def submit_refusal(communication: Communication) -> str | None:
    """Why it cannot be submitted now (None when it can), for everyone."""
    if communication.status == S.COMPOSING:
        return "It is still composing."
    if communication.status not in Communication.EDITABLE:
        return f"It is {communication.get_status_display().lower()}."
    if communication.compose_error:
        return f"Composing failed: {communication.compose_error}"
    if not communication.payload_hash:
        return "It has not been composed yet."
    if communication.recipient_count == 0:
        return "It has no recipients."
    if communication.template is not None and (
        incomplete := mapping_problems(communication.template)
    ):
        return "Its template is incomplete: " + " ".join(incomplete)
    if communication.blocking_count:
        return (
            f"{communication.blocking_count} recipient(s) have blocking findings; fix the data, "
            "mapping or audience and recompose."
        )
    return offer_refusal(communication.offer)


def approval_grant(locked: Communication, *, actor: Actor, comment: str, auto: bool) -> None:
    locked.approve()
    locked.approved_by = person(actor)
    locked.approved_at = timezone.now()
    locked.approved_hash = locked.payload_hash
    # The versions of what that payload was built from: the check before each chunk
    # recomputes the payload only when one of them moved.
    locked.approved_inputs = dict(locked.input_versions or {})
    locked.auto_approved = auto
    Approval.objects.create(
        communication=locked,
        decided_by=locked.approved_by,
        decision=Approval.Decision.APPROVED,
        payload_hash=locked.payload_hash,
        input_versions=locked.approved_inputs,
        comment=comment,
    )
    chunks = queue_dispatch(locked)
    locked.queue()
    locked.save()
    log_action(
        actor=actor,
        verb="communication.auto_approved" if auto else "communication.approved",
        target=locked,
        work_id=locked.work_id,
        data={"payload_hash": locked.approved_hash, "chunks": chunks, "comment": comment},
    )


def auto_approve_if_allowed(locked: Communication) -> None:

    if not type_is_auto_approvable(
        imprint_id=locked.imprint_id, communication_type=locked.communication_type
    ):
        return
    actor = f"trigger:{locked.trigger_rule_id}"
    refusal = submit_refusal(locked)
    if refusal:
        log_action(
            actor=actor,
            verb="communication.auto_approval_withheld",
            target=locked,
            work_id=locked.work_id,
            data={"reason": refusal},
        )
        return
    locked.submit()
    locked.submitted_by = None
    locked.submitted_at = timezone.now()
    log_action(
        actor=actor,
        verb="communication.submitted",
        target=locked,
        work_id=locked.work_id,
        data={"payload_hash": locked.payload_hash, "auto": True},
    )
    approval_grant(
        locked,
        actor=actor,
        comment=f"Auto-approved: the imprint marked {locked.communication_type} as needing no "
        "approval.",
        auto=True,
    )
