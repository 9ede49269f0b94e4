"""Each persona's journey from the README, in a real browser, on the demo seeded by `make run`'s
own commands (``tests.scenarios.build_demo``: the seeds, the Exstream and Consonance syncs over
real HTTP, seed_setup, the demo outcomes, royalty period, contributor actions and the flows'
finished examples), from a six-work sandbox instead of sixty for speed: the same rules pick the
titles, so a title the README names may be another one here (docs/flows.md, *In the demo*).
Nothing is fixed up by an admin or by the test: each persona signs in with the demo password
and clicks.

The live server flushes its database after each test, so each test builds the demo (about 20
seconds with a six-title sandbox)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.models import Imprint
from integration.communications.launch import launch_choices
from integration.delivery.gateway import ExstreamGateway
from integration.models import (
    Communication,
    ContributorAction,
    PayeeProfile,
    RoyaltyImport,
    RoyaltyLine,
    StatementRule,
)
from tests.scenarios import build_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "colophon-demo")
ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / (
    "docs/screens" if os.environ.get("COLOPHON_UPDATE_SCREENS") else "artifacts/screens"
)
S = Communication.Status


@pytest.fixture
def demo(sandbox, settings) -> Iterator[Imprint]:
    cache.clear()
    ExstreamGateway._clients.clear()
    settings.CONSONANCE_PREFETCH = False  # the live server shares the test's SQLite connection
    build_demo()
    yield Imprint.objects.get(code="harbour")
    cache.clear()
    ExstreamGateway._clients.clear()


@pytest.fixture
def demo_sign_in(live_server, page) -> Callable[[str], None]:
    """Sign in as a demo persona (``"rights"`` → rights@demo.colophon.test) with the demo
    password, through the login form."""

    def _sign_in(who: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(f"{who}@demo.colophon.test")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return _sign_in


def _shot(page: Page, name: str) -> None:
    """Keep a screenshot of the key page (artifacts/screens/ on every run)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    frames = page.locator("iframe.preview-frame")
    if frames.count():
        frames.nth(1 if frames.count() > 1 else 0).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / f"{name}.png"))
    assert (SCREENS / f"{name}.png").stat().st_size > 1000


def _new_about_title(page: Page, live_server, work_pk: int, type_label: str, audience: str):
    page.goto(f"{live_server.url}/titles/{work_pk}/")
    page.get_by_role("link", name="New communication about this title").click()
    page.get_by_label("Type").select_option(label=type_label)
    page.get_by_label("Audience").select_option(label=audience)


def _create_and_preview(page: Page) -> None:
    page.get_by_role("button", name="Create and compose").click()
    expect(page.get_by_role("button", name="Submit for approval")).to_be_enabled()
    expect(page.locator("body")).to_contain_text("0 blocking")
    page.get_by_role("button", name="Preview a sample").click()
    expect(page.locator("iframe.preview-frame").first).to_be_visible()


def _submit(page: Page) -> str:
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".badge").first).to_have_text("Awaiting approval")
    return page.url


def _approve(page: Page, live_server, detail_url: str) -> None:
    page.goto(detail_url)
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".badge").first).to_have_text("Sent")


def test_rights_manager_permission_letter_four_eyes(live_server, page, demo, demo_sign_in):
    page.set_viewport_size({"width": 1200, "height": 900})
    work = demo.works.order_by("pk").first()
    demo_sign_in("rights")
    _new_about_title(page, live_server, work.pk, "Permission letter", "Agents")
    _create_and_preview(page)
    letter = page.frame_locator("iframe.preview-frame").first.locator("body")
    expect(letter.locator(".letterhead")).to_have_text("Harbour Lights")
    expect(letter).to_contain_text("PREVIEW — NOT FOR DISTRIBUTION")
    expect(letter).to_contain_text(f"{work.title}")
    expect(letter).to_contain_text("ISBN")  # the material, cited from the mirror
    _shot(page, "demo-rights-preview")
    detail = _submit(page)
    expect(page.get_by_role("button", name="Approve and send")).to_be_disabled()

    demo_sign_in("rights2")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    page.get_by_role("link", name=re.compile("Permission letter")).click()
    assert page.url == detail
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".badge").first).to_have_text("Sent")
    comm = Communication.objects.get(pk=int(detail.rstrip("/").split("/")[-1]))
    assert comm.status == S.SENT and comm.recipient_count == 5
    assert comm.approvals.get().decided_by.email == "rights2@demo.colophon.test"

    # the demo's finished rights example, on its title's timeline: answered and written back
    seeded = Communication.objects.get(
        communication_type__code="permission-letter",
        audience__name__startswith="Licensee: ",
        status=S.SENT,
    )
    timeline = f"{live_server.url}/titles/{seeded.work_id}/timeline/"
    page.goto(f"{timeline}?type=permission-letter&status=responded")
    expect(page.locator("main")).to_contain_text(f"Responded: {seeded.name}")
    _shot(page, "demo-rights-timeline")
    page.goto(f"{timeline}?kind=writeback")
    expect(page.locator("main")).to_contain_text("Rights notice answered")


def test_marketing_launch_email_to_members_and_retailers(live_server, page, demo, demo_sign_in):
    page.set_viewport_size({"width": 1200, "height": 900})
    work = demo.works.order_by("pk").first()
    detail_urls = []
    demo_sign_in("marketing")
    for audience in ("Book club members", "Retailers and wholesalers"):
        _new_about_title(page, live_server, work.pk, "Launch e-mail", audience)
        _create_and_preview(page)
        email = page.frame_locator("iframe.preview-frame").first.locator("body")
        expect(email.locator(".cover img")).to_have_attribute("alt", f"Cover of {work.title}")
        expect(email.locator(".blurb")).to_contain_text("story by")
        expect(email).to_contain_text("Prices")
        expect(email).to_contain_text("GBP")
        if audience == "Book club members":
            _shot(page, "demo-launch-email-preview")
        detail_urls.append(_submit(page))

    demo_sign_in("admin")  # marketing is approved by another marketer or an imprint admin
    for url in detail_urls:
        _approve(page, live_server, url)
    sent = Communication.objects.filter(communication_type__code="launch-email")
    assert {c.status for c in sent} == {S.SENT}
    assert sum(c.recipient_count for c in sent) == 36 + 10

    # a title's launch plan: the cover, each format's launch communication in a territory; on
    # a title whose launch is not drafted yet (the demo's finished launch is flow 5's example)
    launched = Communication.objects.filter(communication_type__code="retailer-notice")
    work = next(w for w in demo.works.order_by("pk") if not launched.filter(work=w).exists())
    demo_sign_in("marketing")
    page.goto(f"{live_server.url}/titles/{work.pk}/")
    page.get_by_role("link", name="Launch plan").click()
    expect(page.get_by_alt_text(f"Cover of {work.title}")).to_be_visible()
    formats = page.locator("section", has=page.get_by_role("heading", name="What the launch"))
    expect(formats).to_contain_text("What the launch in GB would send")
    chosen = [c for c in launch_choices(work=work, territory_code="GB").choices if c.type_code]
    assert chosen  # the demo title has formats a GB launch announces to retailers
    expect(formats.locator("tbody tr", has_text="Retailer notice")).to_have_count(len(chosen))
    page.get_by_label("Retailers").select_option(label="Retailers and wholesalers")
    page.get_by_role("button", name="Draft the launch communications").click()
    expect(page.locator(".messages")).to_contain_text(
        f"{len(chosen)} launch communication(s) drafted"
    )
    notices = Communication.objects.filter(communication_type__code="retailer-notice", work=work)
    assert notices.count() == len(chosen)
    assert {n.created_by.email for n in notices} == {"marketing@demo.colophon.test"}


def test_royalties_sends_statements(live_server, page, demo, demo_sign_in):
    period = RoyaltyImport.objects.get(imprint=demo, imported=True)
    work = RoyaltyLine.objects.filter(royalty_import=period).first().contract.work
    page.set_viewport_size({"width": 1200, "height": 900})
    demo_sign_in("royalties")
    _new_about_title(page, live_server, work.pk, "Royalty statement", "Authors of the title")
    page.get_by_label("Royalty period").select_option(label="royalties-2026-h1.csv")
    _create_and_preview(page)
    statement = page.frame_locator("iframe.preview-frame").first.locator("body")
    expect(statement.locator("table.lines")).to_contain_text("Home trade")
    expect(statement.locator("tr.total")).to_contain_text("Amount due")
    _shot(page, "demo-royalty-statement-preview")
    detail = _submit(page)

    demo_sign_in("admin")
    _approve(page, live_server, detail)
    comm = Communication.objects.get(pk=int(detail.rstrip("/").split("/")[-1]))
    assert comm.status == S.SENT and comm.royalty_import_id == period.pk

    # Statements: a minimum payment rule, and an author's statements by secure web
    demo_sign_in("royalties")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statements").click()
    page.get_by_role("link", name="New statement rule").click()
    page.locator("#id_name").fill("Minimum payment")
    page.get_by_label("Currency").fill("GBP")
    page.get_by_label("Minimum payment").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#statement-rows tbody tr", has_text="Minimum payment")).to_contain_text(
        "50.00"
    )
    rule = StatementRule.objects.get(imprint=demo, name="Minimum payment")
    assert rule.minimum_payment == 50 and rule.currency == "GBP"
    line = RoyaltyLine.objects.filter(royalty_import=period).order_by("pk").first()
    assert line is not None
    author = line.payee
    page.get_by_role("navigation", name="Statements").get_by_role(
        "link", name="Payee profiles"
    ).click()
    page.get_by_role("link", name="New payee profile").click()
    page.get_by_label("Payee").select_option(value=str(author.pk))
    page.get_by_label("Secure web").check()
    page.get_by_role("button", name="Save").click()
    payee_row = page.locator("#payee-rows tbody tr", has_text=str(author.name))
    expect(payee_row).to_contain_text("Secure web")
    assert PayeeProfile.objects.get(imprint=demo, contact=author).channel == "web"


def test_project_manager_board_and_reminder(live_server, page, demo, demo_sign_in):
    demo_sign_in("pm")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Actions").click()
    rows = page.locator("table tbody tr")
    expect(rows.filter(has_text="Overdue").first).to_be_visible()
    expect(rows.filter(has_text="Awaiting").first).to_be_visible()
    expect(rows.first).not_to_contain_text("Contributor request: Contributor request")
    # the overdue request the demo already chased says so, linking its reminder
    expect(rows.filter(has_text="Reminded: Reminder:")).to_have_count(1)
    _shot(page, "demo-actions-board")
    overdue = ContributorAction.objects.filter(imprint=demo, state="awaiting").order_by("due_on")
    name = overdue.first().recipient_name
    page.get_by_label("State").select_option(label="Responded")
    expect(rows.filter(has_text="Responded").first).to_be_visible()

    page.get_by_label("State").select_option(value="")
    page.get_by_role("button", name=f"Draft reminder to {name}").first.click()
    # the drafted message links it (the board also links it beside the action it chases)
    page.locator(".messages").get_by_role("link", name=re.compile("Reminder:")).click()
    expect(page.get_by_role("button", name="Submit for approval")).to_be_enabled()
    expect(page.locator("body")).to_contain_text("0 blocking")
    detail = _submit(page)

    demo_sign_in("admin")  # contributor mail: another project manager or an imprint admin
    _approve(page, live_server, detail)
    # (the demo already holds one sent reminder: seed_demo_flows chased an overdue action)
    reminder = Communication.objects.get(pk=int(detail.rstrip("/").split("/")[-1]))
    assert reminder.name.startswith("Reminder:") and reminder.status == S.SENT
    assert reminder.approvals.get().decided_by.email == "admin@demo.colophon.test"
