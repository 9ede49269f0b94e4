"""Rights notices (flow 2): what a permission letter, a licence renewal or a rights confirmation
did, written back to the contract the communication is about — and only that contract.

* **delivered** — a permission letter or licence renewal reached the recipient
  (``rights_notice_delivered``; rights confirmations keep their own kind,
  ``rights_confirmation_delivered``, written by ``status.contributor_actions``);
* **answered** — the recipient's response was recorded (by hand, a CSV or a pushed event) on any
  rights notice (``rights_response_recorded``).

Both append one dated line to the contract's ``description`` through ``updateContract``
(``status.writeback``: the only documented writable free-text field on a Contract; reference
§5), naming the notice, the recipient, the contract's licensed rights and, for an answer, the
note. The contract is the communication's own (chosen by the person or the trigger rule that
drafted it); a notice that names no contract is kept in Colophon with the reason. Each event is
recorded once (business key per message), whatever the number of polls or pushes.
"""

from __future__ import annotations

from accounts.types import Actor
from integration.models import Communication, LicensedRight, Message, MessageEvent
from integration.models.status import WritebackRule, reached_recipient
from integration.status.writeback import RuleCache, writeback_event_record

MS = Message.Status
K = WritebackRule.EventKind
# Rights confirmations' delivery is written by status.contributor_actions (its own event kind).
DELIVERY_WRITTEN_HERE = frozenset({"permission-letter", "licence-renewal"})
RIGHTS_NOTICES = frozenset({"rights-confirmation", *DELIVERY_WRITTEN_HERE})


def rights_summary(contract_id: int | None) -> str:
    """ "Translation (FR), Audio (GB)": the contract's current licensed rights."""
    if contract_id is None:
        return ""
    rights = LicensedRight.objects.filter(contract_id=contract_id, ended_at__isnull=True)
    return ", ".join(
        f"{r.right_type} ({r.territory})" if r.territory else r.right_type
        for r in rights.order_by("pk")
    )


def _note(events: list[MessageEvent]) -> str:
    winner = next((e for e in events if e.applied and e.status == MS.RESPONDED), None)
    return str((winner.detail if winner else {}).get("note", "")).strip()


def rights_status_side_effects(
    *,
    messages: list[Message],
    moved: set[int],
    events: dict[int, list[MessageEvent]],
    actor: Actor = None,
    rules: RuleCache | None = None,
) -> None:
    """Called (through ``status.contributor_actions.status_side_effects``) inside
    ``message_status_apply``'s transaction for the messages whose status moved."""
    rules = rules or RuleCache()
    summaries: dict[int, str] = {}
    for m in messages:
        if m.pk not in moved:
            continue
        communication: Communication = m.communication
        code = communication.communication_type.code
        if code not in RIGHTS_NOTICES:
            continue
        contract_id = communication.contract_id
        if contract_id is not None and contract_id not in summaries:
            summaries[contract_id] = rights_summary(contract_id)
        rights = summaries.get(contract_id or 0, "")
        about = f" for {rights}" if rights else ""
        kind_name = communication.communication_type.name.lower()
        who = m.recipient_name or m.recipient_email or "the recipient"
        delivered = reached_recipient(m.status)
        if delivered and code in DELIVERY_WRITTEN_HERE:
            writeback_event_record(
                imprint_id=communication.imprint_id,
                work_id=communication.work_id,
                event_kind=K.RIGHTS_NOTICE_DELIVERED,
                business_key=f"message:{m.pk}:rights-delivered",
                summary=f"{communication.communication_type.name} delivered to {who}{about}",
                occurred_at=m.status_at,
                target={
                    "contract": contract_id,
                    "contact": m.contact_id,
                    "line": (
                        f"{m.status_at:%Y-%m-%d}: {kind_name} '{communication.name}'{about} "
                        f"delivered to {who} ({m.channel}), via Colophon."
                    ),
                },
                actor=actor,
                rules=rules,
            )
        if m.status == MS.RESPONDED:
            note = _note(events.get(m.pk, []))
            said = f": {note}" if note else ""
            writeback_event_record(
                imprint_id=communication.imprint_id,
                work_id=communication.work_id,
                event_kind=K.RIGHTS_RESPONSE_RECORDED,
                business_key=f"message:{m.pk}:rights-responded",
                summary=f"{who} answered the {kind_name}{about}{said}",
                occurred_at=m.status_at,
                target={
                    "contract": contract_id,
                    "contact": m.contact_id,
                    "line": (
                        f"{m.status_at:%Y-%m-%d}: {who} answered {kind_name} "
                        f"'{communication.name}'{about}{said}, via Colophon."
                    ),
                },
                actor=actor,
                rules=rules,
            )
