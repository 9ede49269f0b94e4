"""Shared scenario steps for tests: one place instead of copied setups."""

from __future__ import annotations

import datetime
import importlib
import io
import os
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command

from accounts.models import Imprint
from integration.connectors.exstream.driver import record_key
from integration.delivery.gateway import ExstreamGateway
from integration.models import Audience, AudienceMember, ExstreamCommunication, ExstreamJob
from integration.setup.designs import exstream_catalogue_sync
from sandbox.exstream.catalogue import seed_exstream_sandbox
from sandbox.models import ExstreamSandboxCommunication
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ContractFactory,
    FieldMappingFactory,
    LicensedRightFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)


def batch_submitted(
    *,
    communication: ExstreamCommunication,
    imprint: Imprint | None,
    external_id: str,
    records: list[dict[str, Any]],
) -> ExstreamJob:
    """Submit records as one batch through the production path (the gateway: submit, then
    record the job for polling) and return the recorded job."""
    gateway = ExstreamGateway()
    submitted = gateway.submit_batch(
        external_id=external_id, communication=communication, records=records
    )
    gateway.record_job(
        submitted=submitted,
        external_id=external_id,
        communication=communication,
        imprint_id=imprint.pk if imprint else None,
        customer_keys=[record_key(r, communication.default_customer_key) for r in records],
    )
    return ExstreamJob.objects.get(job_id=submitted.job_id)


def add_members(audience: Audience, n: int, *, consent: bool = True, start: int = 1) -> None:
    AudienceMember.objects.bulk_create(
        [
            AudienceMember(
                audience=audience,
                row_number=i,
                email=f"reader{i}@members.test",
                name=f"Reader {i}",
                country="GB",
                consent=consent,
                channel_preference="print",
            )
            for i in range(start, start + n)
        ]
    )


LETTER = "Rights confirmation letter"


def rights_letter_setup(
    *, imprint: Imprint, domains: list[str], driver_format: str = "json"
) -> dict[str, Any]:
    """The sandbox Exstream catalogue synced (one letter) on ``domains``, a rights confirmation
    template for ``imprint`` mapped to the title, contract and recipient, and an uploaded list
    of three agents. Needs the sandbox running (its live server) and the communication types.
    ``driver_format="xml"``: the letter's design has an XML driver sample."""
    cache.clear()
    ExstreamGateway._clients.clear()
    seed_exstream_sandbox(only=[LETTER])
    ExstreamSandboxCommunication.objects.filter(name=LETTER).update(driver_format=driver_format)
    exstream_catalogue_sync(actor=None, domains=domains)
    exstream = ExstreamCommunication.objects.get(domain="production", name=LETTER)
    work = WorkFactory.create(imprint=imprint, title="Tides")
    ProductFactory.create(work=work)
    contract = ContractFactory.create(
        work=work, imprint=imprint, review_date=datetime.date(2027, 6, 1)
    )
    LicensedRightFactory.create(contract=contract, right_type="Translation", territory="FR")
    template = CommunicationTemplateFactory.create(
        imprint=imprint,
        communication_type=communication_type("rights-confirmation"),
        exstream_communication=exstream,
        channels=["print", "email"],
        # the uploaded agents have e-mail but no postal address
        optional_driver_fields=["recipientAddress"],
    )
    for driver, context, transforms in (
        ("recipientName", "recipient.name", []),
        ("recipientEmail", "recipient.email", []),
        ("recipientAddress", "recipient.address", []),
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
    audience = AudienceFactory.create(imprint=imprint, kind=Audience.Kind.UPLOADED, name="Agents")
    add_members(audience, 3)
    return {"work": work, "template": template, "audience": audience, "exstream": exstream}


def sandbox_clients_forgotten() -> None:
    """Forget cached tokens and clients (between tests that each run their own sandbox)."""
    cache.clear()
    ExstreamGateway._clients.clear()


# What `make run` runs, in its order (scripts/run.sh), with a small sandbox Consonance.
DEMO_COMMANDS: list[tuple[str, ...]] = [
    ("seed_demo",),
    # six works for speed; COLOPHON_DEMO_WORKS=60 builds make run's own size
    ("seed_sandbox", "--works", os.environ.get("COLOPHON_DEMO_WORKS", "6")),
    ("seed_sandbox_exstream",),
    ("sync_exstream",),
    ("sync_consonance",),
    ("seed_setup",),
    ("seed_demo_outcomes",),
    ("seed_demo_royalties",),
    ("seed_demo_actions",),
    ("seed_sandbox_changes",),
    ("sync_consonance",),
    ("seed_demo_flows",),
]


def build_demo() -> str:
    """Build the demo exactly as ``make run`` does (the connectors talk to the live server's
    sandbox over real HTTP: use the ``sandbox`` fixture). Returns the commands' output."""
    # a transactional test before this one flushed the migration-seeded communication types
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(apps, None)
    out = io.StringIO()
    for command in DEMO_COMMANDS:
        call_command(*command, stdout=out)
    return out.getvalue()
