"""ONIX 3.0 imports into the catalogue mirror (same upsert, same change events as the sync).

A file-level problem (not XML, wrong root, entities, truncated) imports nothing: the whole file
is one transaction. A bad record inside a good file is recorded on the run and skipped.
"""

from __future__ import annotations

from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import log_action
from accounts.models import Imprint
from accounts.types import Actor, person
from integration.catalogue.changes import notify_catalogue_changed
from integration.catalogue.diff import Outcome
from integration.catalogue.mirror import mirror_works
from integration.connectors.consonance.onix import OnixError, iter_products
from integration.models import SyncRun, Work

BATCH = 100


def _only_imprint(work_ids: Any) -> Imprint | None:
    """The imprint of every work the file touched, when there is exactly one (the run is then
    shown to that imprint's staff only)."""
    imprint_ids = set(Work.objects.filter(pk__in=work_ids).values_list("imprint_id", flat=True))
    if len(imprint_ids) != 1:
        return None
    return Imprint.objects.get(pk=imprint_ids.pop())


def onix_import(
    *, stream: IO[bytes], filename: str, actor: Actor = None, imprint: Imprint | None = None
) -> SyncRun:
    """Import one ONIX message. Records without an ``<Imprint>`` take the file's only imprint
    name, or ``imprint`` when one is chosen (which then applies to every record)."""
    run = SyncRun.objects.create(
        kind=SyncRun.Kind.ONIX,
        status=SyncRun.Status.RUNNING,
        imprint=imprint,
        started_by=person(actor),
        started_at=timezone.now(),
        filename=filename[:300],
    )
    total = Outcome()
    products = contributors = prices = 0
    try:
        with transaction.atomic():
            batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
            without_imprint: list[tuple[dict[str, Any], dict[str, Any]]] = []
            imprint_names: set[str] = set()

            def flush() -> None:
                if batch:
                    total.add(
                        mirror_works(batch, source="onix", run=run, actor=actor, imprint=imprint)
                    )
                    batch.clear()

            for doc, ref, error in iter_products(stream):
                if doc is None:
                    total.seen += 1
                    total.fail("onix product", ref, str(error))
                    continue
                products += 1
                contributors += len(doc["contributions"])
                prices += len(doc["products"][0]["prices"])
                raw = {"record_reference": ref, "filename": filename}
                if imprint is None and not doc["imprint"]["name"]:
                    without_imprint.append((doc, raw))
                    continue
                imprint_names.add(doc["imprint"]["name"])
                batch.append((doc, raw))
                if len(batch) >= BATCH:
                    flush()
            if without_imprint:
                if len(imprint_names) == 1:
                    name = next(iter(imprint_names))
                    for doc, raw in without_imprint:
                        doc["imprint"]["name"] = name
                        batch.append((doc, raw))
                else:
                    for _doc, raw in without_imprint:
                        total.seen += 1
                        total.fail(
                            "onix product",
                            raw["record_reference"],
                            "The record has no <Imprint><ImprintName>; choose an imprint on "
                            "upload (or --imprint) to import it.",
                        )
            flush()
            run.status = SyncRun.Status.SUCCEEDED
            run.phase = SyncRun.Phase.DONE
            run.imprint = imprint or _only_imprint(total.work_ids)
            run.seen, run.created, run.updated = total.seen, total.created, total.updated
            run.unchanged, run.failed, run.errors = (
                total.unchanged,
                total.failed,
                total.errors[:200],
            )
            run.finished_at = timezone.now()
            run.message = (
                f"{filename}: {products} products, {contributors} contributors, {prices} prices "
                f"read; {run.created} works created, {run.updated} updated, "
                f"{run.unchanged} unchanged, {run.failed} failed."
            )
            run.save()
            notify_catalogue_changed(total.work_ids)
            log_action(
                actor=actor,
                verb="onix.imported",
                target=run,
                imprint=imprint,
                data={
                    "filename": filename,
                    "products": products,
                    "created": run.created,
                    "updated": run.updated,
                    "failed": run.failed,
                },
            )
    except OnixError as exc:
        run.refresh_from_db()
        run.status = SyncRun.Status.FAILED
        run.finished_at = timezone.now()
        run.message = f"{filename}: nothing was imported. {exc}"
        run.save(update_fields=["status", "finished_at", "message"])
        with transaction.atomic():
            log_action(
                actor=actor,
                verb="onix.refused",
                target=run,
                imprint=imprint,
                data={"filename": filename, "error": str(exc)},
            )
    return run
