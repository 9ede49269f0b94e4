"""Shared scenario steps for tests: one place instead of copied setups."""

from __future__ import annotations

import importlib
import io
from typing import Any

from django.apps import apps
from django.core.management import call_command

from accounts.models import Imprint
from integration.connectors.exstream.driver import record_key
from integration.delivery.gateway import ExstreamGateway
from integration.models import Audience, AudienceMember, ExstreamCommunication, ExstreamJob


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


# What `make run` runs, in its order (scripts/run.sh), with a small sandbox Consonance.
DEMO_COMMANDS: list[tuple[str, ...]] = [
    ("seed_demo",),
    ("seed_sandbox", "--works", "6"),
    ("seed_sandbox_exstream",),
    ("sync_exstream",),
    ("sync_consonance",),
    ("seed_setup",),
    ("seed_demo_outcomes",),
    ("seed_demo_royalties",),
    ("seed_demo_actions",),
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
