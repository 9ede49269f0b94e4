"""The randomized fault suite at a small size (``make test``): seeded and reproducible, bounded
in time. The large run is ``bench/faults.py`` (``make bench``). See tests/fault_suite.py for
the scenario and the invariants, and docs/reliability.md for the figures.

``FAULT_SCENARIOS`` / ``FAULT_SEED`` / ``FAULT_TIME_BUDGET`` change the size, the seed and the
time budget; ``FAULT_REPORT`` names a file the JSON report is written to."""

from __future__ import annotations

import datetime
import importlib
import json
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache

from integration.delivery.gateway import ExstreamGateway
from integration.models import CommunicationTemplate, ExstreamCommunication
from integration.setup.designs import exstream_catalogue_sync
from sandbox.exstream.catalogue import seed_exstream_sandbox
from tests.factories import (
    CommunicationTemplateFactory,
    ContractFactory,
    FieldMappingFactory,
    LicensedRightFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)
from tests.fault_suite import make_world, run_suite

pytestmark = pytest.mark.django_db(transaction=True)
LETTER = "Rights confirmation letter"


@pytest.fixture
def world(imprint_a, rights_manager, settings):
    """The sandbox catalogue synced (through the app, no network), and a rights confirmation
    template mapped to the recipient, title and contract."""
    settings.EXSTREAM_URL = ""
    settings.EXSTREAM_TOKEN_URL = ""
    settings.SANDBOX_BASE_URL = "http://sandbox.invalid"
    cache.clear()
    ExstreamGateway._clients.clear()
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    seed_exstream_sandbox(only=[LETTER])
    import random

    from tests.fault_suite import Plan, Report, injected  # the catalogue sync goes through it

    with injected(Plan(random.Random(0), Report(), rate=0.0, budget=0)):
        exstream_catalogue_sync(actor=None, domains=["production"])
    exstream = ExstreamCommunication.objects.get(domain="production", name=LETTER)
    work = WorkFactory.create(imprint=imprint_a, title="Tides")
    ProductFactory.create(work=work)
    contract = ContractFactory.create(
        work=work, imprint=imprint_a, review_date=datetime.date(2027, 6, 1)
    )
    LicensedRightFactory.create(contract=contract, right_type="Translation", territory="FR")
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
        ("territories", "licensed_rights.all", [{"op": "join", "key": "territory"}]),
        ("rightsGranted", "licensed_rights.all", [{"op": "join", "key": "right_type"}]),
        ("confirmByDate", "contract.review_date", [{"op": "date", "style": "iso"}]),
    ):
        FieldMappingFactory.create(
            template=template, driver_field=driver, context_field=context, transforms=transforms
        )
    yield make_world(template, work, rights_manager)
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
