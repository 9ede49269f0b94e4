"""Dispatch records each message's submission (or failure) as status events through the status
service, in a few statements per chunk, keeping the replay correction FAILED → SUBMITTED."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from integration.communications import approval, create
from integration.delivery.outbox import outbox_replay
from integration.lib.http import ExternalServiceError
from integration.models import Communication, Message, MessageEvent, OutboxItem
from integration.selectors.timeline import TimelineFilters, title_timeline
from integration.status.apply import message_status_chunk_apply
from tests.factories import communication_type

S = Communication.Status
DISPATCH = MessageEvent.Source.DISPATCH


@pytest.fixture
def composed(rights_setup, rights_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
        )
    return Communication.objects.get(pk=comm.pk)


def _submit(comm, user, callbacks):
    with callbacks(execute=True):
        return approval.communication_submit(actor=user, communication=comm)


def _approve(comm, approver, callbacks):
    with callbacks(execute=True):
        approval.communication_approve(actor=approver, communication=comm)
    return Communication.objects.get(pk=comm.pk)


def test_dispatch_records_one_submitted_event_per_message_on_the_timeline(
    composed,
    rights_manager,
    second_rights_manager,
    project_manager,
    django_capture_on_commit_callbacks,
    exstream,
    settings,
):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve(comm, second_rights_manager, django_capture_on_commit_callbacks)
    assert comm.status == S.SENT
    events = MessageEvent.objects.filter(source=DISPATCH)
    assert events.count() == 3
    for message in comm.messages.all():
        event = events.get(message=message)
        assert event.status == Message.Status.SUBMITTED and event.applied
        assert event.message_key == str(message.key)
        assert event.detail["job_id"] == message.exstream_job_id != ""
        assert event.external_event_id.endswith(f":{message.pk}")
    assert sorted(events.values_list("message__chunk", flat=True)) == [1, 1, 2]
    assert len({e.detail["job_id"] for e in events}) == 2  # one Exstream job per chunk
    page = title_timeline(
        user=project_manager, work=comm.work, filters=TimelineFilters(kind="message")
    )
    submitted = [e for e in page.entries if e.status == Message.Status.SUBMITTED]
    assert len(submitted) == 3
    assert {e.title.split(":")[0] for e in submitted} == {
        e.title.split(":")[0] for e in page.entries
    }
    assert all("Colophon dispatch" in (e.detail + e.title) for e in submitted), submitted


def test_dead_chunk_records_failures_and_replay_corrects_them_to_submitted(
    composed,
    rights_manager,
    second_rights_manager,
    admin_a,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    exstream.fail = [ExternalServiceError("bad", service="exstream", retryable=False, status=422)]
    comm = _approve(comm, second_rights_manager, django_capture_on_commit_callbacks)
    assert comm.status == S.FAILED
    failed = MessageEvent.objects.filter(source=DISPATCH, status=Message.Status.FAILED)
    assert failed.count() == 3 and all(e.applied for e in failed)
    assert all("bad" in e.detail["reason"] for e in failed)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_replay(actor=admin_a, item=OutboxItem.objects.get())
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(comm.messages.values_list("status", flat=True)) == {"submitted"}
    assert set(comm.messages.values_list("status_detail", flat=True)) == {""}
    submitted = MessageEvent.objects.filter(source=DISPATCH, status=Message.Status.SUBMITTED)
    assert submitted.count() == 3 and all(e.applied for e in submitted)
    assert failed.count() == 3  # the history keeps the failure


def test_chunk_apply_is_idempotent_and_never_moves_a_later_status_back(composed):
    _first, second, _third = composed.messages.order_by("sequence")
    composed.messages.update(chunk=1)
    Message.objects.filter(pk=second.pk).update(status=Message.Status.DELIVERED)
    kwargs = {
        "communication_id": composed.pk,
        "chunk": 1,
        "status": Message.Status.SUBMITTED,
        "from_statuses": [Message.Status.GENERATED, Message.Status.FAILED],
        "event_id": "submitted:ext-1:job-1",
        "occurred_at": timezone.now(),
        "extra": {"exstream_job_id": "job-1"},
    }
    applied = message_status_chunk_apply(**kwargs)
    assert applied.moved == 2 and set(applied.keys) == {str(m.key) for m in composed.messages.all()}
    second.refresh_from_db()
    assert second.status == Message.Status.DELIVERED and second.exstream_job_id == ""
    assert not MessageEvent.objects.get(message=second).applied
    assert MessageEvent.objects.filter(source=DISPATCH).count() == 3
    assert message_status_chunk_apply(**kwargs).moved == 0
    assert MessageEvent.objects.filter(source=DISPATCH).count() == 3
    # Other chunks are untouched.
    assert not message_status_chunk_apply(**{**kwargs, "chunk": 2, "event_id": "x"}).moved


def test_a_2000_message_chunk_takes_a_handful_of_queries(composed, django_assert_max_num_queries):
    template = composed.messages.first()
    Message.objects.bulk_create(
        [
            Message(
                communication=composed,
                key=uuid.uuid4(),
                sequence=100 + i,
                channel="email",
                driver_data=template.driver_data,
                payload_hash=template.payload_hash,
                chunk=7,
            )
            for i in range(2000)
        ],
        batch_size=500,
    )
    with django_assert_max_num_queries(5):
        applied = message_status_chunk_apply(
            communication_id=composed.pk,
            chunk=7,
            status=Message.Status.SUBMITTED,
            from_statuses=[Message.Status.GENERATED],
            event_id="submitted:bench:job",
            occurred_at=timezone.now(),
        )
    assert applied.moved == 2000 and len(applied.keys) == 2000
    assert MessageEvent.objects.filter(source=DISPATCH, applied=True).count() == 2000
    assert Message.objects.filter(chunk=7, status=Message.Status.SUBMITTED).count() == 2000
    keys = set(Message.objects.filter(chunk=7).values_list("key", flat=True))
    assert {
        uuid.UUID(k) for k in MessageEvent.objects.values_list("message_key", flat=True)
    } == keys


def test_a_pending_chunk_cancelled_in_operations_records_failed_events(
    composed,
    rights_manager,
    second_rights_manager,
    admin_a,
    django_capture_on_commit_callbacks,
    exstream,
    settings,
):
    from integration.delivery.outbox import outbox_cancel

    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):  # chunks stay pending
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    second = OutboxItem.objects.get(payload__chunk=2)
    outbox_cancel(actor=admin_a, item=second)
    cancelled = MessageEvent.objects.filter(source=DISPATCH, status=Message.Status.FAILED)
    assert cancelled.count() == 1
    event = cancelled.get()
    assert event.message.chunk == 2 and event.applied
    assert event.external_event_id.startswith("cancelled:")
    assert event.message.status_detail == "The chunk was cancelled in Operations."
    assert Message.objects.filter(chunk=1, status=Message.Status.GENERATED).count() == 2
