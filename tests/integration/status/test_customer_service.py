"""Customer-service outcomes: CSV and webhook ingestion linked by ISBN, the recurring-issues
report checked against hand-computed figures, its chart and export, and access."""

from __future__ import annotations

import csv
import datetime
import io
import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from integration.models import CustomerServiceOutcome
from integration.selectors.status import customer_service_report
from integration.status.customer_service import (
    EVENT_TYPE,
    OutcomeInput,
    customer_service_events_ingest,
    customer_service_import_csv,
    customer_service_outcomes_ingest,
    customer_service_webhook_handler,
)
from tests.factories import CommunicationFactory, MessageFactory, ProductFactory, WorkFactory

pytestmark = pytest.mark.django_db
IT = CustomerServiceOutcome.IssueType


@pytest.fixture
def salt_road(imprint_a):
    return ProductFactory.create(
        work=WorkFactory.create(imprint=imprint_a, title="The Salt Road"), isbn13="9781908435500"
    )


@pytest.fixture
def harbour(imprint_a):
    return ProductFactory.create(
        work=WorkFactory.create(imprint=imprint_a, title="Harbour Nights"), isbn13="9780000000011"
    )


def _at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def _outcome(isbn, issue, day, n, outcome="accepted"):
    return OutcomeInput(isbn, issue, f"CS-{n}", outcome, _at(day), "csv", f"csv:{n}")


@pytest.fixture
def outcomes(salt_road, harbour, imprint_b):
    theirs = ProductFactory.create(
        work=WorkFactory.create(imprint=imprint_b), isbn13="9789999999991"
    )
    customer_service_outcomes_ingest(
        outcomes=[
            _outcome("9781908435500", IT.DELAY, "2026-09-03", 1),
            _outcome("9781908435500", IT.DELAY, "2026-09-20", 2, "cancelled"),
            _outcome("9781908435500", IT.DELAY, "2026-11-05", 3),
            _outcome("9781908435500", IT.OUT_OF_STOCK, "2026-10-10", 4, "refunded"),
            _outcome("9780000000011", IT.DELAY, "2026-10-01", 5),
            _outcome("9780000000011", IT.FORMAT_SUBSTITUTION, "2026-11-30", 6, "substituted"),
            _outcome(theirs.isbn13, IT.DELAY, "2026-10-02", 7),
        ]
    )


def test_report_figures_match_hand_counts(outcomes, project_manager):
    report = customer_service_report(user=project_manager)
    assert [m.isoformat() for m in report.months] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert [(r.title, r.issue_type, r.counts, r.total, r.recurring) for r in report.rows] == [
        ("The Salt Road", "delay", [2, 0, 1], 3, True),
        ("Harbour Nights", "delay", [0, 1, 0], 1, False),
        ("Harbour Nights", "format_substitution", [0, 0, 1], 1, False),
        ("The Salt Road", "out_of_stock", [0, 1, 0], 1, False),
    ]
    assert report.total == 6  # imprint B's outcome is not counted
    assert report.month_totals == {
        "delay": [2, 1, 1],
        "out_of_stock": [0, 1, 0],
        "format_substitution": [0, 0, 1],
    }
    # every month stacks to 2: the tallest bar spans the 200-unit plot, one outcome = 100
    chart = report.chart
    assert chart.max_value == 2
    september = [b for b in chart.bars if b.label.startswith("Sep 2026")]
    assert [(b.css, b.height, b.y) for b in september] == [("bar-delay", 200.0, 20.0)]
    october = [(b.css, b.height, b.y) for b in chart.bars if b.label.startswith("Oct 2026")]
    assert october == [("bar-delay", 100.0, 120.0), ("bar-stock", 100.0, 20.0)]


def test_report_filters(outcomes, project_manager):
    delay = customer_service_report(user=project_manager, issue_type=IT.DELAY)
    assert delay.total == 4
    autumn = customer_service_report(
        user=project_manager,
        date_from=datetime.date(2026, 10, 1),
        date_to=datetime.date(2026, 10, 31),
    )
    assert autumn.total == 2 and [m.month for m in autumn.months] == [10]


def test_report_screen_renders_svg_and_exports_csv(outcomes, viewer, login):
    client = login(viewer)
    page = client.get(reverse("reports:customer_service"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and 'class="bar bar-delay"' in body and "style=" not in body
    assert "The Salt Road" in body and "recurring" in body
    response = client.get(reverse("reports:customer_service_export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["title", "issue_type", "2026-09", "2026-10", "2026-11", "total"]
    assert rows[1] == ["The Salt Road", "Delay", "2", "0", "1", "3"]
    assert len(rows) == 5


def test_outsider_sees_only_their_imprint(outcomes, outsider, login):
    report = customer_service_report(user=outsider)
    assert report.total == 1
    body = login(outsider).get(reverse("reports:customer_service")).content.decode()
    assert "The Salt Road" not in body
    api = login(outsider).get("/api/v1/customer-service-outcomes/").json()
    assert [r["case_reference"] for r in api["results"]] == ["CS-7"]


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


HEADER = "isbn,issue_type,case_reference,outcome,date,note"


def test_csv_import_links_by_isbn_with_hyphens(salt_road, imprint_a, marketing):
    raw = _csv(
        HEADER,
        "978-1-908435-50-0,Out of stock,CS-881,Refunded,2026-10-10,=SUM(A1)",
        "978-1908435500,delay-notice,CS-882,accepted,2026-10-11,",
    )
    created, known = customer_service_import_csv(
        actor=marketing, imprint_id=imprint_a.pk, raw=raw, filename="cases.csv"
    )
    assert (created, known) == (2, 0)
    first = CustomerServiceOutcome.objects.get(case_reference="CS-881")
    assert first.work == salt_road.work and first.product == salt_road
    assert (first.issue_type, first.outcome) == (IT.OUT_OF_STOCK, "refunded")
    assert first.communication_type.code == "out-of-stock-notice"
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (0, 2)


def test_csv_import_all_or_nothing(salt_road, imprint_a, imprint_b, marketing):
    theirs = ProductFactory.create(
        work=WorkFactory.create(imprint=imprint_b), isbn13="9789999999991"
    )
    raw = _csv(
        HEADER,
        "9781908435500,delay,CS-1,accepted,2026-10-10,",
        f"{theirs.isbn13},delay,CS-2,accepted,2026-10-10,",
        "12345,delay,CS-3,accepted,2026-10-10,",
        "9781908435500,flood,CS-4,accepted,2026-10-10,",
        "9781908435500,delay,,maybe,tomorrow,",
    )
    with pytest.raises(ValidationError) as exc:
        customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw)
    text = " ".join(exc.value.messages)
    assert "Row 2" not in text
    assert "Row 3: no title in this imprint" in text
    assert "Row 4: ISBN '12345'" in text
    assert "Row 5: issue_type 'flood'" in text
    assert "case_reference is empty" in text and "outcome 'maybe'" in text
    assert not CustomerServiceOutcome.objects.exists()


def test_csv_import_needs_import_permission(salt_road, imprint_a, viewer, outsider):
    raw = _csv(HEADER, "9781908435500,delay,CS-1,accepted,2026-10-10,")
    for user in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            customer_service_import_csv(actor=user, imprint_id=imprint_a.pk, raw=raw)


def test_import_screen(salt_road, imprint_a, marketing, viewer, login):
    assert login(viewer).get(reverse("reports:customer_service_import")).status_code == 403
    client = login(marketing)
    assert client.get(reverse("reports:customer_service_import")).status_code == 200
    upload = io.BytesIO(_csv(HEADER, "9781908435500,delay,CS-1,accepted,2026-10-10,"))
    upload.name = "cases.csv"
    response = client.post(
        reverse("reports:customer_service_import"), {"imprint": imprint_a.pk, "file": upload}
    )
    assert response.status_code == 302
    bad = io.BytesIO(_csv(HEADER, "9781908435500,delay,CS-1,accepted,someday,"))
    bad.name = "bad.csv"
    response = client.post(
        reverse("reports:customer_service_import"), {"imprint": imprint_a.pk, "file": bad}
    )
    assert response.status_code == 400 and "Nothing was imported" in response.content.decode()
    assert CustomerServiceOutcome.objects.count() == 1


WEBHOOK_BODY: dict[str, Any] = {
    "type": EVENT_TYPE,
    "id": "evt_77",
    "occurredAt": "2026-11-02T10:15:00Z",
    "data": {
        "caseReference": "CS-10442",
        "issueType": "format_substitution",
        "isbn": "978-1-908435-50-0",
        "outcome": "substituted",
        "note": "Paperback instead of hardback",
    },
}


def test_webhook_handler_stores_the_outcome_once(salt_road):
    inbound = SimpleNamespace(
        event_id="msg_1", received_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
    )
    assert customer_service_webhook_handler(WEBHOOK_BODY, inbound) == []
    assert customer_service_webhook_handler(WEBHOOK_BODY, inbound) == []
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.source_event_id == "exstream-webhook:evt_77"
    assert outcome.work == salt_road.work and outcome.imprint_id == salt_road.work.imprint_id
    assert outcome.occurred_at == datetime.datetime(2026, 11, 2, 10, 15, tzinfo=datetime.UTC)


def test_webhook_handler_rejects_bad_shapes_readably(salt_road):
    inbound = SimpleNamespace(event_id="m", received_at=datetime.datetime.now(datetime.UTC))
    for data, message in [
        ({**WEBHOOK_BODY["data"], "isbn": "n/a"}, "not an ISBN-13"),
        ({**WEBHOOK_BODY["data"], "issueType": "weather"}, "issueType must be"),
        ({**WEBHOOK_BODY["data"], "caseReference": ""}, "caseReference is empty"),
    ]:
        with pytest.raises(ValueError, match=message):
            customer_service_webhook_handler({**WEBHOOK_BODY, "data": data}, inbound)
    assert not CustomerServiceOutcome.objects.exists()


def test_unknown_isbn_is_kept_unlinked():
    created = customer_service_events_ingest(
        bodies=[
            json.dumps({**WEBHOOK_BODY, "data": {**WEBHOOK_BODY["data"], "isbn": "9780000009999"}})
        ],
        source="exstream-email",
    )
    outcome = CustomerServiceOutcome.objects.get()
    assert created == 1 and outcome.work is None and outcome.imprint is None


# --- issue 12: no import crosses an imprint; no future outcomes --------------------------


@pytest.fixture
def shared_isbn(salt_road, imprint_b):
    """Northwind holds a title with Harbour Lights' ISBN (as a duplicate in Consonance could)."""
    return ProductFactory.create(
        work=WorkFactory.create(imprint=imprint_b, title="Northwind copy"),
        isbn13=salt_road.isbn13,
    )


def test_csv_import_by_isbn_links_to_this_imprints_title_only(
    salt_road, shared_isbn, imprint_a, imprint_b, marketing, outsider
):
    raw = _csv(HEADER, "9781908435500,delay,CS-1,accepted,2026-10-10,")
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (
        1,
        0,
    )
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.work == salt_road.work and outcome.imprint == imprint_a
    # Northwind imports the same row for its own title: its own outcome, Harbour's untouched.
    customer_service_import_csv(
        actor=outsider,
        imprint_id=imprint_b.pk,
        raw=_csv(HEADER, "9781908435500,delay,CS-9,accepted,2026-10-10,"),
    )
    assert CustomerServiceOutcome.objects.get(case_reference="CS-9").work == shared_isbn.work
    outcome.refresh_from_db()
    assert outcome.work == salt_road.work and outcome.imprint == imprint_a


def test_csv_import_refuses_an_isbn_only_another_imprint_has(salt_road, imprint_b, outsider):
    raw = _csv(HEADER, "9781908435500,delay,CS-1,accepted,2026-10-10,")
    with pytest.raises(ValidationError, match="no title in this imprint has the ISBN"):
        customer_service_import_csv(actor=outsider, imprint_id=imprint_b.pk, raw=raw)
    assert not CustomerServiceOutcome.objects.exists()


def test_csv_import_refuses_an_event_id_of_another_imprint(
    salt_road, shared_isbn, imprint_a, imprint_b, marketing, outsider
):
    """By source id: Northwind's file reuses the event id of Harbour Lights' outcome."""
    header = HEADER + ",event_id"
    customer_service_import_csv(
        actor=marketing,
        imprint_id=imprint_a.pk,
        raw=_csv(header, "9781908435500,delay,CS-1,accepted,2026-10-10,,evt-1"),
    )
    with pytest.raises(ValidationError, match="event_id 'evt-1' is an outcome of another imprint"):
        customer_service_import_csv(
            actor=outsider,
            imprint_id=imprint_b.pk,
            raw=_csv(header, "9781908435500,delay,CS-1,refunded,2026-10-10,,evt-1"),
        )
    outcome = CustomerServiceOutcome.objects.get()
    assert (outcome.imprint, outcome.outcome) == (imprint_a, "accepted")


def test_webhook_outcome_for_a_shared_isbn_lands_in_no_imprint(salt_road, shared_isbn):
    inbound = SimpleNamespace(
        event_id="msg_1", received_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
    )
    customer_service_webhook_handler(WEBHOOK_BODY, inbound)
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.imprint is None and outcome.work is None


def test_webhook_refuses_outcomes_dated_in_the_future(salt_road):
    inbound = SimpleNamespace(
        event_id="msg_1", received_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
    )
    body = {**WEBHOOK_BODY, "occurredAt": "2099-01-01T00:00:00Z"}
    with pytest.raises(ValueError, match="is in the future"):
        customer_service_webhook_handler(body, inbound)
    assert not CustomerServiceOutcome.objects.exists()


def test_blank_lines_count_against_the_csv_row_limit(salt_road, imprint_a, marketing, monkeypatch):
    from integration.lib import csv as csv_lib

    monkeypatch.setattr(csv_lib, "MAX_CSV_ROWS", 10)
    raw = _csv(
        HEADER,
        "9781908435500,delay,CS-1,accepted,2026-10-10,",
        *([""] * 100),
        "9781908435500,delay,CS-2,accepted,2026-10-10,",
    )
    with pytest.raises(ValidationError, match="blank rows count too"):
        customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw)
    assert not CustomerServiceOutcome.objects.exists()


# --- the optional message_key column (Colophon's own message key) ------------------------------

KEYED = "isbn,issue_type,case_reference,outcome,date,note,message_key"


@pytest.fixture
def salt_road_message(salt_road):
    """A delay notice about The Salt Road, sent to one customer."""
    return MessageFactory.create(
        communication=CommunicationFactory.create(work=salt_road.work, product=salt_road)
    )


def test_csv_import_links_a_keyed_row_to_its_message_and_title(
    salt_road, salt_road_message, harbour, imprint_a, marketing
):
    key = str(salt_road_message.key)
    raw = _csv(
        KEYED,
        f",delay,CS-1,accepted,2026-10-10,,{key}",  # the key alone: the title is the message's
        f"978-1-908435-50-0,delay,CS-2,cancelled,2026-10-11,,{key.upper()}",  # both, agreeing
        "9780000000011,delay,CS-3,accepted,2026-10-12,,",  # no key: by ISBN, as before
    )
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (3, 0)
    by_case = {o.case_reference: o for o in CustomerServiceOutcome.objects.all()}
    for case in ("CS-1", "CS-2"):
        o = by_case[case]
        assert o.message == salt_road_message and o.work == salt_road.work
        assert o.product == salt_road and o.isbn13 == salt_road.isbn13 and o.imprint == imprint_a
    assert by_case["CS-3"].message is None and by_case["CS-3"].work == harbour.work
    # the same file again changes nothing
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (0, 3)


def test_csv_import_with_only_a_message_key_column(salt_road_message, imprint_a, marketing):
    raw = _csv(
        "message_key,issue_type,case_reference,outcome,date",
        f"{salt_road_message.key},out_of_stock,CS-7,refunded,2026-10-10",
    )
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (1, 0)
    assert CustomerServiceOutcome.objects.get().message == salt_road_message


def test_csv_import_keyed_message_of_a_communication_without_product(
    salt_road, imprint_a, marketing
):
    message = MessageFactory.create(communication=CommunicationFactory.create(work=salt_road.work))
    raw = _csv(KEYED, f",delay,CS-1,accepted,2026-10-10,,{message.key}")
    assert customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw) == (1, 0)
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.message == message and outcome.work == salt_road.work
    assert outcome.product is None and outcome.imprint == imprint_a


def test_csv_import_refuses_bad_and_unknown_keys_and_mismatched_isbns(
    salt_road, salt_road_message, harbour, imprint_a, marketing
):
    raw = _csv(
        KEYED,
        "9781908435500,delay,CS-1,accepted,2026-10-10,,not-a-key",
        f"9781908435500,delay,CS-2,accepted,2026-10-10,,{uuid.uuid4()}",
        f"{harbour.isbn13},delay,CS-3,accepted,2026-10-10,,{salt_road_message.key}",
        ",delay,CS-4,accepted,2026-10-10,,",
        f"9781908435500,delay,CS-5,accepted,2026-10-10,,{salt_road_message.key}",  # fine
    )
    with pytest.raises(ValidationError) as exc:
        customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw)
    text = " ".join(exc.value.messages)
    assert "Row 2: message_key 'not-a-key' is not a Colophon message key" in text
    assert "Row 3: no message of this imprint has the key" in text
    assert f"Row 4: the ISBN {harbour.isbn13} is not the title of message" in text
    assert "Row 5: give the isbn or the message_key" in text
    assert "Row 6" not in text
    assert not CustomerServiceOutcome.objects.exists()


def test_csv_import_refuses_another_imprints_message_key(
    salt_road, salt_road_message, shared_isbn, imprint_a, imprint_b, outsider
):
    """Northwind's file names Harbour Lights' message, even with Northwind's own copy of the
    ISBN: an error row, reading the same as an unknown key; nothing is stored or linked."""
    for isbn in ("", shared_isbn.isbn13):
        raw = _csv(KEYED, f"{isbn},delay,CS-1,accepted,2026-10-10,,{salt_road_message.key}")
        with pytest.raises(ValidationError) as exc:
            customer_service_import_csv(actor=outsider, imprint_id=imprint_b.pk, raw=raw)
        # the same answer as for an unknown key: nothing of the message (its ISBN, its title)
        assert exc.value.messages == [
            f"Row 2: no message of this imprint has the key '{salt_road_message.key}'."
        ]
    assert not CustomerServiceOutcome.objects.exists()


def test_csv_import_needs_an_isbn_or_message_key_column(salt_road, imprint_a, marketing):
    raw = _csv("issue_type,case_reference,outcome,date", "delay,CS-1,accepted,2026-10-10")
    with pytest.raises(ValidationError, match="lacks isbn"):
        customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw)


def test_webhook_with_a_message_key_and_an_ambiguous_isbn_goes_to_the_messages_title(
    salt_road, salt_road_message, shared_isbn, imprint_a
):
    body = {
        **WEBHOOK_BODY,
        "data": {**WEBHOOK_BODY["data"], "messageKey": str(salt_road_message.key)},
    }
    inbound = SimpleNamespace(
        event_id="msg_1", received_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
    )
    customer_service_webhook_handler(body, inbound)
    outcome = CustomerServiceOutcome.objects.get()
    assert outcome.message == salt_road_message
    assert outcome.work == salt_road.work and outcome.imprint == imprint_a


# --- the outcome API shows the linked message, within the caller's imprints -------------------


def test_api_shows_the_message_an_imported_outcome_is_linked_to(
    salt_road, salt_road_message, imprint_a, marketing, viewer, login
):
    raw = _csv(
        KEYED,
        f",delay,CS-1,accepted,2026-10-10,,{salt_road_message.key}",
        "9781908435500,delay,CS-2,accepted,2026-10-11,,",  # by ISBN only
    )
    customer_service_import_csv(actor=marketing, imprint_id=imprint_a.pk, raw=raw)
    results = login(viewer).get("/api/v1/customer-service-outcomes/").json()["results"]
    by_case = {r["case_reference"]: r for r in results}
    communication = salt_road_message.communication
    assert by_case["CS-1"]["message"] == {
        "key": str(salt_road_message.key),
        "communication": communication.pk,
        "communication_name": communication.name,
    }
    assert by_case["CS-2"]["message"] is None
    detail = login(viewer).get(f"/api/v1/customer-service-outcomes/{by_case['CS-1']['id']}/")
    assert detail.json()["message"]["key"] == str(salt_road_message.key)
    # the id is the one the communications API takes
    linked = login(viewer).get(f"/api/v1/communications/{communication.pk}/")
    assert linked.status_code == 200 and linked.json()["name"] == communication.name


def test_api_never_shows_a_message_of_an_imprint_the_caller_has_no_role_in(
    salt_road, imprint_a, imprint_b, viewer, outsider, login
):
    """An outcome of imprint A linked (however it came about) to imprint B's message: A's
    viewer sees the outcome but not B's message; B's user does not see A's outcome at all."""
    theirs = MessageFactory.create(
        communication=CommunicationFactory.create(
            work=WorkFactory.create(imprint=imprint_b), name="Northwind secret notice"
        )
    )
    outcome = CustomerServiceOutcome.objects.create(
        imprint=imprint_a,
        work=salt_road.work,
        product=salt_road,
        issue_type=IT.DELAY,
        message=theirs,
        isbn13=salt_road.isbn13,
        case_reference="CS-9",
        outcome="accepted",
        occurred_at=_at("2026-10-10"),
        source="csv",
        source_event_id="csv:cross",
    )
    response = login(viewer).get(f"/api/v1/customer-service-outcomes/{outcome.pk}/")
    assert response.status_code == 200 and response.json()["message"] is None
    assert "Northwind secret notice" not in response.content.decode()
    assert str(theirs.key) not in response.content.decode()
    them = login(outsider)
    assert them.get(f"/api/v1/customer-service-outcomes/{outcome.pk}/").status_code == 404
    assert them.get("/api/v1/customer-service-outcomes/").json()["results"] == []


def test_openapi_documents_the_linked_message_of_an_outcome():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    message = components["CustomerServiceOutcome"]["properties"]["message"]
    assert message.get("nullable") is True and message.get("readOnly") is True
    ref = next(part["$ref"] for part in message.get("allOf", [message]) if "$ref" in part).rsplit(
        "/", 1
    )[-1]
    assert set(components[ref]["properties"]) == {"key", "communication", "communication_name"}
    assert components[ref]["properties"]["key"]["format"] == "uuid"
