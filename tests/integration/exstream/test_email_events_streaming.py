"""Pulled e-mail events are delivered as they are read, not held for the whole window; the
cursor still moves only after the whole window, and a pull that dies half-way is simply read
again: what was stored is dropped by event id, each event is applied once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integration.lib.http import ExternalServiceError
from integration.models import CommunicationType, EventCursor, Message, MessageEvent
from integration.status.polling import exstream_email_events_pull
from sandbox.models import ExstreamSandboxEmailEvent
from tests.factories import CommunicationFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _messages(n):
    # A transactional test may run after another one flushed the seeded types.
    ctype, _ = CommunicationType.objects.get_or_create(
        code="launch-email", defaults={"name": "Launch e-mail", "category": "marketing", "flow": 5}
    )
    comm = CommunicationFactory.create(communication_type=ctype)
    return [
        MessageFactory.create(communication=comm, status=Message.Status.SUBMITTED) for _ in range(n)
    ]


def _events(messages, base):
    """SUBMIT, POST, OPEN for each message, a second apart, in that order."""
    n = 0
    for m in messages:
        for kind in ("SUBMIT", "POST", "OPEN"):
            when = base + datetime.timedelta(seconds=n)
            ExstreamSandboxEmailEvent.objects.create(
                event_id=f"ev-{m.pk}-{kind}",
                domain="production",
                job_id="job-1",
                customer_key=str(m.key),
                event_type=kind,
                event_date=when,
                last_update_time=when,
            )
            n += 1
    return n


class Recording:
    """Wraps the real client: counts the events already stored each time one more is read,
    and can die after ``fail_after`` events (a network failure half-way through a window)."""

    def __init__(self, client, fail_after=None):
        self.client = client
        self.fail_after = fail_after
        self.stored_when_read: list[int] = []

    def email_events(self, **kwargs):
        for n, item in enumerate(self.client.email_events(**kwargs)):
            if self.fail_after is not None and n == self.fail_after:
                raise ExternalServiceError("connection reset", service="exstream", retryable=True)
            self.stored_when_read.append(MessageEvent.objects.count())
            yield item


def test_events_are_delivered_while_the_window_is_still_being_read(make_client):
    messages = _messages(4)
    now = timezone.now()
    total = _events(messages, now - datetime.timedelta(minutes=30))
    client = Recording(make_client())
    result = exstream_email_events_pull(client=client, now=now, page_size=2, deliver_every=3)
    assert (result.seen, result.new) == (total, total) == (12, 12)
    # When the 12th event was read, the first nine were already stored (three deliveries).
    assert client.stored_when_read == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9]
    assert {m.status for m in Message.objects.all()} == {Message.Status.OPENED}
    assert EventCursor.objects.get(name="exstream-email-events").position == now


def test_a_pull_that_dies_half_way_is_read_again_and_applies_each_event_once(make_client):
    messages = _messages(4)
    now = timezone.now()
    _events(messages, now - datetime.timedelta(minutes=30))
    broken = Recording(make_client(), fail_after=7)
    with pytest.raises(ExternalServiceError):
        exstream_email_events_pull(client=broken, now=now, page_size=2, deliver_every=3)
    # Two deliveries of three made it; the cursor did not move.
    assert MessageEvent.objects.count() == 6
    assert not EventCursor.objects.get(name="exstream-email-events").position
    applied_before = set(
        MessageEvent.objects.filter(applied=True).values_list("external_event_id", flat=True)
    )
    again = exstream_email_events_pull(client=make_client(), now=now, page_size=2, deliver_every=3)
    assert (again.seen, again.new) == (12, 6)
    assert MessageEvent.objects.count() == 12
    assert EventCursor.objects.get(name="exstream-email-events").position == now
    # The events stored by the failed pull kept their "applied" flag; nothing was applied twice.
    assert applied_before <= set(
        MessageEvent.objects.filter(applied=True).values_list("external_event_id", flat=True)
    )
    assert {m.status for m in Message.objects.all()} == {Message.Status.OPENED}
    assert set(MessageEvent.objects.values_list("work_id", flat=True)) == {
        m.communication.work_id for m in messages
    }
