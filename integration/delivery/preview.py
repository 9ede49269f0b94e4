"""Previews through Exstream on-demand on the non-production domain, stored as watermarked
outputs. HTTP happens outside the database transaction; the audit row inside.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint
from accounts.types import Actor, person
from integration.connectors.exstream.client import ExstreamClient
from integration.connectors.exstream.driver import with_customer_key
from integration.models import (
    ExstreamCommunication,
    PreviewOutput,
)


def driver_hash(driver_data: dict[str, Any]) -> str:
    canonical = json.dumps(driver_data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_EXTENSIONS = {"application/pdf": "pdf", "text/html": "html", "text/plain": "txt"}


def preview_generate(
    *,
    actor: Actor,
    exstream_communication: ExstreamCommunication,
    driver_data: dict[str, Any],
    imprint: Imprint,
    customer_key: str = "",
    customer_key_field: str = "",
    client: ExstreamClient | None = None,
) -> list[PreviewOutput]:
    """Generate on the non-production preview domain (watermarked, not counted) and store every
    output for audit. Raises ``ExternalServiceError`` (a 422 names the missing driver fields,
    in ``details``) and stores nothing then.

    Designs are promoted between domains with their DAS ids, so the communication id of a
    production row is also valid on the preview domain."""
    if not isinstance(driver_data, dict):
        raise ValueError("The driver data must be a JSON object.")
    if person(actor) is not None:
        policy.require(actor, policy.Action.PREVIEW, imprint)
    domain = settings.EXSTREAM_PREVIEW_DOMAIN
    preview_row = (
        ExstreamCommunication.objects.filter(
            domain=domain, communication_id=exstream_communication.communication_id, active=True
        ).first()
        or exstream_communication
    )
    key_field = customer_key_field or exstream_communication.default_customer_key
    data = with_customer_key(driver_data, key_field, customer_key)
    digest = driver_hash(data)
    outputs = (client or ExstreamClient()).generate(
        domain=domain,
        communication_id=exstream_communication.communication_id,
        driver_data_source=preview_row.prod_dsn or exstream_communication.prod_dsn,
        driver_data=data,
        driver_format=exstream_communication.driver_format,
        driver_root=exstream_communication.driver_root,
    )
    stored = []
    with transaction.atomic():
        for index, output in enumerate(outputs):
            row = PreviewOutput(
                exstream_communication=exstream_communication,
                communication_id=exstream_communication.communication_id,
                domain=domain,
                imprint=imprint,
                customer_key=str(data.get(key_field, "") if key_field else customer_key),
                driver_hash=digest,
                queue_name=output.queue_name,
                file_name=output.file_name,
                mime_type=output.mime_type,
                size=len(output.content),
                created_by=person(actor),
            )
            ext = _EXTENSIONS.get(output.mime_type, "bin")
            row.content.save(
                f"{digest[:16]}-{index}.{ext}", ContentFile(output.content), save=False
            )
            row.save()
            stored.append(row)
        log_action(
            actor=actor,
            verb="exstream.preview_generated",
            target=exstream_communication,
            imprint=imprint,
            data={
                "communication": exstream_communication.name,
                "driver_hash": digest,
                "outputs": [o.mime_type for o in stored],
            },
        )
    return stored
