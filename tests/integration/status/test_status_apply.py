"""message_status_apply: monotonic, idempotent, out-of-order safe, orphans kept."""

from __future__ import annotations

import itertools

import pytest

from integration.models import Message, MessageEvent
from integration.models.status import STATUS_RANK
from integration.selectors.status import communication_delivery_stats, orphan_message_events
from integration.status.apply import StatusInput, message_status_apply
from tests.factories import MessageFactory
from tests.integration.status.conftest import at

S = Message.Status


def ev(message, status, hours, ext, source="exstream-runtime", **detail):
    return StatusInput(
        message_key=str(message.key),
        status=status,
        occurred_at=at(hours),
        source=source,
        external_event_id=ext,
        detail=detail,
    )


def test_rank_order_is_documented_and_total():
    order = sorted(STATUS_RANK, key=STATUS_RANK.get)
    assert order == [
        S.GENERATED,
        S.SUBMITTED,
        S.FAILED,
        S.DELIVERED,
        S.NOT_DELIVERED,
        S.BOUNCED,
        S.OPENED,
        S.RETURNED,
        S.RESPONDED,
    ]
    assert set(STATUS_RANK) == set(S.values)


@pytest.mark.django_db
def test_late_submitted_never_overrides_delivered(message):
    message_status_apply(events=[ev(message, S.DELIVERED, 2, "d1")])
    result = message_status_apply(events=[ev(message, S.SUBMITTED, 1, "s1")])
    message.refresh_from_db()
    assert message.status == S.DELIVERED
    assert message.status_at == at(2)
    assert result.recorded == 1 and result.moved == 0
    # the late event is history, not applied
    late = MessageEvent.objects.get(external_event_id="s1")
    assert late.applied is False and late.message == message


@pytest.mark.django_db
def test_same_event_twice_changes_nothing(message):
    first = message_status_apply(events=[ev(message, S.DELIVERED, 2, "d1")])
    again = message_status_apply(events=[ev(message, S.DELIVERED, 2, "d1")] * 2)
    assert (first.recorded, first.moved) == (1, 1)
    assert (again.recorded, again.moved, again.duplicates) == (0, 0, 2)
    assert MessageEvent.objects.count() == 1


@pytest.mark.django_db
def test_every_arrival_order_gives_the_same_result(proof_communication):
    statuses = [(S.GENERATED, 0), (S.SUBMITTED, 1), (S.DELIVERED, 2), (S.OPENED, 3)]
    for n, perm in enumerate(itertools.permutations(statuses)):
        message = MessageFactory.create(communication=proof_communication)
        for status, hours in perm:
            message_status_apply(events=[ev(message, status, hours, f"{n}-{status}")])
        message.refresh_from_db()
        assert message.status == S.OPENED, perm
        assert message.status_at == at(3)
        assert message.events.count() == 4


@pytest.mark.django_db
def test_bounce_after_delivered_moves_but_not_after_opened(proof_communication):
    a = MessageFactory.create(communication=proof_communication)
    b = MessageFactory.create(communication=proof_communication)
    message_status_apply(
        events=[
            ev(a, S.DELIVERED, 1, "a1", source="exstream-email"),
            ev(a, S.BOUNCED, 2, "a2", source="exstream-email"),
            ev(b, S.OPENED, 1, "b1", source="exstream-email"),
            ev(b, S.BOUNCED, 2, "b2", source="exstream-email"),
        ]
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == S.BOUNCED
    assert b.status == S.OPENED


@pytest.mark.django_db
def test_unknown_keys_are_kept_as_orphans_for_operators(message, admin_a, viewer):
    result = message_status_apply(
        events=[
            StatusInput("not-a-uuid", S.DELIVERED, at(1), "exstream-webhook", "w1"),
            StatusInput(
                "6f1c1c7e-9a0e-4c55-9a55-6e5f7b7c0000", S.OPENED, at(1), "exstream-email", "e1"
            ),
            ev(message, S.DELIVERED, 1, "ok"),
        ]
    )
    assert (result.recorded, result.orphans, result.moved) == (3, 2, 1)
    assert {e.message_key for e in orphan_message_events(user=admin_a)} == {
        "not-a-uuid",
        "6f1c1c7e-9a0e-4c55-9a55-6e5f7b7c0000",
    }
    assert not orphan_message_events(user=viewer).exists()


@pytest.mark.django_db
def test_malformed_events_are_rejected_not_stored(message):
    import datetime

    naive = datetime.datetime(2026, 11, 2, 9, 0)
    result = message_status_apply(
        events=[
            StatusInput(str(message.key), "lost", at(1), "x", "1"),
            StatusInput(str(message.key), S.DELIVERED, naive, "x", "2"),
            StatusInput(str(message.key), S.DELIVERED, at(1), "x", ""),
        ]
    )
    assert len(result.rejected) == 3 and result.recorded == 0
    assert not MessageEvent.objects.exists()


@pytest.mark.django_db
def test_delivery_stats_per_communication(proof_communication):
    messages = [MessageFactory.create(communication=proof_communication) for _ in range(5)]
    message_status_apply(
        events=[
            ev(messages[0], S.DELIVERED, 1, "1"),
            ev(messages[1], S.OPENED, 1, "2"),
            ev(messages[2], S.BOUNCED, 1, "3"),
            ev(messages[3], S.FAILED, 1, "4"),
        ]
    )
    stats = communication_delivery_stats(communication=proof_communication)
    assert stats.total == 5
    assert (stats.reached, stats.undeliverable, stats.failed, stats.pending) == (2, 1, 1, 1)
    assert stats.settled is False
