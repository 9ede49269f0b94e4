"""Login, throttling, imprint switcher, audit screen, error pages, security headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import log_action
from accounts.middleware import SESSION_KEY
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_login_page_renders_with_csp_header(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert b"Sign in to Colophon" in response.content


def test_login_with_email_and_password(rights_manager, password):
    client = Client()
    response = client.post(
        reverse("login"), {"username": "rights@a.test", "password": password}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == rights_manager
    assert b"Harbour Lights" in response.content


def test_wrong_password_is_refused_clearly(rights_manager):
    client = Client()
    response = client.post(reverse("login"), {"username": "rights@a.test", "password": "nope"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert (
        b"correct email" in response.content.lower()
        or b"enter a correct" in response.content.lower()
    )


def test_login_is_throttled_after_repeated_failures(rights_manager, password, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "rights@a.test", "password": "wrong"})
    # Even the right password is refused while locked out.
    response = client.post(reverse("login"), {"username": "rights@a.test", "password": password})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content


def test_pages_need_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_switcher_offers_only_my_imprints(login, viewer, imprint_b, outsider):
    client = login(outsider)
    response = client.get(reverse("home"))
    names = [i.name for i in response.context["my_imprints"]]
    assert names == ["Northwind Press"]
    assert b"Harbour Lights" not in response.content


def test_switching_to_a_foreign_imprint_is_refused(login, rights_manager, imprint_a, imprint_b):
    client = login(rights_manager)
    response = client.post(reverse("switch_imprint"), {"imprint": imprint_b.pk})
    assert response.status_code == 403
    assert SESSION_KEY not in client.session
    response = client.post(reverse("switch_imprint"), {"imprint": imprint_a.pk, "next": "/"})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == imprint_a.pk


def test_switch_ignores_offsite_next(login, rights_manager, imprint_a):
    client = login(rights_manager)
    response = client.post(
        reverse("switch_imprint"), {"imprint": imprint_a.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_audit_log_is_for_admins_and_filtered_by_imprint(
    login, admin_a, rights_manager, imprint_a, imprint_b
):
    log_action(actor=admin_a, verb="template.updated", target=imprint_a, data={"x": 1})
    log_action(actor=None, verb="secret.thing", target=imprint_b, data={"api_key": "abc"})
    assert login(rights_manager).get(reverse("audit_log")).status_code == 403
    response = login(admin_a).get(reverse("audit_log"))
    assert response.status_code == 200
    verbs = [e.verb for e in response.context["page"]]
    assert verbs == ["template.updated"]  # imprint B's row is not shown
    response = login(admin_a).get(reverse("audit_log"), {"verb": "setup.seeded"})
    assert list(response.context["page"]) == []
    assert b'<option value="setup.seeded" selected>Set up the demo</option>' in response.content
    log_action(actor=admin_a, verb="setup.seeded", target=imprint_a)
    response = login(admin_a).get(reverse("audit_log"), {"verb": "setup.seeded"})
    assert [e.verb for e in response.context["page"]] == ["setup.seeded"]
    assert b"Set up the demo" in response.content and b"setup.seeded</" not in response.content


def test_audit_filter_rejects_inverted_dates(login, admin_a):
    response = login(admin_a).get(
        reverse("audit_log"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert b"on or before" in response.content


def test_audit_rows_mask_secrets_and_are_append_only(admin_a, imprint_a):
    event = log_action(
        actor=admin_a,
        verb="connector.configured",
        target=imprint_a,
        data={"api_key": "k-123", "note": "Authorization: Bearer abcdefghijklmnop", "n": 3},
    )
    event.refresh_from_db()
    assert event.data["api_key"] == "•••"
    assert "abcdefghijklmnop" not in event.data["note"]
    assert event.data["n"] == 3
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert AuditEvent.objects.count() == 1


def test_friendly_404(login, rights_manager):
    response = login(rights_manager).get("/no-such-page/")
    assert response.status_code == 404
    assert b"couldn" in response.content


def test_admin_is_for_superusers_only(login, admin_a, superuser):
    assert login(admin_a).get("/admin/").status_code == 302
    assert login(superuser).get("/admin/").status_code == 200


def test_password_reset_sends_email(client, rights_manager, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "rights@a.test"}, follow=True)
    assert response.status_code == 200
    assert len(mailoutbox) == 1
    assert "rights@a.test" in mailoutbox[0].to


def test_navigation_depends_on_role(login, viewer, admin_a):
    viewer_items = {i["label"] for i in login(viewer).get("/").context["nav_items"]}
    admin_items = {i["label"] for i in login(admin_a).get("/").context["nav_items"]}
    assert "Operations" not in viewer_items
    assert "Operations" in admin_items
