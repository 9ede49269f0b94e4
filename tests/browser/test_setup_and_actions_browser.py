"""In a real browser: an imprint admin tries a template with a title (htmx) and creates a
compliance rule, bad input first; a project manager records a response on the Actions board."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from integration.models import ComplianceRule, ContributorAction, Message
from integration.status.contributor_actions import contributor_actions_open_for_communication
from tests.factories import (
    CommunicationFactory,
    CommunicationTemplateFactory,
    FieldMappingFactory,
    MessageFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_tries_a_template_then_adds_a_compliance_rule(
    live_server, page, imprint_a, admin_a, communication_types, sign_in, console_errors
):
    work = WorkFactory.create(imprint=imprint_a, title="The Salt Road")
    ProductFactory.create(work=work, isbn13="9781908435517")
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("rights-confirmation")
    )
    FieldMappingFactory.create(
        template=template, driver_field="workTitle", context_field="work.title"
    )
    FieldMappingFactory.create(template=template, driver_field="isbn", context_field="product.isbn")

    sign_in(admin_a)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup").click()
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="Templates").click()
    page.locator("#setup-rows").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Field mappings")).to_be_visible()

    page.get_by_label("Try with title").fill("no such book")
    page.get_by_role("button", name="Show driver data").click()
    expect(page.locator("#try-result")).to_contain_text("No title matches “no such book”")
    page.get_by_label("Try with title").fill("salt road")
    page.get_by_role("button", name="Show driver data").click()
    result = page.locator("#try-result")
    expect(result).to_contain_text("Driver data for The Salt Road")
    expect(result.locator("pre")).to_contain_text('"workTitle": "The Salt Road"')
    expect(result.locator("pre")).to_contain_text('"isbn": "9781908435517"')
    assert page.url.endswith(f"/setup/templates/{template.pk}/")  # swapped in place

    rules_link = page.get_by_role("navigation", name="Setup").get_by_role(
        "link", name="Compliance rules"
    )
    rules_link.click()
    expect(rules_link).to_have_attribute("aria-current", "page")
    expect(page.locator("#setup-rows")).to_contain_text("No compliance rules yet")
    page.get_by_role("link", name="New compliance rule").click()
    page.get_by_label("Name").fill("Office hours only")
    page.get_by_label("Kind").select_option(label="Only send within days and hours")
    weekdays = page.get_by_role("group", name="Weekdays")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        weekdays.get_by_role("checkbox", name=day).check()
    page.get_by_label("Start hour").fill("18")
    page.get_by_label("End hour").fill("9")
    page.get_by_role("button", name="Save").click()
    error = page.locator(".field.has-error")
    expect(error).to_contain_text("the window must end after it starts")
    expect(page.get_by_label("End hour")).to_have_attribute("aria-invalid", "true")
    assert not ComplianceRule.objects.exists()

    page.get_by_label("Start hour").fill("9")
    page.get_by_label("End hour").fill("18")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Created the compliance rule Office hours only"
    )
    expect(page.locator("#setup-rows")).to_contain_text("Office hours only")
    rule = ComplianceRule.objects.get()
    assert (rule.weekdays, rule.start_hour, rule.end_hour) == ([0, 1, 2, 3, 4], 9, 18)
    assert not console_errors


def test_project_manager_records_a_response_on_the_board(
    live_server, page, imprint_a, project_manager, communication_types, sign_in, console_errors
):
    work = WorkFactory.create(imprint=imprint_a, title="Harbour Songs")
    comm = CommunicationFactory.create(
        work=work,
        imprint=imprint_a,
        communication_type=communication_type("proof-approval"),
        name="First proofs",
        submitted_by=project_manager,
    )
    MessageFactory.create(
        communication=comm, recipient_name="Ada Quill", status=Message.Status.SUBMITTED
    )
    MessageFactory.create(
        communication=comm, recipient_name="Ben Marsh", status=Message.Status.SUBMITTED
    )
    assert len(contributor_actions_open_for_communication(communication=comm)) == 2

    sign_in(project_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Actions").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="Open the action for Ada Quill").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Quill")

    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    page.get_by_label("Date").fill(tomorrow.isoformat())
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".field.has-error")).to_contain_text("The date is in the future.")

    page.get_by_label("What happened").select_option(label="The contributor responded")
    page.get_by_label("Date").fill(datetime.date.today().isoformat())
    page.get_by_label("Note").fill("Approved by phone")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded for Ada Quill")
    expect(page.locator("dl")).to_contain_text("Approved by phone")

    page.get_by_role("link", name="‹ Outstanding actions").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ben Marsh")
    ada = ContributorAction.objects.get(recipient_name="Ada Quill")
    assert ada.state == ContributorAction.State.RESPONDED
    assert ada.message.status == Message.Status.RESPONDED
    assert not console_errors
