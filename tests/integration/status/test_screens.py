"""Screens and API of contributor actions, status import, write-back rules and unmatched
events: each renders, and the policy holds (outsiders 404/403, viewers cannot record)."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.urls import reverse

from integration.models import Communication, ContributorAction, Message, WritebackRule
from integration.status.apply import StatusInput, message_status_apply
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status


def test_board_lists_filters_and_links(action, proofs_due, project_manager, viewer, login):
    with time_machine.travel(datetime.date(2026, 11, 25), tick=False):
        body = login(viewer).get(reverse("actions:board")).content.decode()
        assert "Ada Quill" in body and "Overdue</span>" in body
        assert reverse("timeline:title", args=[action.work_id]) in body
        client = login(project_manager)
        assert "Ada Quill" in client.get(reverse("actions:board"), {"owner": "me"}).content.decode()
        assert (
            "Ada Quill"
            not in client.get(
                reverse("actions:board"), {"due_before": "2026-11-01"}
            ).content.decode()
        )
        assert (
            "Ada Quill"
            in client.get(reverse("actions:board"), {"state": "overdue"}).content.decode()
        )


def test_outsider_sees_an_empty_board_and_404_on_details(action, outsider, login):
    client = login(outsider)
    assert "Ada Quill" not in client.get(reverse("actions:board")).content.decode()
    for name in ("actions:detail",):
        assert client.get(reverse(name, args=[action.pk])).status_code == 404
    for name in ("actions:record", "actions:remind", "actions:assign"):
        assert client.post(reverse(name, args=[action.pk])).status_code == 404
    assert client.get("/api/v1/contributor-actions/").json()["results"] == []
    assert client.get(f"/api/v1/contributor-actions/{action.pk}/").status_code == 404


def test_viewer_can_look_but_not_record(action, viewer, login):
    client = login(viewer)
    detail = client.get(reverse("actions:detail", args=[action.pk]))
    assert detail.status_code == 200 and "Record a response" not in detail.content.decode()
    response = client.post(
        reverse("actions:record", args=[action.pk]), {"status": "responded",
                                                      "responded_on": "2026-11-05"}
    )  # fmt: skip
    assert response.status_code == 403
    api = client.post(
        f"/api/v1/contributor-actions/{action.pk}/response/", {"responded_on": "2026-11-05"}
    )
    assert api.status_code == 403
    assert client.post(reverse("actions:remind", args=[action.pk])).status_code == 403
    assert ContributorAction.objects.get().state == "awaiting"


def test_project_manager_records_by_form_and_api(action, project_manager, login):
    client = login(project_manager)
    bad = client.post(reverse("actions:record", args=[action.pk]),
                      {"status": "responded", "responded_on": "2999-01-01"})  # fmt: skip
    assert bad.status_code == 400 and "in the future" in bad.content.decode()
    ok = client.post(
        reverse("actions:record", args=[action.pk]),
        {"status": "responded", "responded_on": "2026-11-05", "note": "Approved"},
    )
    assert ok.status_code == 302
    assert ContributorAction.objects.get().state == "responded"
    api = client.post(
        f"/api/v1/contributor-actions/{action.pk}/response/",
        {"responded_on": "2026-11-06", "status": "returned"},
        content_type="application/json",
    )
    assert api.status_code == 200 and api.json()["state"] == "responded"  # responded outranks


def test_reminder_and_assign_from_the_screen(
    action, project_manager, admin_a, login, reminder_template
):
    client = login(project_manager)
    response = client.post(reverse("actions:remind", args=[action.pk]))
    assert response.status_code == 302
    assert Communication.objects.filter(communication_type__code="contributor-request").count() == 1
    client.post(reverse("actions:assign", args=[action.pk]), {"owner": admin_a.pk})
    assert ContributorAction.objects.get().owner == admin_a


def test_api_filters(action, proofs_due, project_manager, login):
    client = login(project_manager)
    url = "/api/v1/contributor-actions/"
    with time_machine.travel(datetime.date(2026, 11, 25), tick=False):
        row = client.get(url).json()["results"][0]
        assert row["state"] == "overdue" and row["due_on"] == "2026-11-20"
        assert row["message_key"] == str(action.message.key)
        assert len(client.get(url, {"state": "overdue"}).json()["results"]) == 1
        assert client.get(url, {"state": "awaiting"}).json()["results"] == []
    client = login(project_manager)  # a fresh session after the clock moved (idle time-out)
    assert client.get(url, {"due_after": "2026-11-21"}).json()["results"] == []
    assert len(client.get(url, {"due_before": "2026-11-20"}).json()["results"]) == 1
    assert len(client.get(url, {"owner": project_manager.pk}).json()["results"]) == 1
    assert client.get(url, {"imprint": 999}).json()["results"] == []
    assert client.get(url, {"state": "lost"}).status_code == 400
    assert client.get(url, {"due_before": "soon"}).status_code == 400


def test_status_import_screen(message, project_manager, viewer, login):
    assert login(viewer).get(reverse("actions:import")).status_code == 403
    client = login(project_manager)
    assert client.get(reverse("actions:import")).status_code == 200
    upload = io.BytesIO(f"message_key,status,date\n{message.key},returned,2026-11-05\n".encode())
    upload.name = "returns.csv"
    assert client.post(reverse("actions:import"), {"file": upload}).status_code == 302
    message.refresh_from_db()
    assert message.status == S.RETURNED
    bad = io.BytesIO(b"message_key,status,date\nnope,returned,2026-11-05\n")
    bad.name = "bad.csv"
    response = client.post(reverse("actions:import"), {"file": bad})
    assert response.status_code == 400 and "no message has the key" in response.content.decode()


def test_writeback_rules_screen_is_for_admins(imprint_a, admin_a, project_manager, login):
    assert login(project_manager).get(reverse("actions:writeback_rules")).status_code == 403
    client = login(admin_a)
    assert client.get(reverse("actions:writeback_rules")).status_code == 200
    response = client.post(
        reverse("actions:writeback_rules"),
        {"imprint": imprint_a.pk, "event_kind": "gratis_copy_sent",
         "mutation": "updateGratisCopy", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    wrong = client.post(
        reverse("actions:writeback_rules"),
        {"imprint": imprint_a.pk, "event_kind": "gratis_copy_sent", "mutation": "updateContract"},
    )
    assert wrong.status_code == 400 and "updateGratisCopy" in wrong.content.decode()
    assert WritebackRule.objects.get().enabled is True


def test_unmatched_events_screen_for_operators(message, admin_a, project_manager, login):
    message_status_apply(
        events=[StatusInput("ghost-key", S.DELIVERED, at(1), "exstream-webhook", "g")]
    )
    assert login(project_manager).get(reverse("timeline:orphans")).status_code == 403
    body = login(admin_a).get(reverse("timeline:orphans")).content.decode()
    assert "ghost-key" in body


def test_writebacks_api_is_per_imprint(action, project_manager, outsider, login):
    message_status_apply(
        events=[StatusInput(str(action.message.key), S.RESPONDED, at(9), "hand", "r")]
    )
    mine = login(project_manager).get("/api/v1/writebacks/").json()["results"]
    assert [r["status"] for r in mine] == ["kept"]
    assert mine[0]["client_mutation_id"].startswith("colophon-")
    assert login(outsider).get("/api/v1/writebacks/").json()["results"] == []


def test_anonymous_is_sent_to_login(action, client):
    for url in (
        reverse("actions:board"),
        reverse("timeline:title", args=[action.work_id]),
        reverse("reports:customer_service"),
    ):
        assert client.get(url).status_code == 302
    assert client.get("/api/v1/contributor-actions/").status_code in (401, 403)


def test_message_status_entry_api(message, project_manager, viewer, outsider, login):
    url = "/api/v1/message-status/"
    body = {"message_key": str(message.key), "status": "returned", "date": "2026-11-05",
            "note": "Gone away"}  # fmt: skip
    assert login(outsider).post(url, body, content_type="application/json").status_code == 404
    assert login(viewer).post(url, body, content_type="application/json").status_code == 403
    client = login(project_manager)
    first = client.post(url, body, content_type="application/json")
    assert first.status_code == 201 and first.json()["status"] == "returned"
    again = client.post(url, body, content_type="application/json")
    assert again.status_code == 200 and again.json()["recorded"] is False
    bad = client.post(url, {**body, "status": "opened"}, content_type="application/json")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["details"]
    message.refresh_from_db()
    assert message.status == S.RETURNED


def test_board_links_by_role(action, admin_a, viewer, login):
    admin_page = login(admin_a).get(reverse("actions:board")).content.decode()
    assert reverse("actions:writeback_rules") in admin_page
    assert reverse("timeline:orphans") in admin_page
    viewer_page = login(viewer).get(reverse("actions:board")).content.decode()
    assert reverse("reports:customer_service") in viewer_page
    assert reverse("actions:writeback_rules") not in viewer_page
    assert reverse("actions:import") not in viewer_page


def test_outsider_cannot_touch_another_imprints_rules_or_imports(imprint_a, outsider, login):
    client = login(outsider)
    response = client.post(
        reverse("actions:writeback_rules"),
        {"imprint": imprint_a.pk, "event_kind": "gratis_copy_sent",
         "mutation": "updateGratisCopy", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 400 and not WritebackRule.objects.exists()
    assert "Harbour Lights" not in client.get(reverse("actions:writeback_rules")).content.decode()
    upload = io.BytesIO(b"isbn,issue_type,case_reference,outcome,date\n")
    upload.name = "x.csv"
    response = client.post(
        reverse("reports:customer_service_import"), {"imprint": imprint_a.pk, "file": upload}
    )
    assert response.status_code == 400
