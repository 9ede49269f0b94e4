from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts import policy
from integration.models import ExstreamCommunication, ExstreamJob, PreviewOutput


def exstream_communications(
    *, domain: str | None = None, include_inactive: bool = False
) -> QuerySet[ExstreamCommunication]:
    qs = ExstreamCommunication.objects.filter(domain=domain or settings.EXSTREAM_DOMAIN)
    return qs if include_inactive else qs.filter(active=True)


def exstream_jobs_for(user: Any) -> QuerySet[ExstreamJob]:
    return policy.for_user(
        user, ExstreamJob.objects.select_related("exstream_communication", "imprint")
    )


def preview_outputs_for(user: Any) -> QuerySet[PreviewOutput]:
    return policy.for_user(user, PreviewOutput.objects.select_related("exstream_communication"))
