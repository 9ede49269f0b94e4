"""The Exstream design catalogue: the DAS discovery chain (communications, their versions,
domains and driver fields) mirrored into ``ExstreamCommunication`` rows that templates bind to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import log_action
from accounts.types import Actor
from integration.connectors.exstream.client import ExstreamClient
from integration.models import (
    ExstreamCommunication,
)

logger = logging.getLogger(__name__)


@dataclass
class CatalogueSyncResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    domains: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.created} new, {self.updated} updated, {self.deactivated} no longer listed "
            f"({', '.join(self.domains)})"
        )


def driver_fields_from_manifest(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The driver fields a communication reads.

    Real Exstream derives them from the communication's driver sample file (the DAS resource
    uploaded with ``type=samplefile&subtype=driver`` that the manifest's ``dsnlist`` points to):
    every element of the sample is a field; the design marks which are required. We read them
    from ``driverFields`` on the manifest, which our Exstream tenant exposes through a
    manifest extension and the sandbox emulates. Without it we fall back to an empty list and
    rely on Exstream's 422 naming the missing fields at generation time."""
    fields = manifest.get("driverFields") or []
    return [
        {
            "name": str(f.get("name", "")),
            "type": str(f.get("type", "string")),
            "required": bool(f.get("required", False)),
            "description": str(f.get("description", "")),
        }
        for f in fields
        if isinstance(f, dict) and f.get("name")
    ]


def exstream_catalogue_sync(
    *, actor: Actor, domains: list[str] | None = None, client: ExstreamClient | None = None
) -> CatalogueSyncResult:
    """Read approved, latest communications with their communication-set manifests from DAS
    and store them; those no longer listed in a domain become inactive."""
    client = client or ExstreamClient()
    domains = domains or [settings.EXSTREAM_DOMAIN, settings.EXSTREAM_PREVIEW_DOMAIN]
    fetched: dict[str, list[dict[str, Any]]] = {}
    for domain in domains:
        rows: list[dict[str, Any]] = []
        for resource in client.list_approved_communications(domain):
            comm_id = str(resource["id"])
            set_id = client.communication_set_id(domain, comm_id) or ""
            manifest = client.manifest(domain, set_id) if set_id else {}
            dsns = list(manifest.get("dsnlist") or [])
            rows.append(
                {
                    "communication_id": comm_id,
                    "name": str(resource.get("name") or comm_id),
                    "version": str(resource.get("version", "")),
                    "communication_set_id": set_id,
                    "prod_dsn": str(dsns[0].get("prodDsn", "")) if dsns else "",
                    "dsn_list": dsns,
                    "queues": list(manifest.get("queueList") or []),
                    "channels": list(
                        manifest.get("channels")
                        or sorted({q.get("use", "") for q in manifest.get("queueList") or []})
                    ),
                    "driver_fields": driver_fields_from_manifest(manifest),
                    "raw": {"resource": resource, "manifest": manifest},
                }
            )
        fetched[domain] = rows
    result = CatalogueSyncResult(domains=domains)
    now = timezone.now()
    with transaction.atomic():
        for domain, rows in fetched.items():
            seen: list[str] = []
            for row in rows:
                comm_id = str(row.pop("communication_id"))
                seen.append(comm_id)
                _, created = ExstreamCommunication.objects.update_or_create(
                    domain=domain,
                    communication_id=comm_id,
                    defaults={**row, "active": True, "synced_at": now},
                )
                if created:
                    result.created += 1
                else:
                    result.updated += 1
            result.deactivated += (
                ExstreamCommunication.objects.filter(domain=domain, active=True)
                .exclude(communication_id__in=seen)
                .update(active=False, synced_at=now)
            )
        log_action(actor=actor, verb="exstream.catalogue_synced", data=result.__dict__.copy())
    return result
