"""Open redirects: a ``next`` posted with a form never sends the person to another site."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import Message

pytestmark = pytest.mark.django_db
S = Message.Status
OFFSITE = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example",
    "javascript:alert(1)",
    "http:evil.example",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_draft_reminder_never_redirects_off_site(
    action, project_manager, login, reminder_template, target
):
    client = login(project_manager)
    response = client.post(reverse("actions:remind", args=[action.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("actions:detail", args=[action.pk])


def test_draft_reminder_returns_to_the_board_it_came_from(
    action, project_manager, login, reminder_template
):
    back = reverse("actions:board") + "?state=overdue"
    client = login(project_manager)
    response = client.post(reverse("actions:remind", args=[action.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
