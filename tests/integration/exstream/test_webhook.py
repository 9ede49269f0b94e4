"""POST /api/v1/webhooks/exstream/: the Standard Webhooks signature matrix, storage, dedupe
and processing (replaying a recorded CXI e-mail event payload)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.test import Client

from integration.connectors.exstream.webhooks import SANDBOX_EVENTS_SECRET, configured_secrets, sign
from integration.models import InboundEvent, MessageEvent

URL = "/api/v1/webhooks/exstream/"
OLD = "whsec_" + base64.b64encode(b"old-secret-rotating-out-000000").decode()
NEW = "whsec_" + base64.b64encode(b"new-secret-rotating-in-1111111").decode()

# A recorded CXI e-mail event (shape from the Exstream EventJSON help page).
OPENED = {
    "expctr": {
        "schemaVersion": "1.0",
        "schemaType": "Exstream-Email-OPEN",
        "schemaSource": "Exstream",
        "tenant": "colophon",
        "eventId": "cxi-1",
        "eventDate": 1795000000000,
    },
    "exstreamEmailStatistics": {
        "creationTime": 1795000000000,
        "emailProvider": "OT",
        "customerEmailId": "ada@example.test",
        "campaignId": "c1",
        "domain": "production",
        "communicationId": "comm-1",
        "eventType": "OPEN",
    },
    "user": {"customerKey": "msg-77", "email": "ada@example.test"},
}


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.EXSTREAM_EVENTS_SECRET = f"{NEW},{OLD}"


def post(body, *, msg_id="msg_1", secret=NEW, ts_offset=0, drop=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) + ts_offset
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(ts),
        "HTTP_WEBHOOK_SIGNATURE": signature or sign(secret, msg_id, ts, raw),
    }
    if drop:
        headers.pop(drop)
    return Client().post(URL, raw, content_type="application/json", **headers)


@pytest.mark.django_db
def test_good_event_is_stored_and_processed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(OPENED)
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert (event.source, event.event_id, event.event_type) == (
        "exstream",
        "msg_1",
        "Exstream-Email-OPEN",
    )
    assert event.processed_at is not None and event.processing_error == ""
    assert "webhook-signature" not in event.headers
    status = MessageEvent.objects.get()
    assert (status.message_key, status.status, status.source) == (
        "msg-77",
        "opened",
        "exstream-webhook",
    )


@pytest.mark.django_db
def test_rotated_secret_is_accepted(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(OPENED, secret=OLD).status_code == 202
    assert MessageEvent.objects.count() == 1


@pytest.mark.django_db
def test_replayed_id_is_answered_200_and_not_processed_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(OPENED).status_code == 202
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(OPENED)
    assert response.status_code == 200 and response.json()["status"] == "duplicate"
    assert callbacks == []
    assert InboundEvent.objects.count() == 1 and MessageEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "whsec_" + base64.b64encode(b"somebody-elses-secret").decode()},
        {"signature": "v1,bm90LWEtc2lnbmF0dXJl"},
        {"ts_offset": -310},
        {"ts_offset": 310},
        {"drop": "HTTP_WEBHOOK_ID"},
        {"drop": "HTTP_WEBHOOK_TIMESTAMP"},
        {"drop": "HTTP_WEBHOOK_SIGNATURE"},
    ],
    ids=["wrong-secret", "bad-signature", "stale", "future", "no-id", "no-timestamp", "no-sig"],
)
def test_bad_signatures_are_refused_and_nothing_is_stored(kwargs):
    response = post(OPENED, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_signature_over_a_different_body_is_refused():
    signature = sign(NEW, "msg_1", int(time.time()), b'{"other": 1}')
    assert post(OPENED, signature=signature).status_code == 401
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_oversized_body_is_413():
    big = {"padding": "x" * (256 * 1024)}
    response = post(big)
    assert response.status_code == 413
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_invalid_json_is_400_and_not_stored():
    response = post(b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_unknown_event_type_is_logged_and_answered_2xx(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post({"expctr": {"schemaType": "Something-New"}}, msg_id="msg_9")
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert "Unknown event type" in event.processing_error
    assert MessageEvent.objects.count() == 0


@pytest.mark.django_db
def test_event_without_customer_key_records_the_problem(django_capture_on_commit_callbacks):
    body = {"expctr": {"schemaType": "Exstream-Email-POST"}, "user": {}}
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body).status_code == 202
    assert "customer key" in InboundEvent.objects.get().processing_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("schema_type", "status"),
    [
        ("Exstream-Generated", "generated"),
        ("Exstream-Email-Submit", "submitted"),
        ("Exstream-Email-NDLV", "not_delivered"),
        ("Exstream-Print-Failed", "failed"),
        ("Exstream-Print", "delivered"),
    ],
)
def test_schema_types_map_to_statuses(schema_type, status, django_capture_on_commit_callbacks):
    body = {"expctr": {"schemaType": schema_type}, "user": {"customerId": "m-5"}}
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body).status_code == 202
    assert MessageEvent.objects.get().status == status


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_sandbox_default_secret_only_without_a_real_exstream(settings):
    settings.EXSTREAM_EVENTS_SECRET = ""
    settings.EXSTREAM_URL = ""
    assert configured_secrets() == [SANDBOX_EVENTS_SECRET]
    settings.EXSTREAM_URL = "https://exstream.example"
    assert configured_secrets() == []


# --- issue 12: encodings and future-dated outcomes ------------------------------------------

OUTCOME = {
    "type": "customer_service.outcome",
    "id": "evt_9",
    "occurredAt": "2026-01-05T10:00:00Z",
    "data": {
        "caseReference": "CS-1",
        "issueType": "delay",
        "isbn": "9781908435500",
        "outcome": "accepted",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_body_is_400_with_a_clear_error_and_not_stored(encoding):
    response = post(json.dumps(OPENED).encode(encoding))
    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]["message"]
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_a_utf8_bom_body_is_accepted_and_processed(django_capture_on_commit_callbacks):
    from integration.models import CustomerServiceOutcome

    with django_capture_on_commit_callbacks(execute=True):
        response = post(b"\xef\xbb\xbf" + json.dumps(OUTCOME).encode())
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.processing_error == "" and event.processed_at is not None
    assert CustomerServiceOutcome.objects.get().case_reference == "CS-1"


@pytest.mark.django_db
def test_a_future_dated_outcome_is_refused_by_the_webhook(django_capture_on_commit_callbacks):
    """Stored raw first (as every event), then refused when applied, as the CSV import refuses
    it: no outcome, and the reason on the event."""
    from integration.models import CustomerServiceOutcome

    with django_capture_on_commit_callbacks(execute=True):
        response = post({**OUTCOME, "occurredAt": "2099-01-01T00:00:00Z"})
    assert response.status_code == 202
    assert "in the future" in InboundEvent.objects.get().processing_error
    assert not CustomerServiceOutcome.objects.exists()
