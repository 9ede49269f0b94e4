"""ONIX 3.0 imports into the catalogue mirror (same upsert, same change events as the sync).

Whole or nothing: the file is one transaction. A file-level problem (not XML, wrong root, a
DTD, truncated) or any bad record (unreadable, no imprint, or a title of another imprint)
imports nothing; the run is marked failed and lists every record's problem (its error report).

No import crosses an imprint: a record whose RecordReference (its source id) or ISBN is
already a title of another imprint is refused before the mirror is touched, so nothing of the
other imprint changes.
"""

from __future__ import annotations

from collections import defaultdict
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
from integration.models import Product, SyncRun, Work

BATCH = 100


class _Refused(Exception):
    """Some records cannot be imported: the transaction is rolled back."""


def _same_imprint(imprint_id: int, name: str, doc: dict[str, Any], imprint: Imprint | None) -> bool:
    if imprint is not None:
        return imprint_id == imprint.pk
    # No imprint chosen (superusers only): each record names its imprint.
    return name.casefold() == str(doc["imprint"]["name"] or "").casefold()


def cross_imprint_problems(docs: list[dict[str, Any]], imprint: Imprint | None) -> dict[int, str]:
    """Record id → why it is refused, for records that are (by source id) or share an ISBN
    with a title of another imprint. The other imprint is not named."""
    ids = [d["id"] for d in docs]
    works = {
        cid: (imprint_id, name)
        for cid, imprint_id, name in Work.objects.filter(consonance_id__in=ids).values_list(
            "consonance_id", "imprint_id", "imprint__name"
        )
    }
    isbns = {p["isbn13"] for d in docs for p in d["products"] if p["isbn13"]}
    holders: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for isbn, work_cid, imprint_id, name in Product.objects.filter(isbn13__in=isbns).values_list(
        "isbn13", "work__consonance_id", "work__imprint_id", "work__imprint__name"
    ):
        holders[isbn or ""].append((work_cid, imprint_id, name))
    problems: dict[int, str] = {}
    for doc in docs:
        ref = doc["in_house_reference"]
        if doc["id"] in works and not _same_imprint(*works[doc["id"]], doc, imprint):
            problems[doc["id"]] = (
                f"RecordReference {ref} is a title of another imprint; an import cannot "
                "change another imprint's titles."
            )
            continue
        for product in doc["products"]:
            isbn = product["isbn13"]
            if any(
                work_cid != doc["id"] and not _same_imprint(imprint_id, name, doc, imprint)
                for work_cid, imprint_id, name in holders.get(isbn or "", [])
            ):
                problems[doc["id"]] = (
                    f"ISBN {isbn} belongs to a title of another imprint; an import cannot "
                    "take over another imprint's ISBN."
                )
                break
    return problems


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
                if not batch:
                    return
                refused = cross_imprint_problems([doc for doc, _raw in batch], imprint)
                for doc, raw in batch:
                    if doc["id"] in refused:
                        total.seen += 1
                        total.fail("onix product", raw["record_reference"], refused[doc["id"]])
                allowed = [(doc, raw) for doc, raw in batch if doc["id"] not in refused]
                if allowed and not total.failed:
                    total.add(
                        mirror_works(allowed, source="onix", run=run, actor=actor, imprint=imprint)
                    )
                elif allowed:
                    total.seen += len(allowed)  # read, not stored: the import is refused anyway
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
            if total.failed:
                raise _Refused
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
    except _Refused:
        run.refresh_from_db()
        run.status = SyncRun.Status.FAILED
        run.phase = SyncRun.Phase.DONE
        run.seen, run.created, run.updated, run.unchanged = total.seen, 0, 0, 0
        run.failed, run.errors = total.failed, total.errors[:200]
        run.finished_at = timezone.now()
        run.message = (
            f"{filename}: nothing was imported. {total.failed} of {total.seen} records have "
            "problems (listed below); fix them and upload the whole file again."
        )
        run.save()
        with transaction.atomic():
            log_action(
                actor=actor,
                verb="onix.refused",
                target=run,
                imprint=imprint,
                data={"filename": filename, "failed": total.failed},
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
