"""The per-title correspondence timeline: every source, newest first, keyset paging with a
constant number of queries, filters, CSV export and access."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.audit import log_action
from accounts.models import AuditEvent
from integration.models import Approval, ChangeEvent, Message, OutboxAttempt, WritebackRecord
from integration.selectors.timeline import TimelineFilters, title_timeline
from integration.status.apply import StatusInput, message_status_apply
from tests.factories import MessageFactory, WorkFactory
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status


def _stamp(model, pk, field, when):
    model.objects.filter(pk=pk).update(**{field: when})


@pytest.fixture
def busy_title(work, proof_communication, project_manager, imprint_a):
    """One of each kind of entry, an hour apart, oldest first."""
    _stamp(type(proof_communication), proof_communication.pk, "created_at", at(0))
    change = ChangeEvent.objects.create(
        kind=ChangeEvent.Kind.DELIVERY_DATE_SLIPPED, imprint=imprint_a, work=work,
        field="slipped", old_value=None, new_value="2026-11-27", created_at=at(-1),
    )  # fmt: skip
    approval = Approval.objects.create(
        communication=proof_communication, decided_by=project_manager,
        decision=Approval.Decision.APPROVED, payload_hash="x", created_at=at(1),
    )  # fmt: skip
    m = MessageFactory.create(
        communication=proof_communication, recipient_name="Ada Quill", channel="email"
    )
    message_status_apply(
        events=[
            StatusInput(str(m.key), S.SUBMITTED, at(2), "exstream-runtime", "s"),
            StatusInput(str(m.key), S.DELIVERED, at(3), "exstream-email", "d"),
        ]
    )
    audit = log_action(actor=project_manager, verb="contributor_action.reminder_drafted",
                       target=proof_communication, work_id=work.pk)  # fmt: skip
    _stamp(AuditEvent, audit.pk, "created_at", at(4))
    record = WritebackRecord.objects.create(
        imprint=imprint_a, work=work, event_kind="proof_approval_received",
        business_key="b1", status=WritebackRecord.Status.KEPT, reason="why", created_at=at(5),
    )  # fmt: skip
    return {"change": change, "approval": approval, "message": m, "record": record}


def test_every_source_newest_first(busy_title, work, project_manager):
    page = title_timeline(user=project_manager, work=work)
    kinds = [e.kind for e in page.entries]
    assert kinds == [
        "writeback",
        "audit",
        "message",
        "message",
        "approval",
        "communication",
        "change",
    ]
    delivered = page.entries[2]
    assert (delivered.status, delivered.channel, delivered.recipient) == (
        "delivered", "email", "Ada Quill",
    )  # fmt: skip
    assert page.next_cursor == ""


def test_writeback_attempts_are_on_the_timeline(busy_title, work, project_manager, imprint_a):
    from integration.delivery.outbox import outbox_enqueue

    item = outbox_enqueue(
        kind="consonance_writeback", external_id="colophon-x",
        payload={"mutation": "updateDeliveryDate"}, imprint_id=imprint_a.pk, work_id=work.pk,
    )  # fmt: skip
    OutboxAttempt.objects.create(item=item, number=1, outcome="retry", error="HTTP 503",
                                 started_at=at(6))  # fmt: skip
    OutboxAttempt.objects.create(item=item, number=2, outcome="succeeded", started_at=at(7))
    page = title_timeline(user=project_manager, work=work)
    first, second = page.entries[:2]
    assert first.kind == second.kind == "writeback_attempt"
    assert "updateDeliveryDate attempt 2" in first.title and first.status == "succeeded"
    assert second.detail == "HTTP 503"


def test_keyset_paging_visits_every_entry_once(proof_communication, work, project_manager):
    messages = [MessageFactory.create(communication=proof_communication) for _ in range(4)]
    events = [
        StatusInput(str(m.key), status, at(1), "exstream-runtime", f"{m.pk}-{status}")
        for m in messages
        for status in (S.SUBMITTED, S.DELIVERED, S.OPENED)
    ]  # twelve events at the very same moment: the tie-break matters
    message_status_apply(events=events)
    seen: list[tuple[str, int]] = []
    cursor, pages = "", 0
    while True:
        page = title_timeline(user=project_manager, work=work, cursor=cursor, limit=5)
        seen.extend((e.kind, e.id) for e in page.entries)
        pages += 1
        if not page.has_next:
            break
        cursor = page.next_cursor
    everything = title_timeline(user=project_manager, work=work, limit=None).entries
    assert len(seen) == len(set(seen)) == len(everything) >= 13
    assert seen == [(e.kind, e.id) for e in everything]
    assert pages == 3


@pytest.mark.parametrize("size", [5, 60])
def test_queries_do_not_grow_with_events(size, proof_communication, work, project_manager,
                                         django_assert_max_num_queries):  # fmt: skip
    for n in range(size):
        m = MessageFactory.create(communication=proof_communication)
        message_status_apply(
            events=[StatusInput(str(m.key), S.DELIVERED, at(n), "exstream-runtime", str(n))]
        )
        ChangeEvent.objects.create(kind="price", imprint=work.imprint, work=work, created_at=at(n))
    project_manager = type(project_manager).objects.get(pk=project_manager.pk)
    with django_assert_max_num_queries(9):
        page = title_timeline(user=project_manager, work=work, limit=50)
    assert len(page.entries) == min(50, size * 2 + 1)
    assert page.has_next == (size * 2 + 1 > 50)


def test_filters(busy_title, work, project_manager):
    def kinds(**kw):
        return [e.kind for e in title_timeline(
            user=project_manager, work=work, filters=TimelineFilters(**kw)).entries]  # fmt: skip

    assert kinds(status="delivered") == ["message"]
    assert kinds(recipient="quill") == ["message", "message"]
    assert kinds(recipient="nobody") == []
    assert kinds(channel="email") == ["message", "message", "communication"]
    assert kinds(type="proof-approval") == ["message", "message", "approval", "communication"]
    assert kinds(type="royalty-statement") == []
    assert kinds(kind="change") == ["change"]
    assert kinds(date_from=datetime.date(2026, 11, 2), date_to=datetime.date(2026, 11, 2)) == [
        "writeback", "audit", "message", "message", "approval", "communication", "change",
    ]  # fmt: skip
    assert kinds(date_from=datetime.date(2026, 11, 3)) == []


def test_outsider_and_strangers_see_nothing(busy_title, work, outsider, login):
    with pytest.raises(PermissionDenied):
        title_timeline(user=outsider, work=work)
    client = login(outsider)
    assert client.get(reverse("timeline:title", args=[work.pk])).status_code == 404
    assert client.get(reverse("timeline:export", args=[work.pk])).status_code == 404
    assert client.get(f"/api/v1/titles/{work.pk}/timeline/").status_code == 404


def test_screen_and_htmx_fragment(busy_title, work, viewer, login):
    client = login(viewer)
    response = client.get(reverse("timeline:title", args=[work.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada Quill" in body and "Delivery date slipped" in body and "<html" in body
    fragment = client.get(reverse("timeline:title", args=[work.pk]), HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode()
    assert 'id="timeline"' in fragment.content.decode()
    bad = client.get(reverse("timeline:title", args=[work.pk]), {"date_from": "yesterday"})
    assert "is not a date" in bad.content.decode()


def test_include_template_loads_by_htmx_without_context(work):
    from django.template.loader import render_to_string

    html = render_to_string("timeline/_timeline.html", {"work": work})
    assert f'hx-get="/titles/{work.pk}/timeline/"' in html and 'hx-trigger="load"' in html


def test_csv_export_is_formula_safe(busy_title, work, proof_communication, viewer, login):
    m = MessageFactory.create(communication=proof_communication, recipient_name="=HYPERLINK(1)")
    message_status_apply(events=[StatusInput(str(m.key), S.OPENED, at(9), "hand", "h",
                                             {"note": "+cmd|' /C calc'!A0"})])  # fmt: skip
    response = login(viewer).get(reverse("timeline:export", args=[work.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["at", "kind", "title"]
    assert len(rows) == 1 + 8
    risky = rows[1]
    assert risky[6] == "'=HYPERLINK(1)"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_api_pages_with_next_links(busy_title, work, viewer, login):
    client = login(viewer)
    body = client.get(f"/api/v1/titles/{work.pk}/timeline/", {"page_size": 4}).json()
    assert [e["kind"] for e in body["results"]] == ["writeback", "audit", "message", "message"]
    rest = client.get(body["next"]).json()
    assert [e["kind"] for e in rest["results"]] == ["approval", "communication", "change"]
    assert rest["next"] is None
    bad = client.get(f"/api/v1/titles/{work.pk}/timeline/", {"date_to": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["date_to"]


def test_other_titles_events_stay_off(busy_title, work, project_manager, imprint_a):
    other = WorkFactory.create(imprint=imprint_a)
    ChangeEvent.objects.create(kind="price", imprint=imprint_a, work=other, created_at=at(0))
    assert len(title_timeline(user=project_manager, work=other).entries) == 1
    assert len(title_timeline(user=project_manager, work=work).entries) == 7


def test_triggering_change_is_named_on_the_communication(busy_title, work, proof_communication,
                                                         project_manager):  # fmt: skip
    type(proof_communication).objects.filter(pk=proof_communication.pk).update(
        change_event=busy_title["change"]
    )
    entry = next(
        e
        for e in title_timeline(user=project_manager, work=work).entries
        if e.kind == "communication"
    )
    assert entry.detail.startswith("Triggered by: Delivery date slipped")


def test_timeline_is_on_the_title_page(busy_title, work, viewer, outsider, login):
    page = login(viewer).get(reverse("titles:detail", args=[work.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="timeline"' in body and "Ada Quill" in body and "Proof approval drafted" in body
    assert login(outsider).get(reverse("titles:detail", args=[work.pk])).status_code == 404


def test_audit_rows_already_shown_elsewhere_are_not_repeated(
    busy_title, work, proof_communication, project_manager
):
    for verb in ("communication.created", "communication.approved", "writeback.kept"):
        log_action(actor=project_manager, verb=verb, target=proof_communication, work_id=work.pk)
    log_action(actor=project_manager, verb="communication.submitted",
               target=proof_communication, work_id=work.pk)  # fmt: skip
    audit = [
        e.title
        for e in title_timeline(user=project_manager, work=work).entries
        if e.kind == "audit"
    ]
    assert audit == ["Submitted for approval", "Drafted a reminder"]
