"""message_status_apply at chunk size: events with a time each move every message in a few
set-based statements, each message keeping its own time and detail; duplicates stored once."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from integration.lib.bulk import insert_rows
from integration.models import Message, MessageEvent
from integration.status import apply
from integration.status.apply import StatusInput, message_status_apply
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)


def test_a_chunk_of_events_with_their_own_times_moves_each_message_to_its_own():
    first = MessageFactory.create()
    messages = [first] + [
        MessageFactory.create(communication=first.communication)
        for _ in range(apply.SET_BASED_ROWS + 20)
    ]
    events = [
        StatusInput(
            str(m.key), "opened", T0 + datetime.timedelta(seconds=i), "exstream-email", f"o{i}",
            {"note": f"opened on device {i}"},
        )
        for i, m in enumerate(messages)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as ctx:
        result = message_status_apply(events=events)
    assert result.moved == len(messages)
    updates = [
        q
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "WITH"))
        and "integration_message" in q["sql"]
    ]
    # 520 messages: one statement of arrays on PostgreSQL, two of VALUES (500 rows each) on
    # SQLite; never one per message.
    assert len(updates) == (1 if connection.vendor == "postgresql" else 2)
    for i, m in enumerate(messages):
        m.refresh_from_db()
        assert m.status == Message.Status.OPENED
        assert m.status_at == T0 + datetime.timedelta(seconds=i)
        assert m.status_detail == f"opened on device {i}"
    # The same chunk again: nothing stored twice, nothing moved.
    again = message_status_apply(events=events)
    assert again.duplicates == len(events) and again.moved == 0
    assert MessageEvent.objects.filter(source="exstream-email").count() == len(messages)


def test_a_lower_status_in_the_same_chunk_does_not_win():
    m = MessageFactory.create()
    message_status_apply(
        events=[
            StatusInput(str(m.key), "delivered", T0, "exstream-runtime", "d"),
            StatusInput(str(m.key), "submitted", T0 + datetime.timedelta(hours=1), "x", "s"),
        ]
    )
    m.refresh_from_db()
    assert m.status == Message.Status.DELIVERED and m.status_at == T0


def test_insert_rows_skips_conflicting_rows_only_when_asked():
    m = MessageFactory.create()

    def event(ext: str) -> MessageEvent:
        return MessageEvent(
            message=m, message_key=str(m.key), status="delivered", occurred_at=T0,
            source="exstream-runtime", external_event_id=ext,
        )  # fmt: skip

    insert_rows(MessageEvent, [event("a")])
    insert_rows(MessageEvent, [event("a"), event("b")], ignore_conflicts=True)
    assert sorted(MessageEvent.objects.values_list("external_event_id", flat=True)) == ["a", "b"]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(MessageEvent, [event("a")])


def test_mixed_times_duplicates_and_lower_statuses_apply_once_and_only_forward():
    """One chunk: several events per message with their own times, some repeated in the
    chunk, some stored by an earlier chunk, some lower than the message already is."""
    a, b, c = (MessageFactory.create() for _ in range(3))
    Message.objects.filter(pk=c.pk).update(status=Message.Status.OPENED, status_at=T0)
    first = message_status_apply(
        events=[StatusInput(str(a.key), "delivered", T0, "exstream-runtime", "a-d")]
    )
    assert first.moved == 1
    t = [T0 + datetime.timedelta(minutes=n) for n in range(6)]
    events = [
        StatusInput(str(a.key), "delivered", t[1], "exstream-runtime", "a-d"),  # stored before
        StatusInput(str(a.key), "submitted", t[2], "exstream-runtime", "a-s"),  # lower
        StatusInput(str(a.key), "opened", t[3], "exstream-email", "a-o"),
        StatusInput(str(a.key), "opened", t[4], "exstream-email", "a-o2"),  # same rank, later
        StatusInput(str(b.key), "bounced", t[5], "exstream-email", "b-b"),
        StatusInput(str(b.key), "bounced", t[5], "exstream-email", "b-b"),  # repeated in chunk
        StatusInput(str(b.key), "delivered", t[0], "exstream-runtime", "b-d"),
        StatusInput(str(c.key), "delivered", t[1], "exstream-runtime", "c-d"),  # below opened
    ]
    result = message_status_apply(events=events)
    assert (result.recorded, result.duplicates, result.moved) == (6, 2, 2)
    for m in (a, b, c):
        m.refresh_from_db()
    assert (a.status, a.status_at) == (Message.Status.OPENED, t[3])  # first of equals stays
    assert (b.status, b.status_at) == (Message.Status.BOUNCED, t[5])
    assert (c.status, c.status_at) == (Message.Status.OPENED, T0)  # never backwards
    applied = set(
        MessageEvent.objects.filter(applied=True).values_list("external_event_id", flat=True)
    )
    assert applied == {"a-d", "a-o", "b-b"}  # each event applied once, the winner only
    assert MessageEvent.objects.count() == 7
    # The whole chunk again, in reverse: nothing new, nothing moves.
    again = message_status_apply(events=list(reversed(events)))
    assert (again.recorded, again.moved) == (0, 0)
    assert MessageEvent.objects.count() == 7


def test_an_event_stored_by_a_concurrent_applier_is_skipped_not_an_error():
    """Between the duplicate check and the insert another worker may store the same event:
    the insert skips it (ON CONFLICT DO NOTHING) on every backend."""
    m = MessageFactory.create()

    def row(ext: str) -> MessageEvent:
        return MessageEvent(
            message=m, message_key=str(m.key), status="delivered", occurred_at=T0,
            source="exstream-runtime", external_event_id=ext, detail={"n": ext},
            work_id=m.communication.work_id,
        )  # fmt: skip

    apply._insert_events([row("a")])
    apply._insert_events([row("a"), row("b")])
    stored = dict(MessageEvent.objects.values_list("external_event_id", "detail"))
    assert stored == {"a": {"n": "a"}, "b": {"n": "b"}}
    assert set(MessageEvent.objects.values_list("work_id", flat=True)) == {m.communication.work_id}
