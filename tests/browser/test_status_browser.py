"""In a real browser: the title timeline filters in place (htmx, no inline script), the
contributor board records a response, and the report's SVG chart draws without CSP errors."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps
from playwright.sync_api import expect

from accounts.models import Role
from integration.models import Message
from integration.status.apply import StatusInput, message_status_apply
from integration.status.customer_service import OutcomeInput, customer_service_outcomes_ingest
from tests.factories import (
    PASSWORD,
    CommunicationFactory,
    MessageFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
    member,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AT = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)


@pytest.fixture
def signed_in(live_server, page, imprint_a):
    seed = importlib.import_module("integration.migrations.0003_seed_communication_types")
    seed.seed(apps, None)  # transactional tests flush the data migration's rows
    member(Role.PROJECT_MANAGER, imprint_a, "pm@a.test")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("pm@a.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    return errors


def test_timeline_filters_in_place_and_board_records(live_server, page, imprint_a, signed_in):
    work = WorkFactory.create(imprint=imprint_a, title="The Salt Road")
    comm = CommunicationFactory.create(
        work=work, communication_type=communication_type("proof-approval"), name="First proofs"
    )
    ada = MessageFactory.create(communication=comm, recipient_name="Ada Quill")
    ben = MessageFactory.create(communication=comm, recipient_name="Ben Marsh")
    S = Message.Status
    message_status_apply(
        events=[
            StatusInput(str(ada.key), S.DELIVERED, AT, "exstream-runtime", "a"),
            StatusInput(str(ben.key), S.BOUNCED, AT, "exstream-email", "b"),
        ]
    )
    page.goto(f"{live_server.url}/titles/{work.pk}/timeline/")
    rows = page.locator("#timeline-log tbody tr")
    expect(rows).to_have_count(3)
    page.fill("#tl-recipient", "ben")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)  # htmx swaps the log in place: wait for it, not for idle
    expect(rows).to_contain_text("Ben Marsh")

    page.goto(f"{live_server.url}/actions/")
    page.get_by_role("link", name="Open").first.click()
    page.fill("#id_responded_on", "2026-11-05")
    page.get_by_role("button", name="Record").click()
    expect(page.locator("body")).to_contain_text("Recorded for")
    assert not [e for e in signed_in if "Content Security Policy" in e]


def test_report_chart_draws(live_server, page, imprint_a, signed_in):
    ProductFactory.create(work=WorkFactory.create(imprint=imprint_a), isbn13="9781908435500")
    customer_service_outcomes_ingest(
        outcomes=[
            OutcomeInput("9781908435500", issue, f"CS-{n}", "accepted",
                         AT - datetime.timedelta(days=30 * n), "csv", f"csv:{n}")
            for n, issue in enumerate(["delay", "delay", "out_of_stock", "revised_date"])
        ]
    )  # fmt: skip
    page.goto(f"{live_server.url}/reports/customer-service/")
    bars = page.locator("svg.chart rect.bar")
    expect(bars).to_have_count(4)
    box = bars.first.bounding_box()
    assert box is not None and box["height"] > 10 and box["width"] > 4
    page.screenshot(path="/tmp/colophon-report.png", full_page=True)
    assert not [e for e in signed_in if "Content Security Policy" in e]
