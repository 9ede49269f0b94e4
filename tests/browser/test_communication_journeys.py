"""In a real browser, against the sandbox Exstream over HTTP: a rights manager drafts a rights
confirmation from a title page, previews a sample, submits; cannot approve their own; a second
rights manager approves from the Approvals queue and it is sent in chunks; the title's
timeline shows it. And the rejection path: the approver's comment reaches the drafter, who
fixes it and resubmits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from integration import tasks
from integration.communications import create
from integration.lib import queue
from integration.models import Communication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Communication.Status


def _draft_from_title(page: Page, live_server, letter) -> None:
    page.goto(f"{live_server.url}/titles/{letter['work'].pk}/")
    page.get_by_role("link", name="New communication about this title").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tides")
    page.get_by_label("Type").select_option(label="Rights confirmation")
    page.get_by_label("Audience").select_option(label="Agents")
    page.get_by_role("button", name="Create and compose").click()


@pytest.fixture
def compose_later(monkeypatch) -> list[int]:
    """Hold the compose task back (as a busy worker would) so the page shows it composing;
    the test then runs it. Other tasks still run inline."""
    held: list[int] = []

    def enqueue(func: str, *args: Any, **kwargs: Any) -> None:
        if func == "integration.tasks.communication_compose":
            held.append(args[0])
        else:
            queue.enqueue(func, *args, **kwargs)

    monkeypatch.setattr(create, "enqueue", enqueue)
    return held


def _submit(page: Page) -> None:
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".badge").first).to_have_text("Awaiting approval")


def test_draft_preview_submit_approve_send(
    live_server,
    page,
    letter,
    rights_manager,
    second_rights_manager,
    sign_in,
    console_errors,
    compose_later,
    one_browser_request_at_a_time,
):
    sign_in(rights_manager)
    _draft_from_title(page, live_server, letter)
    progress = page.locator("#compose-progress")
    expect(progress).to_contain_text("Composing: 0 of 3 recipients.")
    expect(progress.locator("progress")).to_have_attribute("max", "3")
    expect(page.get_by_role("button", name="Submit for approval")).to_be_disabled()
    with one_browser_request_at_a_time:  # the worker gets to it while the page polls
        tasks.communication_compose(*compose_later)
    expect(progress).to_contain_text("Composed 3 recipient(s)")  # htmx polled, then reloaded
    expect(page.get_by_role("button", name="Submit for approval")).to_be_enabled()

    page.get_by_role("button", name="Preview a sample").click()
    frame = page.locator("iframe.preview-frame").first
    expect(frame).to_be_visible()
    html = page.frame_locator("iframe.preview-frame").first.locator("body")
    expect(html).to_contain_text("Tides")
    page.get_by_text("Driver data (JSON)").first.click()
    driver_json = page.locator("details pre").first
    expect(driver_json).to_be_visible()
    expect(driver_json).to_contain_text('"workTitle": "Tides"')
    expect(driver_json).to_contain_text('"territories": "FR"')

    _submit(page)
    approve = page.get_by_role("button", name="Approve and send")
    expect(approve).to_be_disabled()
    expect(page.locator(".action-row")).to_contain_text("another person must approve it")

    sign_in(second_rights_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    page.get_by_role("link", name=re.compile("Rights confirmation")).click()
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".badge").first).to_have_text("Sent")
    chunks = page.locator("section", has=page.get_by_role("heading", name="Sending to Exstream"))
    expect(chunks.locator("tbody tr")).to_have_count(2)
    expect(chunks.locator("tbody tr").first).to_contain_text("Done")

    page.get_by_role("link", name="Tides").click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Approved")
    expect(timeline).to_contain_text("Rights confirmation")
    comm = Communication.objects.get()
    assert comm.status == S.SENT and comm.approvals.get().decided_by == second_rights_manager
    assert not console_errors


def test_rejected_with_a_comment_then_resubmitted(
    live_server, page, letter, rights_manager, second_rights_manager, sign_in
):
    sign_in(rights_manager)
    _draft_from_title(page, live_server, letter)
    expect(page.locator("#compose-progress")).to_contain_text("Composed 3 recipient(s)")
    _submit(page)
    detail_url = page.url

    sign_in(second_rights_manager)
    page.goto(detail_url)
    page.get_by_label("Why reject?").fill("Clause 4 is missing from the letter")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".badge").first).to_have_text("Rejected")

    sign_in(rights_manager)
    page.goto(detail_url)
    expect(page.get_by_role("alert")).to_contain_text("Clause 4 is missing from the letter")
    page.get_by_role("button", name="Recompose from current data").click()
    expect(page.locator("#compose-progress")).to_contain_text("Composed 3 recipient(s)")
    _submit(page)
    assert Communication.objects.get().status == S.SUBMITTED
