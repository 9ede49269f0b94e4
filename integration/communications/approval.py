"""Submit, approve (four eyes), reject and cancel; approvers are told by e-mail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Membership, User
from accounts.policy import CATEGORY_ROLES, Category
from accounts.types import Actor, person
from integration.communications.chunks import cancel_items, outbox_items
from integration.communications.common import S, require_drafter
from integration.communications.grant import approval_grant, submit_refusal
from integration.communications.offers import offer_refusal
from integration.communications.revalidation import changed_since_composed, communication_revalidate
from integration.lib.queue import enqueue
from integration.models import (
    Approval,
    Communication,
    OutboxItem,
)


def communication_submit(*, actor: Actor, communication: Communication) -> Communication:
    require_drafter(actor, communication)
    if communication.status in Communication.EDITABLE and communication.payload_hash:
        changed = changed_since_composed(communication)
        if changed:
            raise ValidationError(
                f"{changed} since it was composed: recompose it, check it and submit again."
            )
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        require_drafter(actor, locked)
        refusal = submit_refusal(locked)
        if refusal:
            raise ValidationError(f"This communication cannot be submitted: {refusal}")
        locked.submit()
        locked.submitted_by = person(actor)
        if locked.submitted_by is not None:
            locked.authors.add(locked.submitted_by)
        locked.submitted_at = timezone.now()
        locked.save()
        log_action(
            actor=actor,
            verb="communication.submitted",
            target=locked,
            work_id=locked.work_id,
            data={"payload_hash": locked.payload_hash, "recipients": locked.recipient_count},
        )
        enqueue("integration.tasks.communication_notify_approvers", locked.pk)
    return locked


def approve_refusal(actor: Actor, communication: Communication) -> str | None:
    """Why ``actor`` may not approve this now (None when they may)."""
    refusal = policy.approval_refusal(
        actor,
        communication.category,
        communication,
        author_ids=communication.author_ids(),
    )
    if refusal:
        return refusal
    if communication.status != S.SUBMITTED:
        return f"It is {communication.get_status_display().lower()}, not awaiting approval."
    if communication.blocking_count:
        return f"{communication.blocking_count} recipient(s) have blocking findings."
    return offer_refusal(communication.offer)


def communication_approve(
    *, actor: Actor, communication: Communication, comment: str = ""
) -> Communication:
    """Four eyes: an approving role for the category in the imprint, not the submitter. Binds
    the payload hash and creates the dispatch outbox rows in the same transaction."""
    who = policy.approval_refusal(
        actor, communication.category, communication, author_ids=communication.author_ids()
    )
    if who:
        raise PermissionDenied(who)
    if expired := offer_refusal(communication.offer):
        raise ValidationError(f"It cannot be approved: {expired}")
    refusal = approve_refusal(actor, communication)
    if refusal:
        raise PermissionDenied(refusal)
    changed = changed_since_composed(communication)
    if changed and communication_revalidate(communication_id=communication.pk, reason=changed):
        raise ValidationError(
            f"{changed} after it was submitted, so it is no longer what was submitted: it is back "
            "in draft and has been recomposed from current data."
        )
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = approve_refusal(actor, locked)
        if refusal:
            raise PermissionDenied(refusal)
        approval_grant(locked, actor=actor, comment=comment, auto=False)
    return locked


def communication_reject(
    *, actor: Actor, communication: Communication, comment: str
) -> Communication:
    if not comment.strip():
        raise ValidationError({"comment": ["Say why it is rejected, so the drafter can fix it."]})
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = policy.approval_refusal(
            actor, locked.category, locked, author_ids=locked.author_ids()
        )
        if refusal:
            raise PermissionDenied(refusal.replace("approve", "reject"))
        if locked.status != S.SUBMITTED:
            raise ValidationError(
                f"It is {locked.get_status_display().lower()}, not awaiting approval."
            )
        locked.reject()
        locked.rejection_comment = comment.strip()
        locked.save()
        Approval.objects.create(
            communication=locked,
            decided_by=person(actor),
            decision=Approval.Decision.REJECTED,
            payload_hash=locked.payload_hash,
            comment=comment.strip(),
        )
        log_action(
            actor=actor,
            verb="communication.rejected",
            target=locked,
            work_id=locked.work_id,
            data={"comment": comment.strip()},
        )
    return locked


def cancel_refusal(actor: Actor, communication: Communication) -> str | None:
    if not (
        policy.can_draft(actor, communication.category, communication)
        or policy.can_approve(actor, communication.category, communication, author_ids=())
    ):
        return "Only the category's drafters and approvers in this imprint may cancel it."
    if communication.status not in (S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.QUEUED):
        return f"It is {communication.get_status_display().lower()}; only unsent ones can be."
    return None


def communication_cancel(*, actor: Actor, communication: Communication) -> Communication:
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = cancel_refusal(actor, locked)
        if refusal:
            if "Only the" in refusal:
                raise PermissionDenied(refusal)
            raise ValidationError(refusal)
        items = list(outbox_items(locked).select_for_update())
        if any(i.status == OutboxItem.Status.IN_PROGRESS for i in items):
            raise ValidationError("A chunk is being sent right now; it can no longer be cancelled.")
        if any(i.status == OutboxItem.Status.DONE for i in items):
            raise ValidationError("Some chunks have already been sent.")
        cancel_items(items, "The communication was cancelled.")
        locked.cancel()
        locked.save()
        log_action(
            actor=actor, verb="communication.cancelled", target=locked, work_id=locked.work_id
        )
    return locked


def approvers_for(communication: Communication) -> QuerySet[Any]:

    _, roles = CATEGORY_ROLES[Category(communication.category)]
    user_ids = Membership.objects.filter(
        imprint_id=communication.imprint_id, role__in=roles
    ).values("user_id")
    users = User.objects.filter(pk__in=user_ids, is_active=True)
    users = users.exclude(pk__in=communication.author_ids())
    return users.order_by("email")


def communication_notify_approvers(*, communication_id: int) -> int:

    communication = Communication.objects.select_related("imprint", "submitted_by").get(
        pk=communication_id
    )
    if communication.status != S.SUBMITTED:
        return 0
    recipients = [u.email for u in approvers_for(communication) if u.email]
    if not recipients:
        return 0
    base = settings.SITE_URL
    link = base + reverse("communications:detail", args=[communication.pk])
    who = communication.submitted_by or "A trigger rule"
    send_mail(
        subject=f"[Colophon] Awaiting your approval: {communication.name}",
        message=(
            f"{who} submitted “{communication.name}” ({communication.communication_type}) for "
            f"{communication.imprint}: {communication.recipient_count} recipient(s), "
            f"{communication.warning_count} with warnings.\n\nReview and approve or reject it: "
            f"{link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
