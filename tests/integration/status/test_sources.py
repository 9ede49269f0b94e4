"""Every status source, applied as that source produces its events: runtime / delivery file,
pulled e-mail events, pushed webhook events, hand entry and CSV import."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from integration.models import ContributorAction, Message, MessageEvent
from integration.status.apply import StatusInput, message_status_apply, message_status_record
from integration.status.imports import message_status_import_csv
from tests.factories import CommunicationFactory, MessageFactory, WorkFactory
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status


def test_runtime_delivery_file_outcomes(proof_communication):
    """The runtime poller reads the delivery file: one event per customer key and outcome,
    with ids '<job>:<key>:<status>' (a re-poll produces the same ids)."""
    ok, bad = (MessageFactory.create(communication=proof_communication) for _ in range(2))
    runtime = "exstream-runtime"
    events = [
        StatusInput(str(ok.key), S.DELIVERED, at(1), runtime, f"job-7:{ok.key}:delivered"),
        StatusInput(str(bad.key), S.FAILED, at(1), runtime, f"job-7:{bad.key}:failed",
                    {"reason": "Missing driver field workTitle"}),
    ]  # fmt: skip
    first = message_status_apply(events=events)
    repoll = message_status_apply(events=events)
    ok.refresh_from_db()
    bad.refresh_from_db()
    assert (ok.status, bad.status) == (S.DELIVERED, S.FAILED)
    assert "Missing driver field" in bad.status_detail
    assert (first.recorded, repoll.recorded, repoll.duplicates) == (2, 0, 2)


def test_pulled_email_events_in_overlapping_windows(message):
    """CXI e-mail events are pulled with overlapping windows: the overlap is deduplicated on
    eventId and the window order does not matter."""
    window_2 = [
        StatusInput(str(message.key), S.OPENED, at(5), "exstream-email", "cxi-3"),
        StatusInput(str(message.key), S.DELIVERED, at(2), "exstream-email", "cxi-2"),
    ]
    window_1 = [
        StatusInput(str(message.key), S.SUBMITTED, at(1), "exstream-email", "cxi-1"),
        StatusInput(str(message.key), S.DELIVERED, at(2), "exstream-email", "cxi-2"),
    ]
    message_status_apply(events=window_2)
    result = message_status_apply(events=window_1)
    message.refresh_from_db()
    assert message.status == S.OPENED and message.status_at == at(5)
    assert (result.recorded, result.duplicates) == (1, 1)
    assert MessageEvent.objects.filter(message=message).count() == 3


def test_pushed_webhook_event_redelivered(message):
    """A signed push is stored under its webhook id; a redelivery is a no-op."""
    event = StatusInput(
        str(message.key), S.BOUNCED, at(3), "exstream-webhook", "msg_2Kd9",
        {"schema_type": "Exstream-Email-BOUNCE"},
    )  # fmt: skip
    message_status_apply(events=[event])
    message_status_apply(events=[event])
    message.refresh_from_db()
    assert message.status == S.BOUNCED
    assert message.events.count() == 1
    assert "Exstream-Email-BOUNCE" in message.status_detail


def test_same_event_id_from_two_sources_are_two_events(message):
    message_status_apply(
        events=[
            StatusInput(str(message.key), S.DELIVERED, at(1), "exstream-webhook", "42"),
            StatusInput(str(message.key), S.OPENED, at(2), "exstream-email", "42"),
        ]
    )
    assert message.events.count() == 2


def test_hand_entry_of_returned_mail(message, project_manager, viewer):
    message_status_apply(
        events=[StatusInput(str(message.key), S.DELIVERED, at(1), "exstream-runtime", "d")]
    )
    with pytest.raises(PermissionDenied):
        message_status_record(
            actor=viewer, message=message, status=S.RETURNED, occurred_on=datetime.date(2026, 11, 9)
        )
    with pytest.raises(ValidationError):
        message_status_record(
            actor=project_manager, message=message, status=S.OPENED,
            occurred_on=datetime.date(2026, 11, 9),
        )  # fmt: skip
    message_status_record(
        actor=project_manager,
        message=message,
        status=S.RETURNED,
        occurred_on=datetime.date(2026, 11, 9),
        note="Addressee unknown",
    )
    message.refresh_from_db()
    assert message.status == S.RETURNED
    event = message.events.get(source="hand")
    assert event.recorded_by == project_manager and event.detail["note"] == "Addressee unknown"


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_csv_import_by_key_and_by_email(proof_communication, project_manager):
    a = MessageFactory.create(communication=proof_communication, status=S.SUBMITTED)
    b = MessageFactory.create(
        communication=proof_communication, recipient_email="Ben@Authors.test", status=S.SUBMITTED
    )
    raw = _csv(
        "message_key,recipient_email,communication,status,date,note",
        f"{a.key},,,responded,2026-11-05,Approved",
        f",ben@authors.test,{proof_communication.pk},Returned,2026-11-06,Gone away",
    )
    result = message_status_import_csv(actor=project_manager, raw=raw, filename="post.csv")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (S.RESPONDED, S.RETURNED)
    assert result.rows == 2 and result.applied.recorded == 2
    actions = {x.message_id: x.state for x in ContributorAction.objects.all()}
    assert actions == {a.pk: "responded", b.pk: "undeliverable"}
    # importing the same file again changes nothing
    again = message_status_import_csv(actor=project_manager, raw=raw, filename="post.csv")
    assert again.applied.recorded == 0 and again.applied.duplicates == 2


def test_csv_import_is_all_or_nothing_with_row_errors(proof_communication, project_manager):
    a = MessageFactory.create(communication=proof_communication)
    raw = _csv(
        "message_key,recipient_email,communication,status,date,note",
        f"{a.key},,,responded,2026-11-05,",
        "not-a-key,,,responded,2026-11-05,",
        f"{a.key},,,opened,2026-11-05,",
        f"{a.key},,,returned,05.11.2026,",
        f",nobody@x.test,{proof_communication.pk},returned,2026-11-05,",
        f"{a.key},,,returned,2999-01-01,",
    )
    with pytest.raises(ValidationError) as exc:
        message_status_import_csv(actor=project_manager, raw=raw)
    text = " ".join(exc.value.messages)
    for row in ("Row 3", "Row 4", "Row 5", "Row 6", "Row 7"):
        assert row in text
    assert "Row 2" not in text
    assert not MessageEvent.objects.exists()
    a.refresh_from_db()
    assert a.status == S.GENERATED


def test_csv_import_refuses_other_imprints_messages(imprint_b, project_manager):
    theirs = MessageFactory.create(
        communication=CommunicationFactory.create(work=WorkFactory.create(imprint=imprint_b))
    )
    raw = _csv("message_key,status,date", f"{theirs.key},responded,2026-11-05")
    with pytest.raises(ValidationError, match="may not record"):
        message_status_import_csv(actor=project_manager, raw=raw)
    assert not MessageEvent.objects.exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"status,date\n", "no data rows"),
        (b"message_key,date\n", "lacks status"),
        ("status,date\nresponded,2026-01-01\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_csv_import_bad_files(raw, expected, project_manager):
    with pytest.raises(ValidationError, match=expected):
        message_status_import_csv(actor=project_manager, raw=raw)
