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
    assert len(updates) == 2  # 520 messages: two set-based statements, not one per message
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
