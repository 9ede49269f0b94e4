"""Message status from every source, applied monotonically and idempotently.

``message_status_apply(events=...)`` is the only writer of ``Message.status`` after a message is
submitted. Every event is recorded once (``MessageEvent``, unique on source + external event id);
a message's status only moves to a higher rank (``integration.models.status.STATUS_RANK``). Events
whose key matches no message are kept as orphans for operators to see. Sources:

* Exstream runtime / delivery files, pulled e-mail events and pushed events arrive through
  ``integration/connectors/exstream/status_sink.deliver_status_events``;
* hand entry (``message_status_record``) and CSV import (``message_status_import_csv``) of
  returned mail and responses.

Side effects, in the same transaction: contributor actions open for messages of contributor
communications that expect a response, move to responded / undeliverable, and business events
(proof approval received, rights confirmation delivered, gratis copy sent, response recorded)
become write-back records for Consonance.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Field
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.types import Actor, person
from integration.lib.bulk import insert_rows
from integration.models import Communication, Message, MessageEvent
from integration.models.status import STATUS_RANK
from integration.status.contributor_actions import status_side_effects

HAND_STATUSES = (Message.Status.RETURNED, Message.Status.RESPONDED)


class StatusLike(Protocol):
    """What every source hands in (``integration.connectors.exstream.events.StatusEvent`` fits)."""

    @property
    def message_key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def occurred_at(self) -> datetime.datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def external_event_id(self) -> str: ...
    @property
    def detail(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StatusInput:
    message_key: str
    status: str
    occurred_at: datetime.datetime
    source: str
    external_event_id: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyResult:
    recorded: int = 0  # new events stored (incl. orphans)
    duplicates: int = 0  # events seen before (same source + external id): nothing changed
    moved: int = 0  # messages whose status moved forward
    orphans: int = 0  # new events whose key matches no message
    rejected: list[str] = field(default_factory=list)  # malformed events (not stored)
    message_ids: set[int] = field(default_factory=set)


def rank(status: str) -> int:
    return STATUS_RANK.get(status, 0)


def parse_message_key(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(key).strip())
    except (ValueError, AttributeError):
        return None


def _summary(source: str, detail: dict[str, Any]) -> str:
    """What a person reads beside the status: the note or reason, if the event has one. The
    source stays on the event (and the timeline names it); a slug is not a reason."""
    text = (detail or {}).get("note") or (detail or {}).get("reason") or ""
    text = text or (detail or {}).get("schema_type") or ""
    return str(text)[:500]


def message_status_apply(*, events: Iterable[StatusLike], actor: Actor = None) -> ApplyResult:
    """Record every event once and move each message's status forward only.

    Applying the same events again changes nothing; the order events arrive in does not
    matter (the highest-ranked status wins, and among equals the first one seen stays)."""
    result = ApplyResult()
    batch: dict[tuple[str, str], StatusLike] = {}
    for event in events:
        problem = None
        if event.status not in STATUS_RANK:
            problem = f"unknown status {event.status!r}"
        elif not event.source or not event.external_event_id:
            problem = "no source or event id"
        elif not isinstance(event.occurred_at, datetime.datetime) or timezone.is_naive(
            event.occurred_at
        ):
            problem = "occurred_at is not a timezone-aware date and time"
        if problem:
            result.rejected.append(f"{event.source}/{event.external_event_id}: {problem}")
            continue
        ident = (str(event.source)[:50], str(event.external_event_id)[:300])
        if ident in batch:
            result.duplicates += 1
            continue
        batch[ident] = event
    if not batch:
        return result

    with transaction.atomic():
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, ext in batch:
            by_source[source].append(ext)
        seen: set[tuple[str, str]] = set()
        for source, ids in by_source.items():
            seen.update(_already_stored(source, ids))
        fresh = {ident: ev for ident, ev in batch.items() if ident not in seen}
        result.duplicates += len(batch) - len(fresh)
        if not fresh:
            return result

        parsed_keys = {ident: parse_message_key(ev.message_key) for ident, ev in fresh.items()}
        keys = {k for k in parsed_keys.values() if k is not None}
        messages: dict[uuid.UUID, Message] = {}
        for message in _messages_for_update(list(keys)):
            messages[message.key] = message
        # Each communication (and its type) loaded once, not once per message.
        communications = Communication.objects.select_related("communication_type").in_bulk(
            {m.communication_id for m in messages.values()}
        )
        cache_communication = Message._meta.get_field("communication").set_cached_value  # type: ignore[union-attr]
        for message in messages.values():
            cache_communication(message, communications[message.communication_id])

        rows: list[MessageEvent] = []
        per_message: dict[int, list[MessageEvent]] = defaultdict(list)
        recorded_by = person(actor)
        recorded_by_id = recorded_by.pk if recorded_by is not None else None
        for (source, ext), ev in fresh.items():
            parsed = parsed_keys[(source, ext)]
            target = messages.get(parsed) if parsed is not None else None
            # Ids, not instances: setting a relation costs a descriptor per row, and nothing
            # downstream reads event.message (the message comes from ``by_pk``).
            row = MessageEvent(
                message_id=target.pk if target is not None else None,
                message_key=str(ev.message_key)[:200],
                status=ev.status,
                occurred_at=ev.occurred_at,
                source=source,
                external_event_id=ext,
                detail=dict(ev.detail or {}),
                recorded_by_id=recorded_by_id,
                work_id=target.communication.work_id if target is not None else None,
            )
            rows.append(row)
            if target is None:
                result.orphans += 1
            else:
                per_message[target.pk].append(row)

        moved: list[Message] = []
        by_pk = {m.pk: m for m in messages.values()}
        for message_id, message_rows in per_message.items():
            message = by_pk[message_id]
            best = max(message_rows, key=lambda r: (rank(r.status), -r.occurred_at.timestamp()))
            if rank(best.status) > rank(message.status):
                best.applied = True
                message.status = best.status
                message.status_at = best.occurred_at
                message.status_detail = _summary(best.source, best.detail)
                moved.append(message)
            result.message_ids.add(message_id)

        # ON CONFLICT DO NOTHING: a concurrent applier may have stored the same event since.
        _insert_events(rows)
        _save_statuses(moved)
        result.recorded = len(rows)
        result.moved = len(moved)
        status_side_effects(
            messages=[m for m in messages.values() if m.pk in per_message],
            moved={m.pk for m in moved},
            events=per_message,
            actor=actor,
        )
    return result


SET_BASED_ROWS = 500  # rows per UPDATE … FROM (VALUES …): 2,000 parameters a statement
ARRAY_ROWS = 10_000  # rows per statement when each column is one array parameter (PostgreSQL)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _already_stored(source: str, ids: list[str]) -> set[tuple[str, str]]:
    """Which of ``ids`` (of one source) are stored already. PostgreSQL: one ``= ANY(array)``
    per 10,000 ids (one parameter, however many); elsewhere ``IN`` lists of 500."""
    found: set[tuple[str, str]] = set()
    if _pg():
        table = connection.ops.quote_name(MessageEvent._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), ARRAY_ROWS):
                cursor.execute(
                    f"SELECT source, external_event_id FROM {table} "  # noqa: S608
                    "WHERE source = %s AND external_event_id = ANY(%s)",
                    [source, ids[start : start + ARRAY_ROWS]],
                )
                found.update((a, b) for a, b in cursor.fetchall())
        return found
    for start in range(0, len(ids), 500):
        found.update(
            MessageEvent.objects.filter(
                source=source, external_event_id__in=ids[start : start + 500]
            ).values_list("source", "external_event_id")
        )
    return found


def _messages_for_update(keys: list[uuid.UUID]) -> list[Message]:
    """The messages with these keys, locked (SELECT … FOR UPDATE)."""
    base = Message.objects.select_for_update().defer("driver_data", "findings", "recipient_address")
    step = ARRAY_ROWS if _pg() else 500
    found: list[Message] = []
    for start in range(0, len(keys), step):
        part = keys[start : start + step]
        if _pg():
            table = connection.ops.quote_name(Message._meta.db_table)
            match = RawSQL(  # noqa: S611 (the table name is quoted; the keys are a parameter)
                f"SELECT id FROM {table} WHERE key = ANY(%s::uuid[])",  # noqa: S608
                [part],
            )
            found.extend(base.filter(pk__in=match))
        else:
            found.extend(base.filter(key__in=part))
    return found


# The columns of MessageEvent written by _insert_events, with their PostgreSQL array types.
_EVENT_COLUMNS = (
    ("message_id", "bigint"),
    ("message_key", "text"),
    ("status", "text"),
    ("occurred_at", "timestamptz"),
    ("source", "text"),
    ("external_event_id", "text"),
    ("detail", "text"),  # JSON text, cast to jsonb in the SELECT
    ("recorded_at", "timestamptz"),
    ("applied", "boolean"),
    ("recorded_by_id", "bigint"),
    ("work_id", "bigint"),
)


def _insert_events(rows: list[MessageEvent]) -> None:
    """Insert the new event rows, skipping any a concurrent applier stored since (ON CONFLICT
    DO NOTHING). PostgreSQL: ``INSERT … SELECT … FROM unnest(one array per column)``, one
    statement per 10,000 rows with eleven parameters, so nothing is parsed per row.
    Elsewhere ``insert_rows`` (multi-row executemany)."""
    if not _pg():
        insert_rows(MessageEvent, rows, ignore_conflicts=True)
        return
    table = connection.ops.quote_name(MessageEvent._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c, _ in _EVENT_COLUMNS)
    arrays = ", ".join(f"%b::{t}[]" for _, t in _EVENT_COLUMNS)
    picks = ", ".join(f"v.{c}::jsonb" if c == "detail" else f"v.{c}" for c, _ in _EVENT_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {picks} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({', '.join(c for c, _ in _EVENT_COLUMNS)}) "
        "ON CONFLICT DO NOTHING"
    )
    encoder = MessageEvent._meta.get_field("detail").encoder  # type: ignore[attr-defined]
    connection.ensure_connection()
    # A server-binding cursor on Django's own connection (same transaction): the arrays go as
    # binary parameters (%b), ten times cheaper to encode than the text literals Django's
    # client-side cursor would splice into the statement. It bypasses Django's query log.
    with psycopg.Cursor(connection.connection) as cursor:
        for start in range(0, len(rows), ARRAY_ROWS):
            part = rows[start : start + ARRAY_ROWS]
            columns: list[list[Any]] = [[] for _ in _EVENT_COLUMNS]
            for r in part:
                values = (
                    r.message_id,
                    r.message_key,
                    r.status,
                    r.occurred_at,
                    r.source,
                    r.external_event_id,
                    json.dumps(r.detail, cls=encoder),
                    r.recorded_at,
                    r.applied,
                    r.recorded_by_id,
                    r.work_id,
                )
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
            cursor.execute(sql, columns)


def _save_statuses(moved: list[Message]) -> None:
    """Write the new statuses of ``moved`` with set-based statements whatever their times:
    on PostgreSQL ``UPDATE integration_message SET … FROM unnest(ids, statuses, times,
    details) AS v WHERE id = v.id`` (one statement per 10,000 messages, four parameters); on
    SQLite ≥ 3.33 ``WITH v(…) AS (VALUES …) UPDATE … FROM v`` per 500 messages. Other
    backends get one UPDATE per distinct (status, time, detail)."""
    if not moved:
        return
    if connection.vendor not in ("postgresql", "sqlite"):
        groups: dict[tuple[str, datetime.datetime, str], list[int]] = defaultdict(list)
        for m in moved:
            groups[(m.status, m.status_at, m.status_detail)].append(m.pk)
        for (status, status_at, detail), ids in groups.items():
            Message.objects.filter(pk__in=ids).update(
                status=status, status_at=status_at, status_detail=detail
            )
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    pg = connection.vendor == "postgresql"
    if pg:  # one array parameter per column, however many rows: nothing parsed per row
        with connection.cursor() as cursor:
            for start in range(0, len(moved), ARRAY_ROWS):
                part = moved[start : start + ARRAY_ROWS]
                cursor.execute(
                    f"UPDATE {table} SET status = v.status, status_at = v.status_at, "  # noqa: S608
                    "status_detail = v.detail FROM unnest(%s::bigint[], %s::text[], "
                    "%s::timestamptz[], %s::text[]) AS v(id, status, status_at, detail) "
                    f"WHERE {table}.id = v.id",
                    [
                        [m.pk for m in part],
                        [m.status for m in part],
                        [m.status_at for m in part],
                        [m.status_detail for m in part],
                    ],
                )
        return
    # Typed on PostgreSQL (VALUES columns would otherwise be text); SQLite stores the
    # adapted text as it is.
    one = "(CAST(%s AS bigint), %s, CAST(%s AS timestamptz), %s)" if pg else "(%s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(moved), SET_BASED_ROWS):
            part = moved[start : start + SET_BASED_ROWS]
            params: list[Any] = []
            for m in part:
                params += [m.pk, m.status, adapt(m.status_at), m.status_detail]
            values = ", ".join([one] * len(part))
            cursor.execute(
                f"WITH v(id, status, status_at, detail) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET status = v.status, status_at = v.status_at, "
                f"status_detail = v.detail FROM v WHERE {table}.id = v.id",
                params,
            )


# --- Colophon's own dispatch of a chunk ----------------------------------------------------------


@dataclass
class ChunkApplied:
    moved: int  # messages whose status moved
    keys: list[str]  # every message key of the chunk (what Exstream calls customerKey)


def _key_text(column: str) -> str | None:
    """SQL giving a message key in its canonical text form (``str(uuid)``), per database."""
    if connection.vendor == "postgresql":
        return f"{column}::text"
    if connection.vendor == "sqlite":  # stored as 32 hex digits
        parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
        return " || '-' || ".join(f"substr({column}, {a}, {n})" for a, n in parts)
    return None


def message_status_chunk_apply(
    *,
    communication_id: int,
    chunk: int,
    status: str,
    from_statuses: Iterable[str],
    event_id: str,
    occurred_at: datetime.datetime,
    detail: dict[str, Any] | None = None,
    status_detail: str = "",
    extra: dict[str, Any] | None = None,
) -> ChunkApplied:
    """Record that Colophon submitted (or gave up on) one dispatch chunk: one ``MessageEvent``
    per message of the chunk (source ``colophon-dispatch``, external id ``<event_id>:<message
    id>``, so applying it again records nothing new) and the status moved for the messages
    still in ``from_statuses``. Returns the chunk's message keys and how many moved.

    A chunk is thousands of messages, so this is set-based whatever its size. On PostgreSQL
    it is ONE statement (``_chunk_apply_pg``): the UPDATE of the messages still in
    ``from_statuses`` (which locks exactly the rows it moves), the INSERT … SELECT of the
    events marked applied for exactly those, and the chunk's keys. Elsewhere three: lock the
    chunk's rows, INSERT … SELECT the events, one UPDATE. Messages already past
    ``from_statuses`` (e.g. a pushed "delivered" that beat the submit acknowledgement) keep
    their status; their event is recorded with ``applied`` false.

    Rank exception, on purpose: the dispatch outcome may move FAILED → SUBMITTED. That is an
    internal correction, not news from Exstream — the failure was Colophon's own record that a
    chunk died, and a replay of that chunk from Operations has now been accepted. External
    sources (``message_status_apply``) never move a status down."""
    sources = [str(s) for s in from_statuses]
    messages = Message.objects.filter(communication_id=communication_id, chunk=chunk)
    events = MessageEvent._meta.db_table
    table = Message._meta.db_table
    communications = Communication._meta.db_table
    q = connection.ops.quote_name
    key_text = _key_text(f"m.{q('key')}")
    detail_json = json.dumps(detail or {})
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _chunk_apply_pg(
            communication_id=communication_id,
            chunk=chunk,
            status=status,
            sources=sources,
            event_id=event_id,
            occurred_at=occurred_at,
            detail_json=detail_json,
            status_detail=status_detail,
            extra=extra or {},
            now=now,
        )
    with transaction.atomic():
        keys = [str(k) for k in messages.select_for_update().values_list("key", flat=True)]
        if key_text is not None:
            adapt = connection.ops.adapt_datetimefield_value
            placeholders = ", ".join(["%s"] * len(sources))
            detail_sql = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
            # Only quoted table names and fixed SQL fragments are interpolated; every value is a
            # query parameter.
            sql = (
                f"INSERT INTO {q(events)} (message_id, message_key, status, occurred_at, "  # noqa: S608
                "source, external_event_id, detail, recorded_at, applied, work_id) "
                f"SELECT m.id, {key_text}, %s, %s, %s, %s || m.id, {detail_sql}, %s, "
                f"m.status IN ({placeholders}), c.work_id FROM {q(table)} m "
                f"JOIN {q(communications)} c ON c.id = m.communication_id "
                "WHERE m.communication_id = %s AND m.chunk = %s "
                "ON CONFLICT DO NOTHING"
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    sql,
                    [
                        status,
                        adapt(occurred_at),
                        MessageEvent.Source.DISPATCH.value,
                        f"{event_id}:"[:260],
                        detail_json,
                        adapt(now),
                        *sources,
                        communication_id,
                        chunk,
                    ],
                )
        else:  # other databases: the portable (slower) way
            work_id = (
                Communication.objects.filter(pk=communication_id)
                .values_list("work_id", flat=True)
                .first()
            )
            MessageEvent.objects.bulk_create(
                [
                    MessageEvent(
                        message_id=pk,
                        message_key=str(key),
                        status=status,
                        occurred_at=occurred_at,
                        source=MessageEvent.Source.DISPATCH,
                        external_event_id=f"{event_id}:"[:260] + str(pk),
                        detail=detail or {},
                        recorded_at=now,
                        applied=current in sources,
                        work_id=work_id,
                    )
                    for pk, key, current in messages.values_list("pk", "key", "status")
                ],
                ignore_conflicts=True,
                batch_size=1000,
            )
        moved = messages.filter(status__in=sources).update(
            status=status, status_at=occurred_at, status_detail=status_detail, **(extra or {})
        )
    return ChunkApplied(moved=moved, keys=keys)


def _chunk_apply_pg(
    *,
    communication_id: int,
    chunk: int,
    status: str,
    sources: list[str],
    event_id: str,
    occurred_at: datetime.datetime,
    detail_json: str,
    status_detail: str,
    extra: dict[str, Any],
    now: datetime.datetime,
) -> ChunkApplied:
    """``message_status_chunk_apply`` on PostgreSQL, in one statement and one round trip.

    The sub-statements of a WITH share one snapshot: the UPDATE moves (and row-locks) the
    messages still in ``sources``; the INSERT … SELECT records one event per message of the
    chunk, ``applied`` exactly for the ids the UPDATE returned (a message a concurrent applier
    moved past ``sources`` first is skipped by the UPDATE, which re-checks its WHERE on the
    locked row, so its event is recorded not applied); the outer SELECT returns the chunk's
    keys in sequence order with the count moved. Applying it again moves nothing and records
    nothing new (ON CONFLICT DO NOTHING on the event's source and id)."""
    q = connection.ops.quote_name
    table = q(Message._meta.db_table)
    events = q(MessageEvent._meta.db_table)
    communications = q(Communication._meta.db_table)
    sets = ["status = %s", "status_at = %s", "status_detail = %s"]
    set_params: list[Any] = [status, occurred_at, status_detail]
    for name, value in extra.items():
        column = Message._meta.get_field(name)
        assert isinstance(column, Field) and column.column
        sets.append(f"{q(column.column)} = %s")
        set_params.append(column.get_db_prep_save(value, connection))
    placeholders = ", ".join(["%s"] * len(sources))
    # Only quoted table and column names and fixed SQL fragments are interpolated; every value
    # is a query parameter.
    sql = (
        f"WITH moved AS (UPDATE {table} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE communication_id = %s AND chunk = %s AND status IN ({placeholders}) "
        "RETURNING id), "
        f"recorded AS (INSERT INTO {events} (message_id, message_key, status, occurred_at, "
        "source, external_event_id, detail, recorded_at, applied, work_id) "
        "SELECT m.id, m.key::text, %s, %s, %s, %s || m.id, CAST(%s AS jsonb), %s, "
        "m.id IN (SELECT id FROM moved), c.work_id "
        f"FROM {table} m JOIN {communications} c ON c.id = m.communication_id "
        "WHERE m.communication_id = %s AND m.chunk = %s ON CONFLICT DO NOTHING) "
        f"SELECT m.key::text, (SELECT count(*) FROM moved) FROM {table} m "
        "WHERE m.communication_id = %s AND m.chunk = %s ORDER BY m.sequence"
    )
    params = [
        *set_params,
        communication_id,
        chunk,
        *sources,
        status,
        occurred_at,
        MessageEvent.Source.DISPATCH.value,
        f"{event_id}:"[:260],
        detail_json,
        now,
        communication_id,
        chunk,
        communication_id,
        chunk,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return ChunkApplied(moved=int(rows[0][1]) if rows else 0, keys=[key for key, _ in rows])


# --- hand entry and CSV import ---------------------------------------------------------------


def hand_event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def message_status_record(
    *,
    actor: Actor,
    message: Message,
    status: str,
    occurred_on: datetime.date,
    note: str = "",
) -> ApplyResult:
    """Record returned mail or a response for one message by hand. Recording the same
    status and date for the same message twice changes nothing."""
    if status not in HAND_STATUSES:
        raise ValidationError({"status": "Record 'returned' or 'responded'."})
    if occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": "The date is in the future."})
    communication = message.communication
    policy.require(actor, policy.Action.RECORD_RESPONSE, communication)
    # a day's answer counts from noon; one entered this morning for today, from now (never
    # a time still to come, which would head the timeline above what happens meanwhile)
    at = min(
        datetime.datetime.combine(occurred_on, datetime.time(12, 0), tzinfo=datetime.UTC),
        timezone.now(),
    )
    event = StatusInput(
        message_key=str(message.key),
        status=status,
        occurred_at=at,
        source=MessageEvent.Source.HAND,
        external_event_id=hand_event_id(message.key, status, occurred_on.isoformat()),
        detail={"note": note[:1000], "recorded_by": getattr(actor, "email", "")},
    )
    with transaction.atomic():
        result = message_status_apply(events=[event], actor=actor)
        if result.recorded:
            log_action(
                actor=actor,
                verb=f"message.{status}_recorded",
                target=communication,
                work_id=communication.work_id,
                data={"message": str(message.key), "on": occurred_on.isoformat(), "note": note},
            )
    return result
