"""In a real browser: log in, and see only your own imprints in the switcher."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_and_switcher_shows_only_my_imprints(live_server, page, imprint_a, imprint_b):
    member(Role.MARKETING, imprint_a, "mark@a.test")
    member(Role.IMPRINT_ADMIN, imprint_b, "other@b.test")

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Email").fill("mark@a.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    options = page.locator("#imprint-switch option").all_inner_texts()
    assert options == ["All my imprints", "Harbour Lights"]
    assert "Northwind Press" not in page.content()

    page.select_option("#imprint-switch", label="Harbour Lights")
    expect(page.locator("body")).to_contain_text("Now working in Harbour Lights")
