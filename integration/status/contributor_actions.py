"""Outstanding contributor actions: replies we are waiting for, with due dates and owners.

A contributor communication whose type expects a response (review request, proof approval,
cover copy confirmation, contributor request …) opens one ``ContributorAction`` per message when
the message is submitted to Exstream: Compose may call
``contributor_actions_open_for_communication``; ``message_status_apply`` also opens them (through
``status_side_effects``) for any message that reaches "submitted" or later, so no path misses one.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.policy import Category
from integration.communications.services import communication_create
from integration.models import (
    Audience,
    AudienceMember,
    Communication,
    CommunicationType,
    ContributorAction,
    DeliveryDate,
    GratisCopy,
    Message,
    MessageEvent,
)
from integration.models.setup import CHANNEL_VALUES
from integration.models.status import STATUS_RANK, UNDELIVERABLE, WritebackRule
from integration.setup.context import (  # noqa: F401  (re-exported for callers)
    DEFAULT_RESPONSE_DAYS,
    DELIVERABLE_WORDS,
    response_due_date,
)
from integration.status.writeback import RuleCache, writeback_event_record

REMINDER_TYPE = "contributor-request"
A = ContributorAction.State
MS = Message.Status


def expects_response(communication: Communication) -> bool:
    ctype = communication.communication_type
    return bool(ctype.response_expected and ctype.category == Category.CONTRIBUTOR)


def _delivery_dates(communication: Communication) -> list[DeliveryDate]:
    qs = DeliveryDate.objects.select_related("contract")
    if communication.contract_id:
        return list(qs.filter(contract_id=communication.contract_id))
    if communication.work_id:
        return list(qs.filter(contract__work_id=communication.work_id))
    return []


def due_date_for(
    *,
    communication: Communication,
    message: Message,
    dates: list[DeliveryDate],
    today: datetime.date,
) -> tuple[datetime.date, DeliveryDate | None, str]:
    """The due date: the matching deliverable's slipped (or original) date — preferring the
    recipient's own contract and undelivered deliverables — else today + the default. The
    ``action.due_date`` context field uses the same rule, so the letter and the board agree."""
    return response_due_date(
        type_code=communication.communication_type.code,
        dates=dates,
        today=today,
        contact_id=message.contact_id,
    )


def _initial_state(message: Message) -> str:
    if message.status == MS.RESPONDED:
        return A.RESPONDED
    if message.status in UNDELIVERABLE:
        return A.UNDELIVERABLE
    return A.AWAITING


def _open(messages: list[Message], owner: Any = None) -> list[ContributorAction]:
    eligible = [
        m
        for m in messages
        if m.status != MS.FAILED
        and STATUS_RANK.get(m.status, 0) >= STATUS_RANK[MS.SUBMITTED]
        and expects_response(m.communication)
    ]
    if not eligible:
        return []
    have = set(
        ContributorAction.objects.filter(message__in=eligible).values_list("message_id", flat=True)
    )
    by_comm: dict[int, list[Message]] = defaultdict(list)
    for m in eligible:
        if m.pk not in have:
            by_comm[m.communication_id].append(m)
    created: list[ContributorAction] = []
    today = timezone.localdate()
    for group in by_comm.values():
        communication = group[0].communication
        dates = _delivery_dates(communication)
        for m in group:
            due, delivery, why = due_date_for(
                communication=communication, message=m, dates=dates, today=today
            )
            created.append(
                ContributorAction(
                    message=m,
                    communication=communication,
                    imprint_id=communication.imprint_id,
                    work_id=communication.work_id,
                    contact_id=m.contact_id,
                    recipient_name=(m.recipient_name or m.recipient_email)[:300],
                    owner_id=(
                        owner.pk
                        if owner is not None
                        else communication.submitted_by_id or communication.created_by_id
                    ),
                    state=_initial_state(m),
                    due_on=due,
                    due_source=why[:200],
                    delivery_date=delivery,
                )
            )
    ContributorAction.objects.bulk_create(created, ignore_conflicts=True)
    return created


def contributor_actions_open_for_communication(
    *, communication: Communication, owner: Any = None
) -> list[ContributorAction]:
    """Open an action for every submitted message of ``communication`` (when its type expects a
    response). Idempotent: messages that already have one are skipped. Returns the new ones."""
    if not expects_response(communication):
        return []
    with transaction.atomic():
        messages = list(communication.messages.select_related("communication__communication_type"))
        created = _open(messages, owner)
        if created:
            log_action(
                actor=None,
                verb="contributor_actions.opened",
                target=communication,
                work_id=communication.work_id,
                data={"count": len(created)},
            )
    return created


def contributor_actions_open_missing(*, limit: int = 5000) -> int:
    """Safety net (scheduled): open actions for submitted messages of contributor
    communications that expect a response but have none yet — e.g. when a sender marked
    messages submitted in bulk without calling ``contributor_actions_open_for_communication``.
    Returns how many were opened."""
    started = [s for s, r in STATUS_RANK.items() if r >= STATUS_RANK[MS.SUBMITTED]]
    with transaction.atomic():
        messages = list(
            Message.objects.select_related("communication__communication_type")
            .defer("driver_data", "findings")
            .filter(
                status__in=[s for s in started if s != MS.FAILED],
                communication__communication_type__response_expected=True,
                communication__communication_type__category=Category.CONTRIBUTOR,
                contributor_action__isnull=True,
            )
            .order_by("id")[:limit]
        )
        return len(_open(messages))


def status_side_effects(
    *,
    messages: list[Message],
    moved: set[int],
    events: dict[int, list[MessageEvent]],
    actor: Any = None,
) -> None:
    """Called by ``message_status_apply`` inside its transaction for the messages it touched."""
    if not messages:
        return
    _open(messages)
    moved_messages = [m for m in messages if m.pk in moved]
    if not moved_messages:
        return
    actions = {
        a.message_id: a
        for a in ContributorAction.objects.select_for_update(of=("self",))
        .select_related("delivery_date")
        .filter(message_id__in=[m.pk for m in moved_messages])
    }
    rules = RuleCache()
    for m in moved_messages:
        action = actions.get(m.pk)
        communication = m.communication
        code = communication.communication_type.code
        winner = next((e for e in events.get(m.pk, []) if e.applied), None)
        if action is not None:
            if m.status == MS.RESPONDED:
                action.state = A.RESPONDED
                action.responded_on = m.status_at.date()
                action.response_note = str((winner.detail if winner else {}).get("note", ""))
                if winner is not None and winner.recorded_by_id:
                    action.responded_by_id = winner.recorded_by_id
                action.save()
                kind = (
                    WritebackRule.EventKind.PROOF_APPROVAL_RECEIVED
                    if code == "proof-approval"
                    else WritebackRule.EventKind.RESPONSE_RECORDED
                )
                writeback_event_record(
                    imprint_id=communication.imprint_id,
                    work_id=communication.work_id,
                    event_kind=kind,
                    business_key=f"action:{action.pk}:responded",
                    summary=f"{action.recipient_name} responded to {communication}",
                    occurred_at=m.status_at,
                    target={
                        "delivery_date": action.delivery_date_id,
                        "on": action.responded_on.isoformat(),
                    },
                    actor=actor,
                    rules=rules,
                )
            elif m.status in UNDELIVERABLE and action.state == A.AWAITING:
                action.state = A.UNDELIVERABLE
                action.save()
        delivered = m.status not in UNDELIVERABLE and STATUS_RANK.get(
            m.status, 0
        ) >= STATUS_RANK.get(MS.DELIVERED, 0)
        if delivered and code == "rights-confirmation":
            writeback_event_record(
                imprint_id=communication.imprint_id,
                work_id=communication.work_id,
                event_kind=WritebackRule.EventKind.RIGHTS_CONFIRMATION_DELIVERED,
                business_key=f"message:{m.pk}:delivered",
                summary=f"Rights confirmation delivered to {m.recipient_name}",
                occurred_at=m.status_at,
                target={
                    "contract": communication.contract_id,
                    "line": (
                        f"{m.status_at:%Y-%m-%d}: rights confirmation "
                        f"'{communication.name}' delivered to {m.recipient_name} "
                        f"({m.channel}), via Colophon."
                    ),
                },
                actor=actor,
                rules=rules,
            )
        if delivered and code == "publication-notification" and communication.contract_id:
            _gratis_copies_sent(m, communication, actor, rules)


def _gratis_copies_sent(
    message: Message, communication: Communication, actor: Any, rules: RuleCache
) -> None:
    """A publication notification goes out with the contributor's gratis copies: once it is
    delivered, the contract's unsent gratis copies that were due by then are sent."""
    sent_on = message.status_at.date()
    assert communication.contract_id is not None
    copies = GratisCopy.objects.filter(
        contract_id=communication.contract_id, sent_on__isnull=True, send_on__lte=sent_on
    )
    for copy in copies:
        copy.sent_on = sent_on
        copy.save(update_fields=["sent_on"])
        writeback_event_record(
            imprint_id=communication.imprint_id,
            work_id=communication.work_id,
            event_kind=WritebackRule.EventKind.GRATIS_COPY_SENT,
            business_key=f"gratis:{copy.pk}:sent",
            summary=f"{copy.number_of_copies} gratis copies sent to {message.recipient_name}",
            occurred_at=message.status_at,
            target={"gratis_copy": copy.pk, "on": sent_on.isoformat()},
            actor=actor,
            rules=rules,
        )


# --- staff actions -----------------------------------------------------------------------


def contributor_action_record_response(
    *,
    actor: Any,
    action: ContributorAction,
    responded_on: datetime.date,
    note: str = "",
    status: str = MS.RESPONDED,
) -> ContributorAction:
    """Record by hand that the contributor responded (or that the mail came back)."""
    from integration.status.apply import message_status_record

    policy.require(actor, policy.Action.RECORD_RESPONSE, action.imprint_id)
    message_status_record(
        actor=actor, message=action.message, status=status, occurred_on=responded_on, note=note
    )
    action.refresh_from_db()
    return action


def contributor_action_assign(
    *, actor: Any, action: ContributorAction, owner: Any
) -> ContributorAction:
    """Give the action to another project manager (someone who may record responses)."""
    policy.require(actor, policy.Action.RECORD_RESPONSE, action.imprint_id)
    if owner is not None and not policy.can(
        owner, policy.Action.RECORD_RESPONSE, action.imprint_id
    ):
        raise ValidationError({"owner": "That person cannot record responses in this imprint."})
    with transaction.atomic():
        action.owner = owner
        action.save(update_fields=["owner", "updated_at"])
        log_action(
            actor=actor,
            verb="contributor_action.assigned",
            target=action,
            imprint=action.imprint_id,
            work_id=action.work_id,
            data={"owner": getattr(owner, "email", None)},
        )
    return action


def contributor_action_remind(*, actor: Any, action: ContributorAction) -> Communication:
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
            name=f"Reminder recipient: {action.recipient_name} (action {action.pk})"[:200],
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
                "reminder_for_action": action.pk,
                "original_communication": original.pk,
                "contact": action.contact_id,
                "recipient_email": message.recipient_email,
                "due_on": action.due_on.isoformat(),
            },
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
