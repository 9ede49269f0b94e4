"""Styled "not found" pages under DEBUG too (make run), and API docs served from our own static
files so the CSP lets them run."""

from __future__ import annotations

import pytest

from tests.factories import CommunicationFactory, WorkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_unknown_address_shows_the_styled_page_under_debug(debug, login, rights_manager):
    response = login(rights_manager).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn&#x27;t find that page" in html or "We couldn't find that page" in html
    assert "URLconf" not in html and "Using the URLconf" not in html
    assert 'class="topbar"' in html  # the normal page frame, with navigation


def test_another_imprints_record_is_the_same_styled_not_found(debug, login, outsider, imprint_a):
    comm = CommunicationFactory.create(
        imprint=imprint_a, work=WorkFactory.create(imprint=imprint_a)
    )
    response = login(outsider).get(f"/communications/{comm.pk}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "belongs to an imprint you are not part of" in html
    assert "Traceback" not in html and "No Communication matches" not in html


def test_api_404_stays_json_under_debug(debug, login, rights_manager):
    response = login(rights_manager).get("/api/v1/communications/999999/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_slash_is_still_appended_before_not_found(debug, login, rights_manager):
    response = login(rights_manager).get("/communications")
    assert response.status_code == 301 and response["Location"] == "/communications/"


def test_forbidden_page_says_why(login, rights_manager):
    response = login(rights_manager).get("/operations/")
    assert response.status_code == 403
    assert "change your role" not in response.content.decode()


def _directives(policy: str) -> dict[str, str]:
    parts = (d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def test_swagger_ui_loads_nothing_from_a_cdn(client, marketing):
    client.force_login(marketing)  # the API docs need a signed-in user outside development
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html.replace(" ", "")  # start-up script is a file, not inline
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    csp = _directives(response["Content-Security-Policy"])  # their order is not fixed
    assert csp["script-src"] == "'self'"  # no inline script, no CDN
    assert csp["style-src"] == "'self' 'unsafe-inline'"  # Swagger UI's run-time styles only


def test_redoc_is_served_locally_and_only_it_allows_inline_styles(client, marketing):
    client.force_login(marketing)
    response = client.get("/api/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
    assert "cdn" not in html.lower()
    assert "fonts.googleapis.com" not in html
    assert "style-src 'self' 'unsafe-inline'" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in client.get("/accounts/login/")["Content-Security-Policy"]
