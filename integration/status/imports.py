"""Importing returned mail and responses from a CSV: every row checked first, one bad row
imports nothing."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.types import Actor, person
from integration.lib.csv import parse_date, read_csv
from integration.models import Message, MessageEvent
from integration.status.apply import (
    HAND_STATUSES,
    ApplyResult,
    StatusInput,
    hand_event_id,
    message_status_apply,
    parse_message_key,
)


@dataclass
class ImportResult:
    rows: int
    applied: ApplyResult


STATUS_CSV_COLUMNS = ["message_key", "recipient_email", "communication", "status", "date", "note"]


def message_status_import_csv(*, actor: Actor, raw: bytes, filename: str = "") -> ImportResult:
    """Import returned mail and responses. Columns: ``message_key`` — or ``recipient_email``
    plus ``communication`` (its id) —, ``status`` (returned / responded), ``date``
    (YYYY-MM-DD), ``note``. Every row is checked first; one bad row imports nothing."""
    rows = read_csv(raw, required=["status", "date"])
    errors: list[str] = []
    keys = [parse_message_key(r.get("message_key", "")) for r in rows]
    by_key = {
        str(m.key): m
        for m in Message.objects.select_related("communication").filter(
            key__in=[k for k in keys if k]
        )
    }
    pairs = {
        (r.get("communication", ""), r.get("recipient_email", "").lower())
        for r in rows
        if not r.get("message_key")
    }
    comm_ids = [int(c) for c, _ in pairs if c.isdigit()]
    by_pair: dict[tuple[str, str], list[Message]] = defaultdict(list)
    for m in Message.objects.select_related("communication").filter(communication_id__in=comm_ids):
        by_pair[(str(m.communication_id), m.recipient_email.lower())].append(m)
    allowed = policy.imprint_ids_for(actor, policy.Action.RECORD_RESPONSE)
    today = timezone.localdate()
    events: list[StatusInput] = []
    imprint_ids: set[int] = set()
    for number, (row, key) in enumerate(zip(rows, keys, strict=True), start=2):
        where = f"Row {number}"
        message: Message | None = by_key.get(str(key)) if key else None
        if row.get("message_key"):
            if message is None:
                errors.append(f"{where}: no message has the key {row['message_key']!r}.")
                continue
        else:
            comm, email = row.get("communication", ""), row.get("recipient_email", "").lower()
            if not comm or not email:
                errors.append(f"{where}: give message_key, or recipient_email and communication.")
                continue
            found = by_pair.get((comm, email), [])
            if len(found) != 1:
                errors.append(
                    f"{where}: communication {comm} has "
                    f"{'no' if not found else 'more than one'} message to {email}."
                )
                continue
            message = found[0]
        if not (
            getattr(person(actor), "is_superuser", False)
            or message.communication.imprint_id in allowed
        ):
            errors.append(f"{where}: you may not record responses in that message's imprint.")
            continue
        status = row.get("status", "").lower().replace(" ", "_")
        if status not in HAND_STATUSES:
            errors.append(f"{where}: status must be returned or responded, not {status!r}.")
            continue
        try:
            on = parse_date(row.get("date", ""))
        except ValueError as exc:
            errors.append(f"{where}: {exc}.")
            continue
        if on > today:
            errors.append(f"{where}: the date {on} is in the future.")
            continue
        imprint_ids.add(message.communication.imprint_id)
        events.append(
            StatusInput(
                message_key=str(message.key),
                status=status,
                occurred_at=datetime.datetime.combine(on, datetime.time(12, 0), datetime.UTC),
                source=MessageEvent.Source.CSV,
                external_event_id=hand_event_id(message.key, status, on.isoformat()),
                detail={"note": row.get("note", "")[:1000], "file": filename[:200]},
            )
        )
    if errors:
        more = [f"… and {len(errors) - 50} more."] if len(errors) > 50 else []
        raise ValidationError(errors[:50] + more)
    with transaction.atomic():
        applied = message_status_apply(events=events, actor=actor)
        log_action(
            actor=actor,
            verb="message.status_imported",
            target=filename or "CSV",
            imprint=min(imprint_ids) if len(imprint_ids) == 1 else None,
            data={
                "rows": len(rows),
                "recorded": applied.recorded,
                "moved": applied.moved,
                "imprints": sorted(imprint_ids),
            },
        )
    return ImportResult(rows=len(rows), applied=applied)
