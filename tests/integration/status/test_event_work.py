"""MessageEvent.work (the title the timeline groups by) is written with the row on every insert
path — apply (every Exstream source), hand entry, CSV import, dispatch chunks by SQL and the
portable fallback — and existing rows are backfilled by the migration."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from integration.models import Message, MessageEvent
from integration.status import apply as apply_module
from integration.status.apply import (
    StatusInput,
    message_status_apply,
    message_status_chunk_apply,
    message_status_record,
)
from integration.status.imports import message_status_import_csv
from tests.factories import CommunicationFactory, MessageFactory
from tests.integration.status.conftest import at

S = Message.Status


@pytest.mark.django_db
def test_apply_writes_the_work_and_none_for_orphans_and_titleless(proof_communication, work):
    m = MessageFactory.create(communication=proof_communication)
    loose = MessageFactory.create(
        communication=CommunicationFactory.create(work=None, imprint=work.imprint)
    )
    message_status_apply(
        events=[
            StatusInput(str(m.key), S.DELIVERED, at(1), "exstream-runtime", "a"),
            StatusInput(str(m.key), S.OPENED, at(2), "exstream-email", "b"),
            StatusInput(str(loose.key), S.DELIVERED, at(1), "exstream-webhook", "c"),
            StatusInput(str(uuid.uuid4()), S.DELIVERED, at(1), "exstream-webhook", "d"),
        ]
    )
    works = dict(MessageEvent.objects.values_list("external_event_id", "work_id"))
    assert works == {"a": work.pk, "b": work.pk, "c": None, "d": None}


@pytest.mark.django_db
def test_hand_entry_and_csv_import_write_the_work(message, work, project_manager):
    message_status_record(
        actor=project_manager,
        message=message,
        status=S.RETURNED,
        occurred_on=datetime.date(2026, 11, 9),
    )
    other = MessageFactory.create(communication=message.communication)
    raw = f"message_key,status,date\n{other.key},responded,2026-11-05\n".encode()
    message_status_import_csv(actor=project_manager, raw=raw)
    assert set(MessageEvent.objects.values_list("source", "work_id")) == {
        ("hand", work.pk),
        ("csv", work.pk),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("portable", [False, True])
def test_dispatch_chunks_write_the_work(proof_communication, work, monkeypatch, portable):
    if portable:  # the path for databases without the INSERT … SELECT
        monkeypatch.setattr(apply_module, "_key_text", lambda column: None)
    for _ in range(3):
        MessageFactory.create(communication=proof_communication, chunk=1)
    MessageFactory.create(communication=proof_communication, chunk=2)
    message_status_chunk_apply(
        communication_id=proof_communication.pk,
        chunk=1,
        status=S.SUBMITTED,
        from_statuses=[S.GENERATED],
        event_id="submitted:x",
        occurred_at=timezone.now(),
    )
    assert list(MessageEvent.objects.values_list("work_id", flat=True)) == [work.pk] * 3


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_the_work_of_existing_events():
    before = [("integration", "0022_contact_consent")]
    after = [("integration", "0023_message_event_work")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Imprint = old.get_model("accounts", "Imprint")
    CommunicationType = old.get_model("integration", "CommunicationType")
    Communication = old.get_model("integration", "Communication")
    Work = old.get_model("integration", "Work")
    OldMessage = old.get_model("integration", "Message")
    OldEvent = old.get_model("integration", "MessageEvent")
    imprint = Imprint.objects.create(name="Harbour", code="harbour-w", consonance_id=19)
    ctype = CommunicationType.objects.create(code="t-w", name="T", category="marketing", flow=1)
    title = Work.objects.create(consonance_id=77, imprint=imprint, title="Backfilled")
    about = Communication.objects.create(
        imprint=imprint, communication_type=ctype, name="C", work=title
    )
    loose = Communication.objects.create(imprint=imprint, communication_type=ctype, name="L")
    rows = []
    for n, comm in enumerate([about, about, loose]):
        msg = OldMessage.objects.create(
            communication=comm, key=uuid.uuid4(), sequence=n, channel="email", payload_hash="x"
        )
        rows.append((msg, f"e{n}"))
    when = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
    for msg, ext in rows:
        OldEvent.objects.create(
            message=msg,
            message_key=str(msg.key),
            status="delivered",
            occurred_at=when,
            source="csv",
            external_event_id=ext,
        )
    OldEvent.objects.create(
        message_key="ghost",
        status="opened",
        occurred_at=when,
        source="csv",
        external_event_id="orphan",
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    NewEvent = new.get_model("integration", "MessageEvent")
    works = dict(NewEvent.objects.values_list("external_event_id", "work_id"))
    assert works == {"e0": title.pk, "e1": title.pk, "e2": None, "orphan": None}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
