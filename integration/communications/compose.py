"""Composing a communication in the background: streams the audience in chunks, builds each
recipient's payload, writes the messages chunk by chunk (progress visible as
``compose_done`` / ``compose_total``, with a heartbeat per chunk) and stores the payload hash.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import log_action
from integration.communications.common import S, canonical_json, dispatch_chunk_size
from integration.communications.grant import auto_approve_if_allowed
from integration.communications.payload import Composer, Payload
from integration.models import (
    Communication,
    Message,
)
from integration.setup.compliance import compliance_evaluate, compliance_rules_for

logger = logging.getLogger(__name__)


COMPOSE_CHUNK = 2000


class ComposeSuperseded(Exception):
    """This composing worker's attempt was restarted (or cancelled): it stops writing."""


def communication_compose(*, communication_id: int, attempt: int | None = None) -> Communication:
    """Build the messages of a communication that is composing (the background task).

    ``attempt`` is the ``compose_attempt`` the task was queued for; a task for an older attempt
    (a worker that stalled and was restarted, or a late retry of it) does nothing."""
    communication = Communication.objects.select_related(
        "communication_type", "audience", "template", "work", "product", "contract"
    ).get(pk=communication_id)
    if communication.status != S.COMPOSING:
        return communication
    if attempt is None:
        attempt = communication.compose_attempt
    if attempt != communication.compose_attempt:
        return communication
    try:
        return _compose(communication, attempt=attempt)
    except ComposeSuperseded:
        logger.info("Composing communication %s: attempt %s superseded", communication_id, attempt)
        return Communication.objects.get(pk=communication_id)
    except Exception as exc:
        logger.exception("Composing communication %s failed", communication_id)
        with transaction.atomic():
            locked = Communication.objects.select_for_update().get(pk=communication_id)
            if locked.status != S.COMPOSING or locked.compose_attempt != attempt:
                return locked  # a newer attempt owns the messages now
            Message.objects.filter(communication=locked).delete()
            locked.compose_failed()
            locked.compose_error = (
                exc.messages[0] if isinstance(exc, ValidationError) else f"{exc}"
            )[:2000]
            locked.payload_hash = ""
            locked.input_versions = {}
            locked.save()
            log_action(
                actor=None,
                verb="communication.compose_failed",
                target=locked,
                work_id=locked.work_id,
                data={"error": locked.compose_error},
            )
        return locked


def _heartbeat(comm_id: int, attempt: int, **values: Any) -> None:
    """Record progress for ``attempt``; raise ``ComposeSuperseded`` if it is no longer the
    current one (restarted or cancelled). Takes the row lock a restart waits on, so a restart
    and this worker's next write never interleave."""
    moved = Communication.objects.filter(
        pk=comm_id, status=S.COMPOSING, compose_attempt=attempt
    ).update(compose_heartbeat_at=timezone.now(), **values)
    if not moved:
        raise ComposeSuperseded()


def _findings(
    composer: Composer,
    payload: Payload,
    rules: list[Any],
    at: datetime.datetime,
) -> list[dict[str, str]]:
    out = [
        {"severity": "blocking", "rule": "Mapping", "message": problem}
        for problem in payload.problems
    ]
    if payload.channel == "email" and not payload.recipient.email:
        who = payload.recipient.name or payload.recipient.key
        out.append(
            {
                "severity": "blocking",
                "rule": "E-mail address",
                "message": f"{who} has no e-mail address for the e-mail channel.",
            }
        )
    if rules:
        c = composer.communication
        for finding in compliance_evaluate(
            communication_type=c.communication_type,
            imprint=c.imprint_id,
            territory_code=c.territory_code or payload.recipient.country,
            channel=payload.channel,
            recipient=payload.recipient,
            driver_data=payload.driver_data,
            at=at,
            rules=rules,
        ):
            out.append(
                {
                    "severity": finding.severity,
                    "rule": finding.rule.name,
                    "message": finding.message,
                }
            )
    return out


_MESSAGE_COLUMNS = (
    "communication_id",
    "key",
    "sequence",
    "recipient_key",
    "recipient_name",
    "recipient_email",
    "recipient_address",
    "recipient_country",
    "contact_id",
    "channel",
    "driver_data",
    "payload_hash",
    "findings",
    "blocking",
    "status",
    "status_at",
    "status_detail",
    "exstream_job_id",
    "chunk",
)


def _no_query_during_copy(*args: Any) -> Any:
    raise RuntimeError(
        "A database query ran while message rows were being streamed to COPY; the payload "
        "of a streamed chunk must be built without queries (Composer.queries_per_recipient)."
    )


def insert_messages(rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, else one multi-row INSERT per 500 rows: composing 100k recipients
    spends its time on payloads, not on building and preparing 100k model instances. Values
    arrive already adapted for the database (JSON as text, the key as the backend stores
    UUIDs). On PostgreSQL ``rows`` may be a generator: each row is sent as it is built."""
    # Only constant identifiers go into the SQL text; every value is a bound parameter.
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _MESSAGE_COLUMNS)
    if connection.vendor == "postgresql":
        # COPY streams the rows in one statement: no 19-column × 500-row INSERT text to build
        # and parse per chunk (longer than psycopg's prepared-statement cache holds).
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            # While the COPY runs the connection takes no other statement: a query made while
            # building a streamed row would wait on the COPY forever. Fail loudly instead.
            connection.execute_wrapper(_no_query_during_copy),
        ):
            for row in rows:
                copy.write_row(row)
        return
    rows = list(rows)
    one = "(" + ", ".join(["%s"] * len(_MESSAGE_COLUMNS)) + ")"
    per_statement = max(1, min(500, 30_000 // len(_MESSAGE_COLUMNS)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            values = ", ".join([one] * len(part))
            sql = "INSERT INTO " + table + " (" + columns + ") VALUES " + values  # noqa: S608
            cursor.execute(sql, [value for row in part for value in row])


class _StreamedRows:
    """A chunk's rows, built while they are read (for COPY to stream them); how many there
    are is known before. Read once: building a row counts it and feeds the payload hash."""

    def __init__(self, rows: Iterator[tuple[Any, ...]], count: int):
        self._rows: Iterator[tuple[Any, ...]] | None = rows
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError("A chunk's streamed rows can be read only once.")
        return rows


def _compose(communication: Communication, *, attempt: int) -> Communication:
    on_date = timezone.localdate()
    comm_id = communication.pk
    with transaction.atomic():
        # Idempotent: whatever an earlier, dead attempt left behind goes first.
        _heartbeat(comm_id, attempt, compose_done=0)
        Message.objects.filter(communication=communication).delete()
    composer = Composer.load(communication, on_date=on_date)
    # Taken before the recipients are read: what the payload is built from is at least this new.
    versions = composer.input_versions()
    rules = compliance_rules_for(
        imprint=communication.imprint_id, communication_type=communication.communication_type
    )
    now = timezone.now()
    hasher = hashlib.sha256(composer.header().encode())
    done = blocking = warnings = 0
    native_uuid = connection.features.has_native_uuid_field
    status_at = connection.ops.adapt_datetimefield_value(now)
    generated = Message.Status.GENERATED.value
    sha256 = hashlib.sha256
    uuid4 = uuid.uuid4
    # Written in their dispatch chunk now, so approving need not rewrite every message.
    chunk_size = dispatch_chunk_size()
    # On PostgreSQL the rows of a chunk go to COPY as they are built, so the server inserts
    # the first ones while Python builds the rest. Only when building a payload runs no query:
    # the connection is busy with the COPY meanwhile (the chunk's recipients are read first).
    stream = connection.vendor == "postgresql" and not composer.queries_per_recipient

    def row(payload: Payload) -> tuple[Any, ...]:
        nonlocal done, blocking, warnings
        encoded = payload.canonical.encode()
        hasher.update(b"\n")
        hasher.update(encoded)
        findings = _findings(composer, payload, rules, now)
        is_blocking = any(f["severity"] == "blocking" for f in findings)
        blocking += is_blocking
        warnings += bool(findings) and not is_blocking
        done += 1
        r = payload.recipient
        key = uuid4()
        return (
            comm_id,
            key if native_uuid else key.hex,
            payload.sequence,
            r.key[:200],
            r.name[:300],
            r.email[:300],
            r.address,
            r.country[:2],
            r.contact_id,
            payload.channel,
            payload.driver_json,
            sha256(encoded).hexdigest(),
            canonical_json(findings) if findings else "[]",
            is_blocking,
            generated,
            status_at,
            "",
            "",
            (payload.sequence - 1) // chunk_size + 1,
        )

    recipients = composer.recipients()
    sequence = 1
    while batch := list(islice(recipients, COMPOSE_CHUNK)):
        rows: Iterable[tuple[Any, ...]] = _StreamedRows(
            map(row, composer.payloads(batch, start=sequence)), len(batch)
        )
        sequence += len(batch)
        if not stream:
            rows = list(rows)
        with transaction.atomic():
            insert_messages(rows)
            # A superseded attempt raises here and its rows roll back with it.
            _heartbeat(comm_id, attempt, compose_done=done)
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=comm_id)
        if locked.status == S.COMPOSING and locked.compose_attempt != attempt:
            return locked  # restarted meanwhile: the newer attempt owns the messages
        if locked.status != S.COMPOSING:  # cancelled meanwhile
            Message.objects.filter(communication=locked).delete()
            return locked
        locked.finish_composing()
        locked.checked_at = locked.composed_at
        locked.payload_hash = hasher.hexdigest()
        locked.input_versions = versions
        locked.recipient_count = done
        locked.compose_done = done
        locked.compose_total = done
        locked.blocking_count = blocking
        locked.warning_count = warnings
        locked.save()
        log_action(
            actor=None,
            verb="communication.composed",
            target=locked,
            work_id=locked.work_id,
            data={
                "recipients": done,
                "blocking": blocking,
                "warnings": warnings,
                "payload_hash": locked.payload_hash,
            },
        )
        if locked.trigger_rule_id is not None:
            auto_approve_if_allowed(locked)
    return locked
