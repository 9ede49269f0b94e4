"""Stored XSS sweep: imprint A's titles, contributors, payees, audiences, templates, rules,
outbox errors, import file names, audit rows and change events all carry markup (as a hostile
Consonance record, ONIX file, CSV upload or colleague could put there); every screen of the
project, and the browsable API, shows it as text — never as markup. Only the sandboxed preview
output (``exstream:preview_output_raw``) serves a stored document as it is, under a CSP that
allows no script."""

from __future__ import annotations

import pytest
from django.urls import reverse

import tests.test_policy_sweep as sweep
from tests.test_policy_sweep import (
    ALLOW_LIST,
    KWARGS,
    World,
    _body,
    _methods,
    swept_routes,
    world,  # noqa: F401  (the fixture)
)

PAYLOAD = "Zq<script>alert(1)</script><img src=x onerror=alert(2)>\"'"
RAW = ("<script>alert(1)", "<img src=x onerror")


@pytest.fixture
def hostile_world(db, request, monkeypatch) -> World:
    monkeypatch.setattr(sweep, "SECRET", PAYLOAD)
    return request.getfixturevalue("world")


@pytest.mark.parametrize("who", ["admin_a", "superuser"])
def test_stored_markup_is_shown_as_text_on_every_screen(hostile_world, who, request, login):
    client = login(request.getfixturevalue(who))
    failures: list[str] = []
    checked = 0
    for name, route in sorted(swept_routes().items()):
        if name in ALLOW_LIST or "GET" not in _methods(route):
            continue
        for build in KWARGS[name]:
            url = reverse(name, kwargs=build(hostile_world) or None)
            response = client.get(url, HTTP_ACCEPT="text/html")
            content_type = response.get("Content-Type", "")
            if "html" not in content_type:
                continue
            body = _body(response)
            if name == "exstream:preview_output_raw":
                csp = response.get("Content-Security-Policy", "")
                assert "sandbox" in csp and "default-src 'none'" in csp, csp
                continue
            checked += 1
            for raw in RAW:
                if raw in body:
                    failures.append(f"GET {url} ({name}): {raw!r} unescaped")
    assert checked > 50
    assert not failures, "\n".join(failures)
