"""The Sync screen names the Consonance it syncs from (it named the Exstream address)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_sync_screen_names_the_consonance_source(login, admin_a, settings):
    settings.CONSONANCE_URL = ""
    settings.EXSTREAM_URL = ""
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:8137"
    body = login(admin_a).get(reverse("sync:index")).content.decode()
    assert "Source: <code>http://127.0.0.1:8137/sandbox/consonance</code> — the built-in" in body
    assert "/sandbox/exstream" not in body

    settings.CONSONANCE_URL = "https://web.consonance.app"
    settings.EXSTREAM_URL = "https://exstream.example.test"
    body = login(admin_a).get(reverse("sync:index")).content.decode()
    assert "Source: <code>https://web.consonance.app</code>." in body
    assert "exstream.example.test" not in body
