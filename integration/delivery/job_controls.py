"""Controls on a running Exstream job from the Jobs screen: release a step, stop, reprocess.
Each is audited.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.audit import log_action
from accounts.types import Actor
from integration.connectors.exstream.client import ExstreamClient
from integration.models import (
    ExstreamJob,
)


def _job_action(actor: Actor, job: ExstreamJob, verb: str, data: dict[str, Any]) -> None:
    with transaction.atomic():
        ExstreamJob.objects.filter(pk=job.pk).update(terminal=False)
        log_action(actor=actor, verb=verb, target=job, imprint=job.imprint_id, data=data)


def exstream_step_release(*, actor: Actor, job: ExstreamJob, step_id: str) -> str:
    if step_id not in {s.get("id") for s in job.held_steps}:
        raise ValueError("That step is not holding in this job; refresh the job and try again.")
    message = ExstreamClient().release_step(step_id, domain=job.domain)
    _job_action(actor, job, "exstream.step_released", {"job_id": job.job_id, "step_id": step_id})
    return message


def exstream_job_stop(*, actor: Actor, job: ExstreamJob) -> str:
    message = ExstreamClient().stop_job(job.job_id, domain=job.domain)
    _job_action(actor, job, "exstream.job_stopped", {"job_id": job.job_id})
    return message


def exstream_job_reprocess(*, actor: Actor, job: ExstreamJob) -> str:
    message = ExstreamClient().reprocess_job(job.job_id, domain=job.domain)
    _job_action(actor, job, "exstream.job_reprocessed", {"job_id": job.job_id})
    return message
