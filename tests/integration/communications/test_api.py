"""API: list filters, create, detail with messages and chunks, actions with 403/404."""

from __future__ import annotations

import pytest
from django.test import Client

from integration.models import Communication
from tests.factories import communication_type

S = Communication.Status


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _create(client, setup, **extra):
    body = {
        "imprint": setup.audience.imprint_id,
        "communication_type": "rights-confirmation",
        "audience": setup.audience.pk,
        "work": setup.work.pk,
        **extra,
    }
    return client.post("/api/v1/communications/", body, content_type="application/json")


@pytest.fixture
def created(rights_setup, rights_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(_api(rights_manager), rights_setup)
    assert response.status_code == 201, response.content
    return Communication.objects.get(pk=response.json()["id"])


def test_create_composes_and_detail_shows_messages(created, rights_manager):
    body = _api(rights_manager).get(f"/api/v1/communications/{created.pk}/").json()
    assert body["status"] == "draft"
    assert body["recipient_count"] == 3
    assert body["messages"]["count"] == 3
    assert body["messages"]["results"][0]["driver_data"]["recipientName"] == "Reader 1"
    assert body["chunks"] == []
    assert "applies" in body["template_explanation"]


def test_create_refuses_bad_input_and_wrong_roles(
    rights_setup, marketing, outsider, rights_manager
):
    response = _create(_api(marketing), rights_setup)
    assert response.status_code == 403
    assert "drafting role" in response.json()["error"]["message"]
    # the outsider cannot even name imprint A's audience
    response = _create(_api(outsider), rights_setup)
    assert response.status_code == 400
    response = _create(_api(rights_manager), rights_setup, channels=["fax"])
    assert response.status_code == 400
    response = _create(_api(rights_manager), rights_setup, channels=["email"])
    assert response.status_code == 400
    assert "no email output" in str(response.json()["error"]["details"])
    assert not Communication.objects.exists()


def test_list_filters_and_policy(created, rights_manager, outsider, imprint_a):
    client = _api(rights_manager)
    assert client.get("/api/v1/communications/").json()["count"] == 1
    assert client.get("/api/v1/communications/?status=sent").json()["count"] == 0
    assert client.get("/api/v1/communications/?type=rights-confirmation").json()["count"] == 1
    assert client.get("/api/v1/communications/?type=launch-email").json()["count"] == 0
    assert client.get(f"/api/v1/communications/?work={created.work_id}").json()["count"] == 1
    assert client.get(f"/api/v1/communications/?imprint={imprint_a.pk}").json()["count"] == 1
    other = _api(outsider)
    assert other.get("/api/v1/communications/").json()["count"] == 0
    assert other.get(f"/api/v1/communications/{created.pk}/").status_code == 404
    for verb in ("submit", "approve", "reject", "cancel", "preview", "replay"):
        assert other.post(f"/api/v1/communications/{created.pk}/{verb}/").status_code == 404


def test_four_eyes_over_the_api(
    created,
    rights_manager,
    second_rights_manager,
    marketing,
    exstream,
    django_capture_on_commit_callbacks,
):
    drafter = _api(rights_manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert drafter.post(f"/api/v1/communications/{created.pk}/submit/").status_code == 200
    response = drafter.post(f"/api/v1/communications/{created.pk}/approve/")
    assert response.status_code == 403
    assert "another person must approve" in response.json()["error"]["message"]
    response = _api(marketing).post(f"/api/v1/communications/{created.pk}/approve/")
    assert response.status_code == 403
    assert "Rights manager" in response.json()["error"]["message"]
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(second_rights_manager).post(
            f"/api/v1/communications/{created.pk}/approve/",
            {"comment": "Fine"},
            content_type="application/json",
        )
    assert response.status_code == 200
    body = _api(rights_manager).get(f"/api/v1/communications/{created.pk}/").json()
    assert body["status"] == "sent"
    assert body["approvals"][0]["comment"] == "Fine"
    assert body["chunks"][0]["attempts_made"][0]["outcome"] == "succeeded"
    assert body["messages"]["results"][0]["status"] == "submitted"


def test_reject_needs_comment_and_state_errors_are_400(
    created, rights_manager, second_rights_manager, django_capture_on_commit_callbacks
):
    approver = _api(second_rights_manager)
    response = approver.post(f"/api/v1/communications/{created.pk}/reject/", {"comment": "x"})
    assert response.status_code == 400  # not submitted yet
    with django_capture_on_commit_callbacks(execute=True):
        _api(rights_manager).post(f"/api/v1/communications/{created.pk}/submit/")
    assert approver.post(f"/api/v1/communications/{created.pk}/reject/").status_code == 400
    response = approver.post(
        f"/api/v1/communications/{created.pk}/reject/", {"comment": "Wrong clause"}
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"


def test_preview_endpoint(created, rights_manager, viewer, exstream):
    response = _api(rights_manager).post(f"/api/v1/communications/{created.pk}/preview/")
    assert response.status_code == 200
    previews = response.json()["previews"]
    assert previews[0]["reason"] == "first recipient"
    assert previews[0]["outputs"][0]["mime_type"] == "application/pdf"
    assert previews[0]["message"]["driver_data"]["workTitle"] == "The Lighthouse Keeper"
    assert _api(viewer).post(f"/api/v1/communications/{created.pk}/preview/").status_code == 403


def test_messages_endpoint_pages(created, rights_manager):
    body = (
        _api(rights_manager)
        .get(f"/api/v1/communications/{created.pk}/messages/?page_size=2")
        .json()
    )
    assert body["count"] == 3 and len(body["results"]) == 2


def test_messages_filter_by_their_status_not_the_communications(created, rights_manager):
    """``?status=failed`` on the messages of a draft filters its messages (it used to filter
    the communication away and answer 404)."""
    first = created.messages.order_by("sequence").first()
    first.status, first.status_detail = "failed", "The address is incomplete."
    first.save(update_fields=["status", "status_detail"])
    api = _api(rights_manager)
    body = api.get(f"/api/v1/communications/{created.pk}/messages/?status=failed").json()
    assert body["count"] == 1
    assert body["results"][0]["status_detail"] == "The address is incomplete."
    none = api.get(f"/api/v1/communications/{created.pk}/messages/?status=delivered").json()
    assert none["count"] == 0
    bad = api.get(f"/api/v1/communications/{created.pk}/messages/?status=lost")
    assert bad.status_code == 400 and "Unknown status" in bad.content.decode()
    # the list still filters communications by their own status
    assert api.get("/api/v1/communications/?status=failed").json()["count"] == 0
    assert api.get(f"/api/v1/communications/{created.pk}/?status=sent").status_code == 200


def test_outsider_cannot_filter_their_way_to_messages(created, outsider):
    response = _api(outsider).get(f"/api/v1/communications/{created.pk}/messages/?status=failed")
    assert response.status_code == 404


def test_type_code_unknown_is_400(rights_setup, rights_manager):
    response = _create(_api(rights_manager), rights_setup, communication_type="nope")
    assert response.status_code == 400
    assert communication_type("rights-confirmation")  # the seeded one exists


def test_approver_in_another_imprint_is_refused_with_a_reason(
    created, rights_manager, imprint_b, login, django_capture_on_commit_callbacks
):
    """Holds the approving role, but in imprint B; may only view imprint A."""
    from accounts.models import Role
    from tests.factories import MembershipFactory, member

    elsewhere = member(Role.RIGHTS_MANAGER, imprint_b, "rights@b.test")
    MembershipFactory(user=elsewhere, imprint=created.imprint, role=Role.VIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        _api(rights_manager).post(f"/api/v1/communications/{created.pk}/submit/")
    response = _api(elsewhere).post(f"/api/v1/communications/{created.pk}/approve/")
    assert response.status_code == 403
    assert (
        "Approving rights communications in this imprint needs"
        in response.json()["error"]["message"]
    )
    response = login(elsewhere).post(f"/communications/{created.pk}/approve/")
    assert response.status_code == 403
    assert "Approving rights communications in this imprint needs" in response.content.decode()
    assert Communication.objects.get(pk=created.pk).status == S.SUBMITTED
    page = login(elsewhere).get(f"/communications/{created.pk}/").content.decode()
    assert "Approving rights communications in this imprint needs" in page


def test_outsider_cannot_read_messages(created, outsider):
    assert _api(outsider).get(f"/api/v1/communications/{created.pk}/messages/").status_code == 404


def test_approving_an_already_queued_communication_is_a_400_state_error(
    created,
    rights_manager,
    second_rights_manager,
    exstream,
    django_capture_on_commit_callbacks,
):
    """Issue 12: a state error is a 400 (documented), not a 403; a role refusal stays 403."""
    with django_capture_on_commit_callbacks(execute=True):
        _api(rights_manager).post(f"/api/v1/communications/{created.pk}/submit/")
        first = _api(second_rights_manager).post(f"/api/v1/communications/{created.pk}/approve/")
    assert first.status_code == 200
    again = _api(second_rights_manager).post(f"/api/v1/communications/{created.pk}/approve/")
    assert again.status_code == 400
    assert "not awaiting approval" in again.json()["error"]["message"]
