"""Pulled CXI e-mail events: the window read whole, overlapping windows, dedupe on eventId,
mapping."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integration.models import EventCursor, MessageEvent
from integration.status.polling import exstream_email_events_pull
from sandbox.models import ExstreamSandboxEmailEvent

pytestmark = pytest.mark.django_db(transaction=True)


def add_events(base, specs):
    for index, (key, kind) in enumerate(specs):
        when = base + datetime.timedelta(seconds=index)
        ExstreamSandboxEmailEvent.objects.create(
            event_id=f"ev-{key}-{kind}",
            domain="production",
            job_id="job-1",
            customer_key=key,
            event_type=kind,
            event_date=when,
            last_update_time=when,
        )


def test_pull_maps_statuses_and_moves_the_cursor(make_client):
    now = timezone.now()
    add_events(
        now - datetime.timedelta(minutes=30),
        [
            ("m1", "SUBMIT"),
            ("m1", "POST"),
            ("m1", "OPEN"),
            ("m2", "SUBMIT"),
            ("m2", "NDLV"),
            ("m3", "BOUNCE"),
            ("m4", "SOMETHING_ELSE"),
        ],
    )
    result = exstream_email_events_pull(client=make_client(), now=now, page_size=2)
    assert (result.seen, result.new, result.ignored) == (7, 6, 1)
    assert set(MessageEvent.objects.values_list("message_key", "status")) == {
        ("m1", "submitted"),
        ("m1", "delivered"),
        ("m1", "opened"),
        ("m2", "submitted"),
        ("m2", "not_delivered"),
        ("m3", "bounced"),
    }
    assert EventCursor.objects.get(name="exstream-email-events").position == now


def test_overlapping_windows_duplicates_and_disorder_change_nothing(make_client, switches):
    start = timezone.now() - datetime.timedelta(hours=1)
    add_events(start, [("a", "SUBMIT"), ("a", "POST"), ("b", "SUBMIT")])
    first = exstream_email_events_pull(
        client=make_client(), now=start + datetime.timedelta(minutes=5), page_size=2
    )
    assert first.new == 3
    # A late event inside the overlap, and the sandbox now repeats and reverses events.
    add_events(start + datetime.timedelta(minutes=3), [("b", "OPEN")])
    switches.duplicate_events = True
    switches.out_of_order_events = True
    switches.save()
    second = exstream_email_events_pull(
        client=make_client(), now=start + datetime.timedelta(minutes=10), page_size=2
    )
    assert second.seen == 8  # 4 events in the overlapping window, each listed twice
    assert second.new == 1
    assert MessageEvent.objects.count() == 4


def test_events_outside_the_window_are_not_read(make_client):
    now = timezone.now()
    EventCursor.objects.create(name="exstream-email-events", position=now)
    add_events(now - datetime.timedelta(minutes=20), [("old", "POST")])
    result = exstream_email_events_pull(
        client=make_client(), now=now + datetime.timedelta(minutes=1)
    )
    assert result.seen == 0 and MessageEvent.objects.count() == 0


def test_batch_completion_creates_email_events_that_pull_maps(exstream, imprint_a, make_client):
    from integration.models import ExstreamCommunication
    from integration.setup.designs import exstream_catalogue_sync
    from integration.status.polling import exstream_job_poll
    from tests.scenarios import batch_submitted

    exstream_catalogue_sync(actor=None, domains=["production"])
    launch = ExstreamCommunication.objects.get(name="Launch announcement e-mail")
    base = {
        "recipientName": "R",
        "imprintName": "H",
        "workTitle": "T",
        "publicationDate": "2026-12-01",
    }
    job = batch_submitted(
        communication=launch,
        imprint=imprint_a,
        external_id="launch-1",
        records=[
            {**base, "customer.customerNumber": "L1", "recipientEmail": "fan@example.test"},
            {**base, "customer.customerNumber": "L2", "recipientEmail": "bounce@example.test"},
        ],
    )
    for _ in range(4):
        exstream_job_poll(job_pk=job.pk)
    result = exstream_email_events_pull(
        client=make_client(), now=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert result.new == 5
    statuses = set(
        MessageEvent.objects.filter(source="exstream-email").values_list("message_key", "status")
    )
    assert statuses == {
        ("L1", "submitted"),
        ("L1", "delivered"),
        ("L1", "opened"),
        ("L2", "submitted"),
        ("L2", "not_delivered"),
    }


def test_sandbox_pushes_signed_events_to_our_webhook(exstream, switches):
    from integration.models import InboundEvent
    from sandbox.exstream.push import push_email_events

    add_events(timezone.now(), [("p1", "SUBMIT"), ("p1", "POST"), ("p2", "NDLV")])
    switches.duplicate_events = True
    switches.out_of_order_events = True
    switches.save()
    assert push_email_events() == 6  # each event twice
    assert InboundEvent.objects.count() == 3
    assert set(MessageEvent.objects.values_list("message_key", "status", "source")) == {
        ("p1", "submitted", "exstream-webhook"),
        ("p1", "delivered", "exstream-webhook"),
        ("p2", "not_delivered", "exstream-webhook"),
    }
    assert push_email_events() == 0  # nothing left to push


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("POST", "delivered"),
        ("Submit", "submitted"),
        ("Exstream-Email-OPEN", "opened"),
        ("Exstream-Email-NDLV", "not_delivered"),
        ("Exstream-Email-Submit", "submitted"),
    ],
)
def test_pulled_event_types_are_read_as_codes_or_as_schema_types(event_type, status):
    """Reference §7: the pulled ``eventType`` strings are unconfirmed; the pushed schemaTypes
    are documented (``Exstream-Email-<status>``). Either form is read."""
    from integration.status.polling import email_event_to_status

    event = email_event_to_status(
        {"eventId": "e-1", "custMetadataId": "m-1", "eventType": event_type}
    )
    assert event is not None and event.status == status
