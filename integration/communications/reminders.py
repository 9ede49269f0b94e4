"""Reminders for outstanding contributor actions: a contributor request to the same contributor,
about the same title and contract, drafted through ``communication_create``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import policy
from accounts.audit import log_action
from accounts.policy import Category
from accounts.types import Actor
from integration.communications.create import communication_create
from integration.models import (
    Audience,
    AudienceMember,
    Communication,
    CommunicationType,
    ContributorAction,
)
from integration.models.setup import CHANNEL_VALUES
from integration.status.contributor_actions import REMINDER_TYPE

A = ContributorAction.State


def contributor_action_remind(*, actor: Actor, action: ContributorAction) -> Communication:
    """Draft a reminder (a contributor request to the same contributor, about the same title and
    contract) referencing the action, addressed to a one-row list holding just that contributor.
    The draft goes through Compose and approval as usual."""
    if not policy.can_draft(actor, Category.CONTRIBUTOR, action.imprint_id):
        raise ValidationError("You may not draft contributor communications in this imprint.")
    if action.state == A.RESPONDED:
        raise ValidationError("The contributor has already responded; no reminder is needed.")
    original = action.communication
    message = action.message
    with transaction.atomic():
        # Exactly this contributor: a one-row list, so composing the reminder cannot reach
        # co-contributors who already answered.
        audience = Audience.objects.create(
            imprint_id=action.imprint_id,
            # a later reminder for the same action gets a list of its own (names are unique)
            name=(
                f"Reminder recipient: {action.recipient_name} (action {action.pk}"
                + (f", reminder {action.reminder_count + 1})" if action.reminder_count else ")")
            )[:200],
            kind=Audience.Kind.UPLOADED,
            territory_code=original.audience.territory_code if original.audience else "",
            description=f"Created for a reminder about “{original.name}”.",
        )
        AudienceMember.objects.create(
            audience=audience,
            row_number=1,
            email=message.recipient_email,
            name=message.recipient_name or message.recipient_email,
            country=message.recipient_country,
            address=message.recipient_address,
            channel_preference=message.channel if message.channel in CHANNEL_VALUES else "",
        )
        reminder = communication_create(
            actor=actor,
            imprint=action.imprint,
            communication_type=CommunicationType.objects.get(code=REMINDER_TYPE),
            audience=audience,
            name=f"Reminder: {original.name} — {action.recipient_name}"[:300],
            work=original.work,
            product=original.product,
            contract=original.contract,
            language=original.language,
            territory_code=original.territory_code,
            campaign={
                "original_communication": original.pk,
                "contact": action.contact_id,
                "recipient_email": message.recipient_email,
            },
            reminder_for=action,
        )
        action.reminder = reminder
        action.reminder_count += 1
        action.save(update_fields=["reminder", "reminder_count", "updated_at"])
        log_action(
            actor=actor,
            verb="contributor_action.reminder_drafted",
            target=reminder,
            work_id=original.work_id,
            data={"action": action.pk, "recipient": action.recipient_name},
        )
    return reminder
