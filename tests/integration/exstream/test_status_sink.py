from __future__ import annotations

import pytest
from django.utils import timezone

from integration.connectors.exstream.events import StatusEvent, status_for_schema_type
from integration.models import MessageEvent
from integration.status.sink import deliver_status_events


@pytest.mark.django_db
def test_the_same_event_twice_changes_nothing():
    event = StatusEvent(
        message_key="m1",
        status="delivered",
        occurred_at=timezone.now(),
        source="exstream-runtime",
        external_event_id="job:m1:delivered",
    )
    assert deliver_status_events([event, event]) == 1
    assert deliver_status_events([event]) == 0
    assert MessageEvent.objects.count() == 1


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="Unknown message status"):
        StatusEvent(
            message_key="m",
            status="teleported",
            occurred_at=timezone.now(),
            source="x",
            external_event_id="1",
        )


def test_schema_type_mapping_refuses_foreign_types():
    assert status_for_schema_type("Other-Thing") is None
    assert status_for_schema_type("Exstream-Email-WHATEVER") is None
