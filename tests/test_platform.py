"""Health check, API shell, background work, deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from integration.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_database_and_worker(client):
    body = client.get("/healthz").json()
    assert body["database"]["status"] == "ok"
    assert body["worker"]["status"] == "unknown"
    WorkerHeartbeat.objects.create(name="w1", beat_at=timezone.now())
    assert client.get("/healthz").json()["worker"]["status"] == "ok"
    WorkerHeartbeat.objects.filter(name="w1").update(beat_at=timezone.now() - timedelta(hours=1))
    assert client.get("/healthz").json()["worker"]["status"] == "stale"


@pytest.mark.django_db
def test_worker_heartbeat_task_runs_after_commit(django_capture_on_commit_callbacks):
    from integration.lib.queue import enqueue

    with django_capture_on_commit_callbacks(execute=True):
        enqueue("integration.tasks.worker_heartbeat", "inline")
        assert not WorkerHeartbeat.objects.filter(name="inline").exists()  # waits for commit
    assert WorkerHeartbeat.objects.filter(name="inline").exists()


@pytest.mark.django_db
def test_openapi_schema_and_docs(client, viewer):
    client.force_login(viewer)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3" in response.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_api_needs_authentication_and_has_one_error_body():
    response = APIClient().get("/api/v1/")
    assert response.status_code in (401, 403)
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]


@pytest.mark.django_db
def test_token_authentication(rights_manager):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=rights_manager)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/").status_code == 200


@pytest.mark.django_db
def test_operations_page_is_for_admins(login, admin_a, viewer):
    assert login(viewer).get(reverse("operations:index")).status_code == 403
    response = login(admin_a).get(reverse("operations:index"))
    assert response.status_code == 200
    assert b"Worker" in response.content


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.pop("COLOPHON_TESTING", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "false",
            "SECRET_KEY": "x" * 30 + "production-like-secret-key-0123456789",
            "ALLOWED_HOSTS": "colophon.example.com",
            "DATABASE_URL": "sqlite:///:memory:",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", env={"DEBUG": "false", "SECRET_KEY": ""})
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert "make run" in result.stderr  # says what to do, instead of a traceback
    assert "Traceback" not in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("y" * 60)
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        env={"DEBUG": "false", "SECRET_KEY_FILE": str(key_file), "SECRET_KEY": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "y" * 60
