"""Keyboard only: sign in with Tab and Enter, switch imprint with the arrow keys and Enter,
see where the focus is; and every field of the new-communication form has a label."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from tests.factories import PASSWORD, AudienceFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _focused(page: Page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


def _tab_to(page: Page, target: str, limit: int = 12) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target!r}")


def test_sign_in_and_switch_imprint_with_the_keyboard(
    live_server, page, imprint_a, imprint_b, console_errors
):
    user = member(Role.RIGHTS_MANAGER, imprint_a, "keys@a.test")
    Membership.objects.create(user=user, imprint=imprint_b, role=Role.VIEWER)
    page.goto(f"{live_server.url}/accounts/login/")

    assert _focused(page) == "id_username"  # the e-mail field has the focus on arrival
    page.keyboard.type("keys@a.test")
    page.keyboard.press("Tab")
    assert _focused(page) == "id_password"
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline == ["solid", "3px"], "keyboard focus must be visible"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert _focused(page) == "Sign in"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    page.keyboard.press("Tab")
    assert _focused(page) == "Skip to content"  # the first stop skips the top bar
    _tab_to(page, "imprint-switch", limit=20)
    expect(page.locator("#imprint-switch")).to_have_accessible_description(
        "With the keyboard: arrow keys choose, Enter switches."
    )
    page.keyboard.press("ArrowDown")  # Harbour Lights: chosen, not yet switched
    expect(page.locator("#imprint-switch")).to_have_value(str(imprint_a.pk))
    page.keyboard.press("ArrowDown")  # Northwind Press
    expect(page.locator("#imprint-switch")).to_have_value(str(imprint_b.pk))
    assert "Now working in" not in page.content()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Now working in Northwind Press")
    expect(page.locator("#imprint-switch")).to_have_value(str(imprint_b.pk))
    assert not console_errors


def test_every_field_of_the_new_communication_form_is_labelled(
    live_server, page, imprint_a, rights_manager, communication_types, sign_in, console_errors
):
    AudienceFactory.create(imprint=imprint_a, name="Agents")
    sign_in(rights_manager)
    page.goto(f"{live_server.url}/communications/new/")
    fields = page.locator(
        "main form.card :is(input, select, textarea):not([type=hidden]):not([type=submit])"
    )
    assert fields.count() >= 12  # 11 fields, channels as several checkboxes
    for i in range(fields.count()):
        field = fields.nth(i)
        field_id = field.get_attribute("id")
        assert field_id, field.evaluate("e => e.outerHTML")
        assert page.locator(f'label[for="{field_id}"]').count() == 1, field_id
        name = field.evaluate("e => e.labels.length ? e.labels[0].textContent.trim() : ''")
        assert name, f"{field_id} has no label text"
        described = field.get_attribute("aria-describedby")
        if described:
            assert page.locator(f"#{described}").count() == 1, f"{field_id} -> {described}"
    channels = page.get_by_role("group", name="Channels")
    expect(channels).to_have_accessible_description("Empty: the template's channels.")
    expect(channels.get_by_role("checkbox", name="E-mail")).to_be_visible()
    expect(page.get_by_label("Offer", exact=True)).to_have_accessible_description(
        "Optional, e.g. 20% off until launch day."
    )
    assert not console_errors
