"""Steps shared by the flow scenarios 1, 3, 5 and 7: the running app's sandboxes (Consonance and
Exstream over real HTTP), a Consonance sync, templates bound to the sandbox designs, the REST API
as a signed-in person, four eyes, and statuses polled back from the sandbox Exstream."""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import Imprint, User
from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.connectors.consonance.client import ConsonanceClient
from integration.delivery.gateway import ExstreamGateway
from integration.models import (
    Communication,
    CommunicationTemplate,
    CommunicationType,
    ExstreamCommunication,
    ExstreamJob,
    FieldMapping,
    SyncRun,
)
from integration.setup.designs import exstream_catalogue_sync
from integration.status.polling import exstream_email_events_pull, exstream_job_poll
from sandbox.consonance import store
from sandbox.exstream.catalogue import seed_exstream_sandbox
from sandbox.models import SandboxState

S = Communication.Status


@pytest.fixture(name="vendors")
def vendors_fixture(live_server, settings, imprint_a, imprint_b):
    """Both sandboxes over real HTTP on the live server, Consonance seeded with 12 works."""
    settings.SANDBOX_BASE_URL = live_server.url
    settings.CONSONANCE_URL = ""
    settings.CONSONANCE_API_KEY = ""
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    settings.HTTP_MAX_RETRIES = 3
    # The live server shares the test's in-memory SQLite connection: one request at a time.
    settings.CONSONANCE_PREFETCH = False
    cache.clear()
    ExstreamGateway._clients.clear()
    # a transactional test before this one flushed the seeded communication types
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    store.seed(works=12, reset=True)
    SandboxState.objects.update_or_create(pk=1, defaults={"page_size": 50})
    yield live_server
    cache.clear()
    ExstreamGateway._clients.clear()


def consonance_synced(*, full: bool = False) -> SyncRun:
    """Data arrives: one Consonance sync run over HTTP, as the scheduled job does it."""
    run = sync_run_start(full=full, enqueue_task=False)
    run = consonance_sync(run=run, client=ConsonanceClient(sleep=lambda s: None))
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    return run


def designs(*names: str) -> dict[str, ExstreamCommunication]:
    """The Exstream designs, seeded in the sandbox and read back through DAS."""
    seed_exstream_sandbox(only=list(names))
    exstream_catalogue_sync(actor=None, domains=["production"])
    return {n: ExstreamCommunication.objects.get(domain="production", name=n) for n in names}


def template(
    *,
    imprint: Imprint,
    type_code: str,
    design: ExstreamCommunication,
    mappings: dict[str, Any],
    channels: list[str],
    territory: str = "",
    locale: str = "en-GB",
    language: str = "",
    name: str = "",
    optional: tuple[str, ...] = (),
) -> CommunicationTemplate:
    """An active template bound to a design, each driver field mapped from a context field
    (``"work.title"``) or a (context field, transforms) pair."""
    offered = set(design.field_names)
    unmapped = [f for f in design.required_fields if f not in mappings or f in optional]
    tpl = CommunicationTemplate.objects.create(
        imprint=imprint,
        name=name or f"{type_code} {territory or 'any'} {locale}",
        communication_type=CommunicationType.objects.get(code=type_code),
        exstream_communication=design,
        channels=channels,
        territory_code=territory,
        language=language,
        locale=locale,
        effective_from=datetime.date(2020, 1, 1),
        status=CommunicationTemplate.Status.ACTIVE,
        optional_driver_fields=[f for f in unmapped if f in offered],
    )
    for driver, source in mappings.items():
        context, transforms = source if isinstance(source, tuple) else (source, [])
        FieldMapping.objects.create(
            template=tpl, driver_field=driver, context_field=context, transforms=transforms
        )
    return tpl


def api(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(user: User, url: str, data: dict[str, Any] | None = None, status: int = 200) -> Any:
    response = api(user).post(url, data or {}, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


def drafted(user: User, **data: Any) -> Communication:
    """A person drafts through the API (composing runs at once in tests)."""
    body = post(user, "/api/v1/communications/", data, status=201)
    comm = Communication.objects.get(pk=body["id"])
    assert comm.status == S.DRAFT, comm.compose_error
    return comm


def previewed(user: User, comm: Communication) -> list[dict[str, Any]]:
    previews = post(user, f"/api/v1/communications/{comm.pk}/preview/")["previews"]
    assert previews and all(p["error"] == "" for p in previews), previews
    return previews


def four_eyes(comm: Communication, *, drafter: User, approver: User) -> Communication:
    """Submitted by its drafter, refused to the drafter, approved by a colleague; the
    approval's chunks go to Exstream at once in tests."""
    post(drafter, f"/api/v1/communications/{comm.pk}/submit/")
    post(drafter, f"/api/v1/communications/{comm.pk}/approve/", status=403)
    post(approver, f"/api/v1/communications/{comm.pk}/approve/")
    return Communication.objects.get(pk=comm.pk)


def statuses_polled(*communications: Communication) -> None:
    """Statuses come back: the Exstream jobs of these communications (all open jobs when none
    is named) polled to their end (delivery files), then the e-mail events pulled."""
    jobs = list(ExstreamJob.objects.all())
    if communications:
        wanted = [f"colophon-comm-{c.pk}-" for c in communications]
        jobs = [j for j in jobs if any(j.external_id.startswith(w) for w in wanted)]
    for job in jobs:
        for _ in range(6):
            exstream_job_poll(job_pk=job.pk)
            job.refresh_from_db()
            if job.terminal:
                break
    exstream_email_events_pull(now=timezone.now() + datetime.timedelta(minutes=1), page_size=1000)


def message_statuses(comm: Communication) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in comm.messages.values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out
