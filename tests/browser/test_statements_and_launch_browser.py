"""In a real browser: royalties staff find *Statements* in the menu, edit a statement rule (bad
input first, answered next to the field) and a payee profile (found by name); marketing opens a
title's launch plan from the title page and asks for another territory."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from integration.models import PayeeProfile, StatementRule, SupportingResource
from tests.factories import (
    AudienceFactory,
    ContactFactory,
    ContributionFactory,
    ProductFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_royalties_edits_a_rule_and_a_payee_profile(
    live_server, page, imprint_a, royalties, sign_in, console_errors
):
    rule = StatementRule.objects.create(
        imprint=imprint_a, name="Overseas withholding", withholding_rate=Decimal("0.1")
    )
    work = WorkFactory.create(imprint=imprint_a)
    for name in ("Ada Quill", "Bo Marsh"):
        contact = ContactFactory.create(name=name)
        ContributionFactory.create(work=work, contact=contact)
        PayeeProfile.objects.create(imprint=imprint_a, contact=contact, channel="print")

    sign_in(royalties)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statements").click()
    expect(page.get_by_role("heading", name="Statement rules")).to_be_visible()
    page.get_by_role("link", name="Edit Overseas withholding").click()
    expect(page.locator("#id_imprint")).to_be_focused()  # the first field has the focus
    page.get_by_label("Withholding rate").fill("1.5")
    page.get_by_role("button", name="Save").click()
    field = page.locator(".field.has-error")
    expect(field).to_contain_text("Withholding rate")
    expect(field.locator(".error")).to_have_text("A fraction from 0 to below 1 (0.2 is 20%).")
    expect(page.get_by_label("Withholding rate")).to_be_focused()  # back where the error is
    page.get_by_label("Withholding rate").fill("0.2")
    page.get_by_label("Note on the statement").fill("UK basic-rate tax is withheld.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved the statement rule")
    row = page.locator("#statement-rows tr", has_text="Overseas withholding")
    expect(row).to_contain_text("20%")
    rule.refresh_from_db()
    assert rule.withholding_rate == Decimal("0.2")

    page.get_by_role("navigation", name="Statements").get_by_role(
        "link", name="Payee profiles"
    ).click()
    page.get_by_label("Payee name").fill("quill")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#payee-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Quill")
    page.get_by_role("link", name="Edit Ada Quill").click()
    page.get_by_label("Secure web").check()
    page.get_by_label("Author group").fill("Poets")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved the payee profile of Ada Quill")
    expect(page.locator("#payee-rows tr", has_text="Ada Quill")).to_contain_text("Secure web")
    assert PayeeProfile.objects.get(contact__name="Ada Quill").channel == "web"
    assert console_errors == []


def test_marketing_opens_a_titles_launch_plan(
    live_server, page, imprint_a, marketing, communication_types, sign_in, console_errors
):
    work = WorkFactory.create(imprint=imprint_a, title="The Salt Road")
    for isbn, form, desc, sale, not_sale in (
        ("9781908435517", "BB", "Hardback", ["WORLD"], []),
        ("9781908435524", "DG", "E-book", ["GB"], ["US"]),
    ):
        ProductFactory.create(
            work=work,
            isbn13=isbn,
            product_form=form,
            product_form_description=desc,
            publishing_status="02",
            availability="10",
            publication_date=datetime.date(2027, 3, 4),
            for_sale_territories=sale,
            not_for_sale_territories=not_sale,
        )
    SupportingResource.objects.create(
        work=work, url=f"{live_server.url}/static/img/colophon.svg", is_cover=True
    )
    TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Follow-up two weeks after publication",
        event="post_publication",
        days_before=14,
        communication_type=communication_type("post-launch-follow-up"),
        audience=AudienceFactory.create(imprint=imprint_a, name="Advance readers"),
    )

    sign_in(marketing)
    page.goto(f"{live_server.url}/titles/{work.pk}/")
    page.get_by_role("link", name="Launch plan").click()
    expect(page.get_by_role("heading", name="Launch plan: The Salt Road")).to_be_visible()
    expect(page.get_by_alt_text("Cover of The Salt Road")).to_be_visible()
    formats = page.locator("section", has=page.get_by_role("heading", name="What the launch"))
    expect(formats).to_contain_text("What the launch in GB would send")
    expect(formats.locator("tr", has_text="E-book")).to_contain_text("Advance reader")
    follow_ups = page.locator("section", has=page.get_by_role("heading", name="Post-launch"))
    expect(follow_ups).to_contain_text("18 Mar 2027 (14 days after publication)")

    territory = page.get_by_label("Territory")
    expect(territory).to_be_focused()
    territory.fill("US")
    territory.press("Enter")
    expect(formats).to_contain_text("What the launch in US would send")
    expect(formats.locator("tr", has_text="E-book")).to_contain_text("not for sale in US")
    expect(page.get_by_role("button", name="Draft the launch communications")).to_be_visible()
    assert console_errors == []
