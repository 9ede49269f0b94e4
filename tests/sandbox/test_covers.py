"""The sandbox serves generated covers, so the title page shows a cover with no network."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxWork

pytestmark = pytest.mark.django_db


def test_cover_is_an_svg_with_the_escaped_title(client):
    SandboxWork.objects.create(
        id=7, imprint_id=101, data={"title": "Salt & <Sea>", "contributorPrettyList": "A. Writer"}
    )
    response = client.get("/sandbox/consonance/covers/7.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert "Salt &amp; &lt;Sea&gt;" in body
    assert "<Sea>" not in body


def test_unknown_cover_is_404(client):
    assert client.get("/sandbox/consonance/covers/999.svg").status_code == 404
