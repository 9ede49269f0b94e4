"""What the Exstream catalogue sync reads about each communication's design, through the
documented DAS chain (reference §3 and Appendix A):

resource (exstrapplication) → link of type ``exstrcommunicationset`` → manifest
(``dsnlist``: the entry whose ``type`` is ``driver`` gives ``prodDsn``; ``queueList``)
→ link of type ``samplefile`` → resource content = the driver sample (JSON or XML), whose
fields become the mapping targets.

And which communications may be *sent*: those approved (latest) on a domain whose
``production`` flag is true (``GET /design/api/v1/domains``).
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
from integration.connectors.exstream.driver import DriverSampleError, parse_sample
from integration.connectors.exstream.models import ContractError
from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication

logger = logging.getLogger(__name__)


def production_domains(client: ExstreamClient, domains: list[str]) -> set[str]:
    """Domains whose DAS ``production`` flag is true. If the domain list cannot be read, or a
    domain does not say, the configured ``EXSTREAM_DOMAIN`` is taken as production (it is
    where Colophon sends) and nothing else is."""
    flags: dict[str, bool | None] = {}
    try:
        flags = {d.id: d.production for d in client.list_domains()}
    except ExternalServiceError as exc:
        logger.warning("Could not read Exstream domains (%s); assuming %s is production.", exc,
                       settings.EXSTREAM_DOMAIN)  # fmt: skip
    result = set()
    for domain in domains:
        flag = flags.get(domain)
        if flag is True or (flag is None and domain == settings.EXSTREAM_DOMAIN):
            result.add(domain)
    return result


def _driver_sample(client: ExstreamClient, domain: str, comm_id: str) -> dict[str, Any]:
    sample_id = client.sample_file_id(domain, comm_id) or ""
    if not sample_id:
        return {
            "sample_resource_id": "",
            "driver_fields": [],
            "driver_format": "json",
            "driver_root": "",
            "driver_sample": "",
            "sample_problem": "No driver sample (samplefile) is linked to this communication; "
            "upload one in Exstream so Setup can offer its fields.",
        }
    content = client.resource_content(domain, sample_id)
    text = content.decode("utf-8", errors="replace")
    try:
        sample = parse_sample(content)
    except DriverSampleError as exc:
        return {
            "sample_resource_id": sample_id,
            "driver_fields": [],
            "driver_format": "json",
            "driver_root": "",
            "driver_sample": text[:200_000],
            "sample_problem": str(exc),
        }
    return {
        "sample_resource_id": sample_id,
        "driver_fields": sample.fields,
        "driver_format": sample.format,
        "driver_root": sample.root,
        "driver_sample": text[:200_000],
        "sample_problem": "",
    }


def design_rows(client: ExstreamClient, domain: str, *, production: bool) -> list[dict[str, Any]]:
    """One row of ``ExstreamCommunication`` fields per approved, latest communication."""
    rows: list[dict[str, Any]] = []
    for resource in client.list_approved_communications(domain):
        comm_id = resource.id
        set_id = client.communication_set_id(domain, comm_id) or ""
        manifest = client.manifest(domain, set_id) if set_id else None
        prod_dsn = ""
        problems = []
        if manifest is not None:
            try:
                prod_dsn = manifest.driver().prod_dsn
            except ContractError as exc:
                problems.append(str(exc))
        else:
            problems.append("No communication set is linked to this communication.")
        queues = [q.as_dict() for q in manifest.queue_list] if manifest else []
        sample = _driver_sample(client, domain, comm_id)
        if sample["sample_problem"]:
            problems.append(sample["sample_problem"])
        rows.append(
            {
                "communication_id": comm_id,
                "name": resource.name or comm_id,
                "version": "" if resource.version is None else str(resource.version),
                "communication_set_id": set_id,
                "prod_dsn": prod_dsn,
                "dsn_list": [d.raw for d in manifest.dsnlist] if manifest else [],
                "queues": queues,
                "channels": sorted({q["use"] for q in queues if q["use"]}),
                "production_approved": production,
                **sample,
                "sample_problem": " ".join(problems),
                "raw": {"resource": resource.raw, "manifest": manifest.raw if manifest else {}},
            }
        )
    return rows


def catalogue_fetch(client: ExstreamClient, domains: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Rows per domain. A communication is ``production_approved`` on every domain's row when
    it is approved (latest) on a production domain: designs keep their DAS id across domains,
    so a preview-domain row can be sent only if the same id is approved in production."""
    production = production_domains(client, domains)
    fetched = {d: design_rows(client, d, production=d in production) for d in domains}
    approved_ids = {r["communication_id"] for d in production for r in fetched.get(d, [])}
    for rows in fetched.values():
        for row in rows:
            row["production_approved"] = row["communication_id"] in approved_ids
    return fetched


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


def exstream_catalogue_sync(
    *, actor: Actor, domains: list[str] | None = None, client: ExstreamClient | None = None
) -> CatalogueSyncResult:
    """Read approved, latest communications with their communication-set manifests from DAS
    and store them; those no longer listed in a domain become inactive."""
    client = client or ExstreamClient()
    domains = domains or [settings.EXSTREAM_DOMAIN, settings.EXSTREAM_PREVIEW_DOMAIN]
    fetched = catalogue_fetch(client, domains)  # integration/setup/designs.py
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
