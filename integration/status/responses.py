"""Recording by hand what a contributor did: a response, or mail that came back."""

from __future__ import annotations

import datetime

from accounts import policy
from accounts.types import Actor
from integration.models import ContributorAction, Message
from integration.status.apply import message_status_record

MS = Message.Status


def contributor_action_record_response(
    *,
    actor: Actor,
    action: ContributorAction,
    responded_on: datetime.date,
    note: str = "",
    status: str = MS.RESPONDED,
) -> ContributorAction:
    """Record by hand that the contributor responded (or that the mail came back)."""
    policy.require(actor, policy.Action.RECORD_RESPONSE, action.imprint_id)
    message_status_record(
        actor=actor, message=action.message, status=status, occurred_on=responded_on, note=note
    )
    action.refresh_from_db()
    return action
