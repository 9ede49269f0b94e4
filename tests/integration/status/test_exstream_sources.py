"""The Exstream connector's sources reach message status through the one sink: a pushed,
signed webhook moves a message, a redelivery changes nothing, and a customer-service outcome
event is stored against its title."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest
from django.test import Client

from integration.connectors.exstream.events import StatusEvent
from integration.connectors.exstream.webhooks import sign
from integration.models import ContributorAction, CustomerServiceOutcome, InboundEvent, Message
from integration.status.sink import deliver_status_events
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXN0YXR1cy1icmFuY2g="
URL = "/api/v1/webhooks/exstream/"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.EXSTREAM_EVENTS_SECRET = SECRET


def push(body: dict, msg_id: str):
    raw = json.dumps(body).encode()
    ts = int(time.time())
    return Client().post(
        URL,
        raw,
        content_type="application/json",
        HTTP_WEBHOOK_ID=msg_id,
        HTTP_WEBHOOK_TIMESTAMP=str(ts),
        HTTP_WEBHOOK_SIGNATURE=sign(SECRET, msg_id, ts, raw),
    )


def email_event(key: str, kind: str, epoch_ms: int) -> dict:
    return {
        "expctr": {"schemaType": f"Exstream-Email-{kind}", "eventId": f"cxi-{kind}",
                   "eventDate": epoch_ms},
        "exstreamEmailStatistics": {"creationTime": epoch_ms, "communicationId": "c"},
        "user": {"customerKey": key},
    }  # fmt: skip


def test_pushed_events_move_the_message_monotonically(message, django_capture_on_commit_callbacks):
    opened_at = 1_795_000_000_000
    with django_capture_on_commit_callbacks(execute=True):
        assert push(email_event(str(message.key), "OPEN", opened_at), "wh-2").status_code == 202
        # an earlier "submit" pushed late, and a redelivery of the open
        assert (
            push(email_event(str(message.key), "Submit", opened_at - 60_000), "wh-1").status_code
            == 202
        )
        assert push(email_event(str(message.key), "OPEN", opened_at), "wh-2").status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.OPENED
    assert message.status_at == datetime.datetime.fromtimestamp(opened_at / 1000, datetime.UTC)
    assert message.events.count() == 2
    assert ContributorAction.objects.filter(message=message).exists()


def test_sink_applies_connector_events(message):
    event = StatusEvent(
        message_key=str(message.key),
        status="delivered",
        occurred_at=datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC),
        source="exstream-runtime",
        external_event_id=f"job-1:{message.key}:delivered",
    )
    assert deliver_status_events([event, event]) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_customer_service_outcome_webhook(imprint_a, django_capture_on_commit_callbacks):
    product = ProductFactory.create(work__imprint=imprint_a, isbn13="9781908435500")
    body: dict[str, Any] = {
        "type": "customer_service.outcome",
        "occurredAt": "2026-11-02T10:15:00Z",
        "data": {"caseReference": "CS-9", "issueType": "delay", "isbn": "978-1-908435-50-0",
                 "outcome": "no_response"},
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert push(body, "wh-cs-1").status_code == 202
        bad = {**body, "data": {**body["data"], "issueType": "storm"}}
        assert push(bad, "wh-cs-2").status_code == 202
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.work == product.work and outcome.source_event_id == "exstream-webhook:wh-cs-1"
    failed = InboundEvent.objects.get(event_id="wh-cs-2")
    assert "issueType must be" in failed.processing_error
