"""Issue 12, item 3: the sandbox is served only when SANDBOX_ENABLED, it never accepts the
product's credentials, and its pages show an imprint's staff only their imprints' titles."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import clear_url_caches

import config.urls
from sandbox.consonance import store
from sandbox.models import SandboxWork

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SANDBOX_URLS = [
    ("get", "/sandbox/"),
    ("get", "/sandbox/exstream/control/"),
    ("post", "/sandbox/exstream/tenants/colophon/oauth2/token"),
    ("get", "/sandbox/exstream/orchestration/api/v1/runtime/production/jobs"),
    ("post", "/sandbox/consonance/graphql"),
    ("get", "/sandbox/consonance/api/v4/products.json"),
]


@pytest.fixture
def sandbox_off(settings):
    settings.SANDBOX_ENABLED = False
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.SANDBOX_ENABLED = True
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), SANDBOX_URLS)
def test_sandbox_urls_do_not_exist_when_disabled(sandbox_off, method, url, superuser):
    client = Client()
    client.force_login(superuser)
    assert getattr(client, method)(url).status_code == 404


@pytest.mark.django_db
def test_sandbox_urls_exist_when_enabled(superuser):
    client = Client()
    client.force_login(superuser)
    assert client.get("/sandbox/").status_code == 200
    assert client.post("/sandbox/consonance/graphql").status_code == 401


def test_sandbox_is_off_by_default_in_production_settings(tmp_path):
    env_file = BASE_DIR / ".env"
    if env_file.exists() and "SANDBOX_ENABLED" in env_file.read_text():
        pytest.skip("this checkout's .env (written by make run) sets SANDBOX_ENABLED")
    env = {k: v for k, v in os.environ.items() if k not in ("SANDBOX_ENABLED", "COLOPHON_TESTING")}
    env.update({"DEBUG": "false", "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": ""})
    out = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.SANDBOX_ENABLED)"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


@pytest.mark.django_db
def test_the_sandbox_never_accepts_the_real_consonance_key(settings):
    settings.CONSONANCE_API_KEY = "the-real-production-key"
    query = {"query": "{ works(first: 1) { nodes { id } } }"}
    real = Client().post(
        "/sandbox/consonance/graphql",
        query,
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer the-real-production-key",
    )
    assert real.status_code == 401
    rest = Client().get(
        "/sandbox/consonance/api/v4/products.json",
        HTTP_AUTHORIZATION="Token token=the-real-production-key",
    )
    assert rest.status_code == 401


def test_the_real_consonance_key_is_never_sent_to_the_sandbox(settings):
    from integration.connectors.consonance.client import SANDBOX_KEY, api_key

    settings.CONSONANCE_API_KEY = "the-real-production-key"
    settings.CONSONANCE_URL = ""
    assert api_key() == SANDBOX_KEY
    settings.CONSONANCE_URL = "https://web.consonance.app"
    assert api_key() == "the-real-production-key"


@pytest.mark.django_db
def test_sandbox_control_shows_only_the_users_imprints(login, admin_a, outsider, superuser):
    store.seed(works=6, reset=True)
    harbour = SandboxWork.objects.filter(imprint_id=101).first()
    assert harbour is not None
    title = harbour.data["title"]
    assert title in login(admin_a).get("/sandbox/").content.decode()
    assert title in login(superuser).get("/sandbox/").content.decode()
    page = login(outsider).get("/sandbox/").content.decode()
    assert title not in page and "Harbour Lights" not in page
    refused = login(outsider).post(
        "/sandbox/", {"form": "simulate", "change": "stage", "work_id": harbour.pk}
    )
    assert "in your imprints" in refused.content.decode()
    assert SandboxWork.objects.get(pk=harbour.pk).data == harbour.data


@pytest.mark.django_db
def test_sandbox_job_list_is_for_superusers_only(login, admin_a, superuser):
    from django.utils import timezone

    from sandbox.models import ExstreamSandboxJob

    ExstreamSandboxJob.objects.create(
        job_id="job-secret-1",
        flow_instance_id="f",
        domain="production",
        channel="c",
        external_id="ext-harbour-1",
        created_at=timezone.now(),
    )
    assert "ext-harbour-1" not in login(admin_a).get("/sandbox/exstream/control/").content.decode()
    assert "ext-harbour-1" in login(superuser).get("/sandbox/exstream/control/").content.decode()


@pytest.mark.django_db
def test_the_sandbox_webhook_secret_is_refused_when_the_sandbox_is_off(settings):
    from integration.connectors.exstream.webhooks import SANDBOX_EVENTS_SECRET, configured_secrets

    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_EVENTS_SECRET = ""
    assert configured_secrets() == [SANDBOX_EVENTS_SECRET]
    settings.SANDBOX_ENABLED = False
    assert configured_secrets() == []


@pytest.mark.django_db
def test_api_schema_and_docs_need_a_signed_in_user(login, viewer):
    for url in ("/api/schema/", "/api/docs/"):
        assert Client().get(url).status_code in (401, 403)
        assert login(viewer).get(url).status_code == 200
