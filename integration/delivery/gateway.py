"""The one small adapter between Compose/dispatch and the Exstream connector.

Everything Compose needs from Exstream goes through ``gateway()``: on-demand previews, batch
submission with a stable external id, and the look-up by external id that the outbox asks for
before it ever submits a chunk a second time. Tests may swap the gateway with ``use_gateway``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.audit import log_action
from accounts.types import Actor
from integration.connectors.exstream.base import base_url, token_url
from integration.connectors.exstream.client import ExstreamClient
from integration.delivery.preview import preview_generate
from integration.models import ExstreamCommunication, ExstreamJob


@dataclass
class Submitted:
    job_id: str
    flow_instance_ids: list[str] = field(default_factory=list)
    domain: str = ""
    channel: str = ""
    flow_instances: list[dict[str, Any]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "flow_instance_ids": self.flow_instance_ids,
            "domain": self.domain,
            "channel": self.channel,
        }


class Gateway(Protocol):
    def submit_batch(
        self,
        *,
        external_id: str,
        communication: ExstreamCommunication,
        records: Sequence[Mapping[str, Any]],
    ) -> Submitted: ...

    def find_batch(self, external_id: str) -> Submitted | None: ...

    def record_job(
        self,
        *,
        submitted: Submitted,
        external_id: str,
        communication: ExstreamCommunication,
        imprint_id: int | None,
        customer_keys: list[str],
    ) -> None: ...

    def preview(
        self,
        *,
        actor: Actor,
        exstream_communication: ExstreamCommunication,
        driver_data: dict[str, Any],
        imprint: Any,
        customer_key: str,
        customer_key_field: str = "",
    ) -> list[dict[str, Any]]: ...


class ExstreamGateway:
    """The real thing: ``integration.connectors.exstream`` (OTDS token, XSRF, readable
    errors). One client per process and endpoint, so the token and XSRF are reused across chunks."""

    _clients: dict[tuple[str, str], Any] = {}

    def client(self) -> Any:
        key = (base_url(), token_url())
        if key not in self._clients:
            self._clients.clear()
            self._clients[key] = ExstreamClient()
        return self._clients[key]

    def submit_batch(
        self,
        *,
        external_id: str,
        communication: ExstreamCommunication,
        records: Sequence[Mapping[str, Any]],
    ) -> Submitted:
        result = self.client().submit_batch(
            external_id=external_id, communication=communication, records=records
        )
        return Submitted(
            job_id=result.job_id,
            flow_instance_ids=list(result.flow_instance_ids),
            domain=result.domain,
            channel=result.channel,
            flow_instances=list(result.flow_instances),
        )

    def find_batch(self, external_id: str) -> Submitted | None:
        """The batch sent under ``external_id``, if Exstream has it: by the jobs' ``externalId``,
        or, where the server does not set it, by the inputs of the batch channel's jobs of the
        last two days (an outbox row is retried within that; see the connector)."""
        jobs = self.client().find_jobs_by_external_id(
            external_id,
            channel=settings.EXSTREAM_BATCH_CHANNEL,
            since=timezone.localdate() - datetime.timedelta(days=2),
        )
        if not jobs:
            return None
        job = jobs[0]
        job_id = str(job.get("id", ""))
        instances = self.client().list_flow_instances(job_id)
        return Submitted(
            job_id=job_id,
            flow_instance_ids=[str(i.get("id")) for i in instances],
            domain=str(job.get("domainId") or settings.EXSTREAM_DOMAIN),
            channel=str(job.get("channel") or ""),
            flow_instances=instances,
        )

    def record_job(
        self,
        *,
        submitted: Submitted,
        external_id: str,
        communication: ExstreamCommunication,
        imprint_id: int | None,
        customer_keys: list[str],
    ) -> None:
        """Track the batch for runtime polling (idempotent on the job id)."""
        status = "started"
        if submitted.flow_instances:
            status = str(submitted.flow_instances[0].get("status") or "started")
        job, created = ExstreamJob.objects.get_or_create(
            job_id=submitted.job_id,
            defaults={
                "external_id": external_id,
                "domain": submitted.domain or settings.EXSTREAM_DOMAIN,
                "channel": submitted.channel or settings.EXSTREAM_BATCH_CHANNEL,
                "exstream_communication": communication,
                "imprint_id": imprint_id,
                "status": status,
                "flow_instance_ids": submitted.flow_instance_ids,
                "flow_instances": submitted.flow_instances,
                "customer_keys": customer_keys,
            },
        )
        if created:
            log_action(
                actor=None,
                verb="exstream.batch_submitted",
                target=job,
                imprint=imprint_id,
                data={"external_id": external_id, "records": len(customer_keys)},
            )

    def preview(
        self,
        *,
        actor: Actor,
        exstream_communication: ExstreamCommunication,
        driver_data: dict[str, Any],
        imprint: Any,
        customer_key: str,
        customer_key_field: str = "",
    ) -> list[dict[str, Any]]:
        outputs = preview_generate(
            actor=actor,
            exstream_communication=exstream_communication,
            driver_data=driver_data,
            imprint=imprint,
            customer_key=customer_key,
            customer_key_field=customer_key_field,
        )
        return [
            {
                "id": o.pk,
                "mime_type": o.mime_type,
                "queue_name": o.queue_name,
                "size": o.size,
                "url": reverse("exstream:preview_output", args=[o.pk]),
            }
            for o in outputs
        ]


_override: list[Gateway] = []


def gateway() -> Gateway:
    if _override:
        return _override[-1]
    return ExstreamGateway()


@contextmanager
def use_gateway(replacement: Gateway) -> Iterator[Gateway]:
    _override.append(replacement)
    try:
        yield replacement
    finally:
        _override.remove(replacement)
