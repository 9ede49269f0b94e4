"""The key screens in a real browser, kept as screenshots (artifacts/screens/ on every run;
docs/screens/, linked from the README, with COLOPHON_UPDATE_SCREENS=1): a preview that looks
like a letter, the approval page, the timeline grouped by communication, the actions board;
and the API docs running under the CSP."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from integration.models import Communication, ContributorAction, Message
from integration.status.contributor_actions import contributor_actions_open_for_communication
from tests.factories import (
    CommunicationFactory,
    MessageFactory,
    WorkFactory,
    communication_type,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Every run keeps its screenshots as artifacts in artifacts/screens/ (not tracked);
# COLOPHON_UPDATE_SCREENS=1 writes them to docs/screens/, the ones the README shows.
ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / (
    "docs/screens" if os.environ.get("COLOPHON_UPDATE_SCREENS") else "artifacts/screens"
)


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"))
    assert (SCREENS / f"{name}.png").stat().st_size > 1000


def test_preview_approval_and_timeline(
    live_server,
    page,
    letter,
    rights_manager,
    second_rights_manager,
    sign_in,
    console_errors,
):
    page.set_viewport_size({"width": 1100, "height": 900})
    sign_in(rights_manager)
    page.goto(f"{live_server.url}/titles/{letter['work'].pk}/")
    page.get_by_role("link", name="New communication about this title").click()
    page.get_by_label("Type").select_option(label="Rights confirmation")
    page.get_by_label("Audience").select_option(label="Agents")
    page.get_by_role("button", name="Create and compose").click()
    expect(page.get_by_role("button", name="Submit for approval")).to_be_enabled()

    page.get_by_role("button", name="Preview a sample").click()
    letter_html = page.frame_locator("iframe.preview-frame").first.locator("body")
    expect(letter_html.locator(".letterhead")).to_have_text(letter["work"].imprint.name)
    expect(letter_html).to_contain_text("Dear Reader 1,")
    expect(letter_html).to_contain_text("PREVIEW — NOT FOR DISTRIBUTION")
    expect(letter_html).to_contain_text("We are writing to you about Tides")
    expect(letter_html).not_to_contain_text("customerKey")
    page.locator("iframe.preview-frame").first.scroll_into_view_if_needed()
    _shot(page, "preview")

    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".action-row")).to_contain_text("another person must approve it")
    expect(page.locator(".action-row")).to_contain_text(
        f"Ask {second_rights_manager.get_full_name()}"
    )

    sign_in(second_rights_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    page.get_by_role("link", name=re.compile("Rights confirmation")).click()
    expect(page.get_by_role("button", name="Approve and send")).to_be_enabled()
    _shot(page, "approval")
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".badge").first).to_have_text("Sent")

    comm = Communication.objects.get()
    failed = comm.messages.order_by("sequence").first()
    failed.status, failed.status_detail = Message.Status.FAILED, "The address is incomplete."
    failed.save(update_fields=["status", "status_detail"])
    page.goto(f"{live_server.url}/titles/{letter['work'].pk}/timeline/")
    expect(page.get_by_role("link", name="‹ Tides")).to_be_visible()
    outcome = page.locator("details.outcome").first
    expect(outcome).to_contain_text("Sent — 1 of 3 failed")
    expect(outcome).to_contain_text("The address is incomplete.")
    page.get_by_label("Status").select_option(label="Delivered")  # a select, not a slug
    _shot(page, "timeline")
    assert not console_errors


def test_actions_board(
    live_server, page, imprint_a, project_manager, communication_types, sign_in, console_errors
):
    page.set_viewport_size({"width": 1100, "height": 700})
    work = WorkFactory.create(imprint=imprint_a, title="Harbour Songs")
    comm = CommunicationFactory.create(
        work=work,
        imprint=imprint_a,
        communication_type=communication_type("proof-approval"),
        name="First proofs",
        submitted_by=project_manager,
    )
    for name in ("Ada Quill", "Ben Marsh", "Cleo Hart"):
        MessageFactory.create(
            communication=comm, recipient_name=name, status=Message.Status.SUBMITTED
        )
    contributor_actions_open_for_communication(communication=comm)
    ContributorAction.objects.filter(recipient_name="Ben Marsh").update(
        due_on=datetime.date.today() - datetime.timedelta(days=3)
    )
    sign_in(project_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Actions").click()
    expect(page.locator("table tbody tr")).to_have_count(3)
    _shot(page, "actions-board")
    page.get_by_role("link", name="Open the action for Ada Quill").click()
    today = datetime.date.today().isoformat()
    expect(page.get_by_label("Date")).to_have_value(today)  # ISO, so the date input shows it
    assert not console_errors


def test_api_docs_run_under_the_csp(live_server, page, console_errors, sign_in, marketing):
    sign_in(marketing)  # outside development the API docs need a signed-in user
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("Colophon API")
    page.goto(f"{live_server.url}/api/redoc/")
    expect(page.locator("h1").first).to_contain_text("Colophon API")
    assert not console_errors
