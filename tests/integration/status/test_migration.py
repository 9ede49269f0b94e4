"""The Exstream branch's raw status events are folded into MessageEvent by the migration
(one table, not two): rows survive, linked to their message when the key matches."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("integration", "0008_compose")]
AFTER = [("integration", "0009_status")]


def test_status_events_are_copied_into_message_events():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Imprint = old.get_model("accounts", "Imprint")
    CommunicationType = old.get_model("integration", "CommunicationType")
    Communication = old.get_model("integration", "Communication")
    Message = old.get_model("integration", "Message")
    Old = old.get_model("integration", "MessageStatusEvent")
    imprint = Imprint.objects.create(name="Harbour", code="harbour-m", consonance_id=9)
    ctype = CommunicationType.objects.create(code="t-m", name="T", category="marketing", flow=1)
    comm = Communication.objects.create(imprint=imprint, communication_type=ctype, name="C")
    key = uuid.uuid4()
    message = Message.objects.create(
        communication=comm, key=key, sequence=1, channel="email", payload_hash="x"
    )
    when = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
    Old.objects.create(message_key=str(key), status="delivered", occurred_at=when,
                       source="exstream-runtime", external_event_id="j:1")  # fmt: skip
    Old.objects.create(message_key="ghost", status="opened", occurred_at=when,
                       source="exstream-email", external_event_id="cxi-1")  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    MessageEvent = new.get_model("integration", "MessageEvent")
    rows = {e.external_event_id: e for e in MessageEvent.objects.all()}
    assert set(rows) == {"j:1", "cxi-1"}
    assert rows["j:1"].message_id == message.pk and rows["j:1"].status == "delivered"
    assert rows["cxi-1"].message_id is None and rows["cxi-1"].message_key == "ghost"
    # back to the latest state for the other tests
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
