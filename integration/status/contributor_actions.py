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
from accounts.types import Actor
from integration.models import (
    Communication,
    Contact,
    Contract,
    ContributorAction,
    DeliveryDate,
    GratisCopy,
    Message,
    MessageEvent,
)
from integration.models.status import (
    REMINDER_KEY,
    STATUS_RANK,
    UNDELIVERABLE,
    WritebackRule,
    reached_recipient,
)
from integration.setup.context import (  # noqa: F401  (re-exported for callers)
    DEFAULT_RESPONSE_DAYS,
    DELIVERABLE_WORDS,
    response_due_date,
)
from integration.status.rights import rights_status_side_effects
from integration.status.writeback import RuleCache, writeback_event_record

REMINDER_TYPE = "contributor-request"
A = ContributorAction.State
MS = Message.Status


def reminded_action_id(communication: Communication) -> int | None:
    """The id of the action ``communication`` reminds the contributor of, when it is a
    reminder; else None."""
    value = (communication.campaign or {}).get(REMINDER_KEY)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def expects_response(communication: Communication) -> bool:
    """Whether sending ``communication`` opens outstanding actions: a contributor type that
    expects a response — but not a reminder, which belongs to the action it chases (an answer
    to it closes that action; see ``status_side_effects``)."""
    ctype = communication.communication_type
    return bool(
        ctype.response_expected
        and ctype.category == Category.CONTRIBUTOR
        and reminded_action_id(communication) is None
    )


class RecipientContracts:
    """The delivery dates of the contracts that name each recipient, for one communication.

    Only a contract that names the recipient counts (issue 11, defect 8): Consonance names a
    contract's contributor through its gratis copies' ``contactId``; the contract's ``client`` is
    the publisher's own record and names nobody. The communication's own contract, when it has
    one, else every contract of its work, is a candidate."""

    def __init__(self, communication: Communication) -> None:
        candidates = Contract.objects.filter(withdrawn_at__isnull=True)
        if communication.contract_id:
            candidates = candidates.filter(pk=communication.contract_id)
        elif communication.work_id:
            candidates = candidates.filter(work_id=communication.work_id)
        else:
            candidates = candidates.none()
        self.parties: dict[int, set[int]] = defaultdict(set)
        for contract_id, contact_id in GratisCopy.objects.filter(
            contract__in=candidates, contact_consonance_id__isnull=False
        ).values_list("contract_id", "contact_consonance_id"):
            if contact_id is not None:
                self.parties[contact_id].add(contract_id)
        self.dates: dict[int, list[DeliveryDate]] = defaultdict(list)
        for date in DeliveryDate.objects.select_related("contract").filter(contract__in=candidates):
            self.dates[date.contract_id].append(date)
        self.scope = (
            "the communication's contract"
            if communication.contract_id
            else ("the title's contracts" if communication.work_id else "no title or contract")
        )

    def for_message(
        self, message: Message, contact_consonance_id: int | None
    ) -> tuple[list[DeliveryDate], str]:
        """(delivery dates of the contracts naming the recipient, why none when empty)."""
        who = (message.recipient_name or message.recipient_email or "the recipient")[:60]
        if contact_consonance_id is None:
            return [], f"{who} is not a Consonance contact, so no contract is theirs"
        contracts = self.parties.get(int(contact_consonance_id), set())
        if not contracts:
            return [], f"No contract names {who} (checked {self.scope})"
        return [d for c in sorted(contracts) for d in self.dates.get(c, [])], ""


def due_date_for(
    *,
    communication: Communication,
    message: Message,
    dates: list[DeliveryDate],
    today: datetime.date,
    why_none: str = "",
) -> tuple[datetime.date, DeliveryDate | None, str]:
    """The due date: the matching deliverable's slipped (or original) date on a contract that
    names the recipient (``dates`` holds only those) — preferring undelivered deliverables —
    else today + the default, saying why. The ``action.due_date`` context field uses the same
    rule (``setup.context.response_due_date``), so the letter and the board agree."""
    return response_due_date(
        type_code=communication.communication_type.code,
        dates=dates,
        today=today,
        why_none=why_none,
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
        contracts = RecipientContracts(communication)
        consonance_ids = dict(
            Contact.objects.filter(
                pk__in={m.contact_id for m in group if m.contact_id}
            ).values_list("pk", "consonance_id")
        )
        for m in group:
            dates, why_none = contracts.for_message(m, consonance_ids.get(m.contact_id or 0))
            due, delivery, why = due_date_for(
                communication=communication,
                message=m,
                dates=dates,
                today=today,
                why_none=why_none,
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
            # a reminder opens none (it belongs to the action it chases)
            .exclude(communication__campaign__has_key=REMINDER_KEY)
            .order_by("id")[:limit]
        )
        return len(_open(messages))


def status_side_effects(
    *,
    messages: list[Message],
    moved: set[int],
    events: dict[int, list[MessageEvent]],
    actor: Actor = None,
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
    # An answer to a reminder is the answer the action it chases was waiting for.
    chases = {
        m.pk: chased
        for m in moved_messages
        if m.status == MS.RESPONDED and (chased := reminded_action_id(m.communication))
    }
    chased_actions = {
        a.pk: a
        for a in ContributorAction.objects.select_for_update(of=("self",))
        .select_related("delivery_date", "communication__communication_type")
        .filter(pk__in=set(chases.values()))
    }
    rules = RuleCache()
    for m in moved_messages:
        action = actions.get(m.pk)
        communication = m.communication
        code = communication.communication_type.code
        winner = next((e for e in events.get(m.pk, []) if e.applied), None)
        chased_action = chased_actions.get(chases.get(m.pk, 0))
        if (
            chased_action is not None
            and chased_action.imprint_id == communication.imprint_id
            and chased_action.state != A.RESPONDED
        ):
            _action_responded(
                chased_action,
                communication=chased_action.communication,
                message=m,
                winner=winner,
                actor=actor,
                rules=rules,
            )
        if action is not None:
            if m.status == MS.RESPONDED:
                _action_responded(
                    action,
                    communication=communication,
                    message=m,
                    winner=winner,
                    actor=actor,
                    rules=rules,
                )
            elif m.status in UNDELIVERABLE and action.state == A.AWAITING:
                action.state = A.UNDELIVERABLE
                action.save()
        delivered = reached_recipient(m.status)
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
                    "contact": m.contact_id,
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
    rights_status_side_effects(
        messages=moved_messages, moved=moved, events=events, actor=actor, rules=rules
    )


def _action_responded(
    action: ContributorAction,
    *,
    communication: Communication,
    message: Message,
    winner: MessageEvent | None,
    actor: Actor,
    rules: RuleCache,
) -> None:
    """Close ``action`` (of ``communication``) with the answer ``message`` brought: its own
    message's, or a reminder's that chased it."""
    action.state = A.RESPONDED
    action.responded_on = message.status_at.date()
    action.response_note = str((winner.detail if winner else {}).get("note", ""))
    if winner is not None and winner.recorded_by_id:
        action.responded_by_id = winner.recorded_by_id
    action.save()
    kind = (
        WritebackRule.EventKind.PROOF_APPROVAL_RECEIVED
        if communication.communication_type.code == "proof-approval"
        else WritebackRule.EventKind.RESPONSE_RECORDED
    )
    writeback_event_record(
        imprint_id=communication.imprint_id,
        work_id=communication.work_id,
        event_kind=kind,
        business_key=f"action:{action.pk}:responded",
        summary=f"{action.recipient_name} responded to {message.communication}",
        occurred_at=message.status_at,
        target={
            "delivery_date": action.delivery_date_id,
            "on": action.responded_on.isoformat(),
            # Only the recipient's own contract may be written (issue 11).
            "contact": action.contact_id,
            "why": action.due_source,
        },
        actor=actor,
        rules=rules,
    )


def _gratis_copies_sent(
    message: Message, communication: Communication, actor: Actor, rules: RuleCache
) -> None:
    """A publication notification goes out with the contributor's gratis copies: once it is
    delivered, the recipient's unsent gratis copies on the contract that were due by then are
    sent."""
    sent_on = message.status_at.date()
    assert communication.contract_id is not None
    if message.contact is None:
        return  # not a Consonance contact: no gratis copy can be theirs
    # Only the copies that go to this recipient (GratisCopy.contactId), never a co-contributor's.
    copies = GratisCopy.objects.filter(
        contract_id=communication.contract_id,
        contact_consonance_id=message.contact.consonance_id,
        sent_on__isnull=True,
        send_on__lte=sent_on,
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


def contributor_action_assign(
    *, actor: Actor, action: ContributorAction, owner: Any
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
