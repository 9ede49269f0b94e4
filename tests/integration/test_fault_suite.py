"""The randomized fault suite at a small size (``make test``): seeded and reproducible, bounded
in time. The large run is ``bench/faults.py`` (``make bench``). See tests/fault_suite.py for
the scenario and the invariants, and docs/reliability.md for the figures.

``FAULT_SCENARIOS`` / ``FAULT_SEED`` / ``FAULT_TIME_BUDGET`` change the size, the seed and the
time budget; ``FAULT_REPORT`` names a file the JSON report is written to."""

from __future__ import annotations

import importlib
import json
import os
import random
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.db import connection

from integration.catalogue.sync import consonance_sync, sync_run_start
from integration.connectors.consonance.client import ConsonanceClient
from integration.delivery.gateway import ExstreamGateway
from integration.models import CommunicationTemplate, ExstreamCommunication, SyncRun, Work
from integration.setup.designs import exstream_catalogue_sync
from sandbox.consonance import store
from sandbox.exstream.catalogue import seed_exstream_sandbox
from sandbox.models import SandboxState
from tests.factories import (
    CommunicationTemplateFactory,
    FieldMappingFactory,
    communication_type,
)
from tests.fault_suite import Plan, Report, injected, make_world, run_suite

pytestmark = pytest.mark.django_db(transaction=True)
LETTER = "Rights confirmation letter"
# Source titles may lack a contract or rights: defaults keep every recipient composable.
WORLD = {"op": "default", "value": "WORLD"}
ALL = {"op": "default", "value": "All rights"}
SOON = {"op": "default", "value": "2027-06-01"}


@pytest.fixture
def world(imprint_a, rights_manager, settings):
    """The sandbox catalogue synced (through the app, no network), and a rights confirmation
    template mapped to the recipient, title and contract."""
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    settings.SANDBOX_BASE_URL = "http://sandbox.invalid"
    settings.CONSONANCE_URL = ""
    settings.CONSONANCE_API_KEY = ""
    # SQLite's in-memory test database takes one writer at a time: no prefetch thread there.
    settings.CONSONANCE_PREFETCH = connection.vendor == "postgresql"
    cache.clear()
    ExstreamGateway._clients.clear()
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    seed_exstream_sandbox(only=[LETTER])
    store.seed(works=8, reset=True)
    SandboxState.objects.update_or_create(pk=1, defaults={"page_size": 3})

    with injected(Plan(random.Random(0), Report(), rate=0.0, budget=0)):
        exstream_catalogue_sync(actor=None, domains=["production"])
    exstream = ExstreamCommunication.objects.get(domain="production", name=LETTER)
    # The title written to comes from the source, so a full resync has nothing local to
    # withdraw: an initial sync first, then one of imprint A's mirrored titles with ISBNs.
    with injected(Plan(random.Random(0), Report(), rate=0.0, budget=0)):
        run = consonance_sync(
            run=sync_run_start(full=True, enqueue_task=False), client=ConsonanceClient()
        )
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    work = next(
        w
        for w in Work.objects.filter(imprint=imprint_a).order_by("pk")
        if w.products.exists()
        and not w.products.filter(isbn13__isnull=True).exists()
        and w.contracts.filter(consonance_id__isnull=False).exists()
    )
    # The letters are about this contract: their deliveries and answers are written back to it.
    contract = work.contracts.filter(consonance_id__isnull=False).order_by("pk").first()
    template: CommunicationTemplate = CommunicationTemplateFactory.create(
        imprint=imprint_a,
        communication_type=communication_type("rights-confirmation"),
        exstream_communication=exstream,
        channels=["print", "email"],
        optional_driver_fields=["recipientAddress"],
    )
    for driver, context, transforms in (
        ("recipientName", "recipient.name", []),
        ("recipientEmail", "recipient.email", []),
        ("imprintName", "imprint.name", []),
        ("workTitle", "work.title", []),
        ("isbn", "product.isbn", []),
        ("territories", "licensed_rights.all", [{"op": "join", "key": "territory"}, WORLD]),
        ("rightsGranted", "licensed_rights.all", [{"op": "join", "key": "right_type"}, ALL]),
        ("confirmByDate", "contract.review_date", [{"op": "date", "style": "iso"}, SOON]),
    ):
        FieldMappingFactory.create(
            template=template, driver_field=driver, context_field=context, transforms=transforms
        )
    yield make_world(template, work, rights_manager, contract)
    cache.clear()
    ExstreamGateway._clients.clear()


def test_randomized_faults_lose_and_duplicate_nothing(world):
    scenarios = int(os.environ.get("FAULT_SCENARIOS", "12"))
    seed = int(os.environ.get("FAULT_SEED", "20261128"))
    budget = float(os.environ.get("FAULT_TIME_BUDGET", "40"))
    report = run_suite(world=world, scenarios=scenarios, seed=seed, time_budget=budget)
    figures = report.as_dict()
    if path := os.environ.get("FAULT_REPORT"):
        Path(path).write_text(json.dumps(figures), encoding="utf-8")
    assert report.ok, figures
    assert report.scenarios >= min(scenarios, 3), figures
    assert report.faults_injected > 0, figures
    assert report.lost == report.duplicated == 0, figures
    assert report.stuck == report.backwards == report.wrong_final_status == 0, figures
    assert report.writebacks > 0, figures
    assert report.writebacks_lost == report.writebacks_duplicated == 0, figures
