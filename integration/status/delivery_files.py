"""Reading a finished job's delivery files: every file is kept (``ExstreamDeliveryFile``); one
Colophon cannot read is recorded as *unparsed* and none of its customers counts as delivered."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile

from integration.connectors.exstream.client import ExstreamClient
from integration.connectors.exstream.delivery import (
    DeliveryFileError,
    DeliveryOutcome,
    parse_delivery_file,
)
from integration.lib.http import ExternalServiceError
from integration.models import CommunicationTemplate, ExstreamDeliveryFile, ExstreamJob

logger = logging.getLogger(__name__)


@dataclass
class DeliveryRead:
    outcome: DeliveryOutcome = field(default_factory=DeliveryOutcome)
    unparsed: list[str] = field(default_factory=list)  # problems, one per unparsed file

    @property
    def error(self) -> str:
        return " ".join(self.unparsed)


def customer_key_name(job: ExstreamJob) -> str:
    """The design's customer-key field for this job's communication (from a template bound to
    it, else the sample's customer-number field)."""
    comm = job.exstream_communication
    if comm is None:
        return ""
    template = (
        CommunicationTemplate.objects.filter(exstream_communication=comm)
        .exclude(customer_key_field="")
        .order_by("-pk")
        .first()
    )
    return template.customer_key_field if template else comm.default_customer_key


def _with_delivery_files(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps whose delivery file is read: those flagged ``deliveryFileRetrievable``. The
    flag is optional in the OpenAPI FlowStep (and ``checkArtifacts``, which the client sends,
    is not explained): where no step carries it at all, the ``output`` steps are read."""
    if _flagged(steps):
        return [step for step in steps if step.get("deliveryFileRetrievable")]
    return [step for step in steps if step.get("stepType") == "output"]


def _flagged(steps: list[dict[str, Any]]) -> bool:
    return any(step.get("deliveryFileRetrievable") is not None for step in steps)


def delivery_files_read(
    *, client: ExstreamClient, job: ExstreamJob, steps: list[dict[str, Any]]
) -> DeliveryRead:
    """Download, keep and parse the delivery file of every step that has one."""
    result = DeliveryRead()
    key_name = customer_key_name(job)
    for step in _with_delivery_files(steps):
        step_id = str(step["id"])
        try:
            data = client.delivery_file(step_id, domain=job.domain)
        except ExternalServiceError as exc:
            if exc.status == 404 and not _flagged(steps):
                continue  # an output step the server did not flag, and it has no file
            raise
        problem = ""
        part = DeliveryOutcome()
        try:
            part = parse_delivery_file(data, key_name=key_name, known_keys=job.customer_keys)
        except DeliveryFileError as exc:
            problem = f"Delivery file of step {step_id} is unparsed: {exc}"
            logger.warning("Exstream job %s: %s", job.job_id, problem)
            result.unparsed.append(problem)
        row, _ = ExstreamDeliveryFile.objects.update_or_create(
            job=job,
            step_id=step_id,
            defaults={
                "status": (
                    ExstreamDeliveryFile.Status.UNPARSED
                    if problem
                    else ExstreamDeliveryFile.Status.PARSED
                ),
                "problem": problem,
                "delivered": len(part.delivered),
                "failed": len(part.failed),
                "size": len(data),
            },
        )
        row.raw.save(f"{job.job_id}-{step_id}.xml", ContentFile(data), save=True)
        if not problem:
            for key, queues in part.delivered.items():
                if key not in result.outcome.failed:
                    result.outcome.delivered[key] = queues
            for key, reason in part.failed.items():
                result.outcome.delivered.pop(key, None)
                result.outcome.failed[key] = reason
    return result
