"""Steps shared by the flow scenarios 2, 4, 6 and 8: the app's sandboxes (Consonance and
Exstream) over real HTTP on the live server, a sync, templates mapped to the sandbox's designs,
the REST API as a person uses it, and Exstream's statuses polled back."""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import Imprint
from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.delivery.gateway import ExstreamGateway
from integration.delivery.outbox import outbox_dispatch
from integration.models import (
    Communication,
    CommunicationTemplate,
    ExstreamCommunication,
    SyncRun,
    Work,
)
from integration.setup.designs import exstream_catalogue_sync
from integration.status.polling import exstream_email_events_pull, exstream_poll_open_jobs
from sandbox.consonance import store
from sandbox.exstream.catalogue import seed_exstream_sandbox
from tests.factories import CommunicationTemplateFactory, FieldMappingFactory, communication_type

COMMON = {
    "recipientName": "recipient.name",
    "recipientEmail": "recipient.email",
    "imprintName": "imprint.name",
}
TITLE = {**COMMON, "workTitle": "work.title", "isbn": "product.isbn"}
ISO = [{"op": "date", "style": "iso"}]


@pytest.fixture
def flow(sandbox, settings, imprint_a, imprint_b):
    """Both sandboxes on the live server, the communication types seeded again (a
    transactional test flushes data migrations), Consonance seeded with four works."""
    settings.CONSONANCE_PREFETCH = False  # the live server shares SQLite's one connection
    settings.HTTP_MAX_RETRIES = 3
    cache.clear()
    ExstreamGateway._clients.clear()
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    store.seed(works=4, reset=True)
    yield sandbox
    cache.clear()
    ExstreamGateway._clients.clear()


def designs(*names: str) -> None:
    """The Exstream designs the imprint's templates bind to, read from the sandbox's DAS."""
    seed_exstream_sandbox(only=list(names))
    exstream_catalogue_sync(actor=None, domains=["production"])


def sync(full: bool = False) -> SyncRun:
    run = consonance_sync(run=sync_run_start(full=full, enqueue_task=False))
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    return run


def title(name: str) -> Work:
    return Work.objects.get(title=name)


def template(
    *,
    imprint: Imprint,
    code: str,
    design: str,
    fields: dict[str, str],
    transforms: dict[str, list[dict[str, Any]]] | None = None,
    channels: tuple[str, ...] = ("email",),
    optional: tuple[str, ...] = (),
    **extra: Any,
) -> CommunicationTemplate:
    exstream = ExstreamCommunication.objects.get(domain="production", name=design)
    tmpl: CommunicationTemplate = CommunicationTemplateFactory.create(
        imprint=imprint,
        communication_type=communication_type(code),
        exstream_communication=exstream,
        channels=list(channels),
        optional_driver_fields=["recipientAddress", *optional],
        **extra,
    )
    for driver, context in fields.items():
        FieldMappingFactory.create(
            template=tmpl,
            driver_field=driver,
            context_field=context,
            transforms=(transforms or {}).get(driver, []),
        )
    return tmpl


def api(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(user: Any, url: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
    response = api(user).post(url, body or {}, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def get(user: Any, url: str, status: int = 200) -> Any:
    response = api(user).get(url)
    assert response.status_code == status, response.content
    return response.json()


def draft(user: Any, **body: Any) -> Communication:
    data = post(user, "/api/v1/communications/", body, status=201)
    return Communication.objects.get(pk=data["id"])


def preview(user: Any, comm: Communication) -> list[dict[str, Any]]:
    previews: list[dict[str, Any]] = post(user, f"/api/v1/communications/{comm.pk}/preview/")[
        "previews"
    ]
    assert previews and all(p["error"] == "" for p in previews), previews
    assert {o["mime_type"] for p in previews for o in p["outputs"]}
    return previews


def four_eyes(drafter: Any, approver: Any, comm: Communication) -> Communication:
    """Submit as the drafter; the drafter may not approve; the approver does."""
    post(drafter, f"/api/v1/communications/{comm.pk}/submit/")
    post(drafter, f"/api/v1/communications/{comm.pk}/approve/", status=403)
    post(approver, f"/api/v1/communications/{comm.pk}/approve/")
    return Communication.objects.get(pk=comm.pk)


def statuses_back() -> None:
    """What the worker's schedules do: poll the open Exstream jobs until they finish (each read
    moves a sandbox job on), pull the e-mail events, and send queued write-backs."""
    for _ in range(4):
        exstream_poll_open_jobs()
    # the sandbox stamps a job's e-mail events a few seconds apart from when it completes
    exstream_email_events_pull(now=timezone.now() + datetime.timedelta(minutes=1))
    outbox_dispatch(worker="flow")


def statuses(comm: Communication) -> dict[str, str]:
    return dict(comm.messages.values_list("recipient_email", "status"))
