"""A date change that reverts withdraws the drafts it caused.

A delivery date slips (change event A: 1 May → 31 May) and a trigger rule drafts a publication
delay letter. Before anyone approves it, Consonance moves the date back (change event B: 31 May →
1 May). The letter is no longer true: ``communications_withdraw_reverted`` cancels every draft
that A (and any slip in between) created and that is not approved yet, saying why on the
communication (``void_reason``) and in the audit log (verb ``communication.withdrawn``, on the
title's timeline). B itself drafts nothing: a date back where it was is no slip.

Drafts already approved, queued or sent are left alone: what was approved goes out (or was
cancelled by a person); the audit row ``communication.revert_after_approval`` says the date
reverted so staff can decide.
"""

from __future__ import annotations

from django.db import transaction

from accounts.audit import log_action
from integration.models import ChangeEvent, Communication

S = Communication.Status
# Kinds whose change can be undone by a later change of the same field.
REVERTIBLE = frozenset({ChangeEvent.Kind.DELIVERY_DATE_SLIPPED, ChangeEvent.Kind.PUBLICATION_DATE})
BEFORE_APPROVAL = (S.DRAFT, S.REJECTED, S.SUBMITTED)


def reverted_events(*, change_event: ChangeEvent) -> list[ChangeEvent]:
    """The earlier events of the same field and subject that ``change_event`` undoes: walking
    back from the newest, every event up to (and including) the one whose old value equals this
    event's new value. Empty when the new value was never the field's value in that chain."""
    if change_event.kind not in REVERTIBLE or change_event.new_value in (None, ""):
        return []
    if change_event.old_value in (None, "") or str(change_event.new_value) >= str(
        change_event.old_value
    ):
        return []  # only a date moved back (earlier) can undo a slip; ISO dates sort as text
    earlier = ChangeEvent.objects.filter(
        kind=change_event.kind,
        field=change_event.field,
        imprint_id=change_event.imprint_id,
        pk__lt=change_event.pk,
    ).order_by("-pk")
    if change_event.contract_id is not None:
        earlier = earlier.filter(contract_id=change_event.contract_id)
    elif change_event.product_id is not None:
        earlier = earlier.filter(product_id=change_event.product_id)
    elif change_event.work_id is not None:
        earlier = earlier.filter(work_id=change_event.work_id)
    else:
        return []
    chain: list[ChangeEvent] = []
    expected = change_event.old_value
    for event in earlier[:50]:
        if event.new_value != expected or str(event.new_value) <= str(event.old_value or ""):
            break  # the chain is broken: not a slip, or something else happened in between
        chain.append(event)
        if event.old_value == change_event.new_value:
            return chain
        expected = event.old_value
    return []


def communications_withdraw_reverted(*, change_event: ChangeEvent) -> list[int]:
    """Cancel the not-yet-approved drafts the reverted events created. Returns their ids.
    Call inside the caller's transaction (the trigger run that evaluates ``change_event``)."""
    chain = reverted_events(change_event=change_event)
    if not chain:
        return []
    withdrawn: list[int] = []
    back_to = change_event.new_value
    reverted = {
        "reverted_by_change": change_event.pk,
        "field": change_event.field,
        "back_to": back_to,
    }
    with transaction.atomic():
        drafts = Communication.objects.select_for_update().filter(
            change_event__in=chain, trigger_rule__isnull=False
        )
        for comm in drafts.order_by("pk"):
            actor = f"trigger:{comm.trigger_rule_id}"
            if comm.status in BEFORE_APPROVAL:
                comm.cancel()
                comm.void_reason = (
                    f"Withdrawn: {change_event.get_kind_display().lower()} was reverted in "
                    f"Consonance ({change_event.field} back to {back_to}) before approval, so "
                    "this draft no longer applies."
                )[:500]
                comm.save()
                log_action(
                    actor=actor,
                    verb="communication.withdrawn",
                    target=comm,
                    imprint=comm.imprint_id,
                    work_id=comm.work_id,
                    data=reverted,
                )
                withdrawn.append(comm.pk)
            elif comm.status != S.CANCELLED:
                log_action(
                    actor=actor,
                    verb="communication.revert_after_approval",
                    target=comm,
                    imprint=comm.imprint_id,
                    work_id=comm.work_id,
                    data={**reverted, "status": comm.status},
                )
    return withdrawn
