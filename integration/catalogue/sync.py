"""Consonance sync runs: incremental by ``changedSince`` (one day of overlap), full resync with
withdrawals, keyset paging with a saved cursor so an interrupted run resumes where it stopped.

Each page is one transaction: its records, its change events and the run's cursor and counts
commit together, so a crash never loses or double-counts a page.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import log_action
from accounts.types import Actor, person
from integration.catalogue.changes import notify_catalogue_changed
from integration.catalogue.contracts import mirror_contracts
from integration.catalogue.diff import Outcome
from integration.catalogue.mirror import mirror_works, withdraw_missing
from integration.connectors.consonance.client import ConsonanceClient
from integration.connectors.consonance.mapping import (
    RecordError,
    content_hash,
    merge_rest_product,
    normalise_contract,
    normalise_rest_product,
    normalise_work,
    raw_hash,
)
from integration.connectors.consonance.schema import Fitted
from integration.lib.http import ExternalServiceError
from integration.lib.queue import enqueue
from integration.models import ChangeEvent, Contract, SyncRun, Work

logger = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=10)
MAX_ERRORS_KEPT = 200

Progress = Callable[[SyncRun], None]


class SyncAlreadyRunning(Exception):
    pass


def _default_since() -> datetime.date | None:
    """The last successful run's start date minus one day (changedSince is date-granular and
    'not a guarantee'), or ``None`` for a first, complete pull."""
    last = (
        SyncRun.objects.filter(
            status=SyncRun.Status.SUCCEEDED,
            kind__in=[SyncRun.Kind.INCREMENTAL, SyncRun.Kind.FULL],
        )
        .order_by("-started_at")
        .first()
    )
    if last is None or last.started_at is None:
        return None
    return timezone.localdate(last.started_at) - timedelta(days=1)


def _resumable(kind: str) -> SyncRun | None:
    """An interrupted run of this kind: failed midway, or 'running' with a stale heartbeat."""
    stale = timezone.now() - STALE_AFTER
    candidates = SyncRun.objects.filter(kind=kind).exclude(phase=SyncRun.Phase.DONE)
    run = candidates.order_by("-created_at").first()
    if run is None or run.status == SyncRun.Status.SUCCEEDED:
        return None
    if run.status == SyncRun.Status.RUNNING and (run.heartbeat_at or run.created_at) > stale:
        raise SyncAlreadyRunning(f"Sync {run.pk} is already running.")
    if run.status == SyncRun.Status.QUEUED and run.created_at > stale:
        raise SyncAlreadyRunning(f"Sync {run.pk} is queued and will start shortly.")
    if run.status in (SyncRun.Status.FAILED, SyncRun.Status.RUNNING, SyncRun.Status.QUEUED):
        return run
    return None


def sync_run_start(
    *,
    actor: Actor = None,
    full: bool = False,
    since: datetime.date | None = None,
    enqueue_task: bool = True,
) -> SyncRun:
    """Create (or resume) a sync run; with ``enqueue_task`` the worker runs it after commit.
    Raises ``SyncAlreadyRunning`` when a live run exists."""
    kind = SyncRun.Kind.FULL if full else SyncRun.Kind.INCREMENTAL
    with transaction.atomic():
        run = _resumable(kind) if since is None else None
        if run is None:
            active = SyncRun.objects.filter(
                status=SyncRun.Status.RUNNING,
                heartbeat_at__gt=timezone.now() - STALE_AFTER,
                kind__in=[SyncRun.Kind.INCREMENTAL, SyncRun.Kind.FULL],
            ).first()
            if active is not None:
                raise SyncAlreadyRunning(f"Sync {active.pk} is already running.")
            rest = settings.CONSONANCE_PRODUCTS_SOURCE == SyncRun.ProductsSource.REST
            run = SyncRun.objects.create(
                kind=kind,
                started_by=person(actor),
                since=None if full else (since or _default_since()),
                products_source=(
                    SyncRun.ProductsSource.REST if rest else SyncRun.ProductsSource.GRAPHQL
                ),
                source_reason=CHOSEN_REASON if rest else "",
            )
            verb = "consonance.sync_started"
        else:
            verb = "consonance.sync_resumed"
        log_action(
            actor=actor,
            verb=verb,
            target=run,
            data={"kind": kind, "since": str(run.since or ""), "cursor": run.cursor},
        )
        if enqueue_task:
            enqueue("integration.tasks.consonance_sync", run.pk)
    return run


def _record_page(run: SyncRun, outcome: Outcome, cursor: int | None) -> None:
    run.seen += outcome.seen
    run.created += outcome.created
    run.updated += outcome.updated
    run.unchanged += outcome.unchanged
    run.failed += outcome.failed
    if outcome.errors and len(run.errors) < MAX_ERRORS_KEPT:
        run.errors = (run.errors + outcome.errors)[:MAX_ERRORS_KEPT]
    run.cursor = cursor
    run.pages += 1
    run.heartbeat_at = timezone.now()
    fields = [
        "seen",
        "created",
        "updated",
        "unchanged",
        "failed",
        "cursor",
        "pages",
        "heartbeat_at",
    ]
    if outcome.errors:
        fields.append("errors")
    if run.kind == SyncRun.Kind.FULL:
        fields.append("seen_ids")
    run.save(update_fields=fields)


def _normalise(
    records: list[dict[str, Any]],
    normalise: Callable[[dict[str, Any]], dict[str, Any]],
    record_type: str,
    outcome: Outcome,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    items = []
    for record in records:
        try:
            items.append((normalise(record), record))
        except (RecordError, KeyError, TypeError, ValueError, AttributeError) as exc:
            outcome.fail(record_type, record.get("id"), str(exc))
    return items


@dataclass
class Prepared:
    """A page as the preparer leaves it: ``items`` (document, raw record) mapped, ``outcome``
    holding the records that failed to map, ``hashes`` (Consonance id → ``raw_hash``) of every
    record, and ``same``: the raw records not mapped because their hash was the mirror's when
    the phase began (``_recheck`` confirms it in the page's transaction)."""

    items: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    hashes: dict[int, str] = field(default_factory=dict)
    same: list[dict[str, Any]] = field(default_factory=list)


def _preparer(
    normalise: Callable[[dict[str, Any]], dict[str, Any]],
    record_type: str,
    known: Mapping[int, str] | None = None,
) -> Callable[[list[dict[str, Any]]], Prepared]:
    """Hash each record of a page as it came (``raw_hash``) and map those whose hash is not
    ``known`` (the mirror's raw hashes when the phase began); pure code, run on the client's
    prefetch thread. A no-change resync so maps nothing."""
    known = known or {}

    def prepare(records: list[dict[str, Any]]) -> Prepared:
        page = Prepared()
        fresh = []
        for record in records:
            cid = record.get("id")
            if not isinstance(cid, int):  # the page is refused (client), or the mapping says why
                fresh.append(record)
                continue
            digest = page.hashes[cid] = raw_hash(record, record_type)
            (page.same if known.get(cid) == digest else fresh).append(record)
        page.items = _normalise(fresh, normalise, record_type, page.outcome)
        return page

    return prepare


def _known_raw_hashes(model: type[Work] | type[Contract]) -> dict[int, str]:
    """Consonance id → raw hash of the live mirrored records that have one."""
    return dict(
        model.objects.filter(withdrawn_at__isnull=True)  # type: ignore[attr-defined]
        .exclude(raw_hash="")
        .values_list("consonance_id", "raw_hash")
    )


def _recheck(
    model: type[Work] | type[Contract],
    page: Prepared,
    normalise: Callable[[dict[str, Any]], dict[str, Any]],
    record_type: str,
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], int]:
    """The records the preparer did not map, checked against the mirror now (in the page's
    transaction): those whose live row still carries their raw hash are unchanged (counted);
    any other (changed or withdrawn since the phase began) is mapped here and returned, to be
    stored and diffed like every changed record. Returns (mapped items, unchanged count)."""
    if not page.same:
        return [], 0
    current = dict(
        model.objects.filter(  # type: ignore[attr-defined]
            consonance_id__in=[r["id"] for r in page.same], withdrawn_at__isnull=True
        ).values_list("consonance_id", "raw_hash")
    )
    moved = [r for r in page.same if current.get(r["id"]) != page.hashes[r["id"]]]
    return _normalise(moved, normalise, record_type, page.outcome), len(page.same) - len(moved)


def _warn(run: SyncRun, *lines: str) -> None:
    """Add warnings to the run (shown on the Sync screen), once each."""
    new = [line for line in lines if line and line not in run.warnings]
    if new:
        run.warnings = [*run.warnings, *new]
        run.save(update_fields=["warnings"])


def _fit(run: SyncRun, client: ConsonanceClient, operation: str) -> Fitted:
    """The operation fitted to this server's schema (introspected once per run); what the server
    lacks is named on the run."""
    fitted = client.fit(operation)
    _warn(run, client.schema_note)
    if fitted.dropped:
        _warn(
            run,
            f"This Consonance does not offer {', '.join(fitted.dropped)}; "
            "Colophon did not ask for them and their values stay empty.",
        )
    return fitted


def _phase(
    run: SyncRun, client: ConsonanceClient, *, phase: str, progress: Progress | None
) -> bool:
    """Run one phase to its end. ``False`` when the server does not offer it (contracts only;
    the run carries the warning)."""
    since = run.since.isoformat() if run.since else None
    model: type[Work] | type[Contract]
    if phase == SyncRun.Phase.WORKS:
        fitted = _fit(run, client, "WorksPage")
        if fitted.missing:
            # "Cannot query field 'works'" is what graphql_unavailable recognises: REST fallback.
            root = (
                " Cannot query field 'works' on type 'Query'."
                if any(m.startswith("Query.works") for m in fitted.missing)
                else ""
            )
            raise ExternalServiceError(
                f"WorksPage: this Consonance's schema lacks {', '.join(fitted.missing)}, which "
                f"a sync cannot do without.{root}",
                service="Consonance",
                retryable=False,
            )
        model, normalise, record_type = Work, normalise_work, "work"
        # A changedSince page holds records changed lately: mapping them costs less than
        # reading every stored hash first.
        known = _known_raw_hashes(Work) if since is None else {}
        pages = client.prepared_works_pages(
            _preparer(normalise, record_type, known), since=since, after=run.cursor
        )
    else:
        fitted = _fit(run, client, "ContractsPage")
        if fitted.missing:
            _warn(
                run,
                "This Consonance does not offer the contracts list "
                f"({', '.join(fitted.missing)} missing): contracts, licensed rights, delivery "
                "dates and gratis copies were not synced and keep their last synced values.",
            )
            return False
        model, normalise, record_type = Contract, normalise_contract, "contract"
        # Every contract, every run (ContractSearchAttributes has no changedSince).
        pages = client.prepared_contracts_pages(
            _preparer(normalise, record_type, _known_raw_hashes(Contract)), after=run.cursor
        )
    for records, cursor, prepared in pages:
        # Hashed and mapped on the prefetch thread while the page before was being stored.
        page = prepared if prepared is not None else Prepared()
        with transaction.atomic():
            mapped, same = _recheck(model, page, normalise, record_type)
            items, outcome = page.items + mapped, page.outcome
            if not items:
                # Nothing mapped (a no-change page): no savepoint, no statements for the mirror.
                result = Outcome()
            elif phase == SyncRun.Phase.WORKS:
                result = mirror_works(items, source="graphql", run=run, raw_hashes=page.hashes)
            else:
                result = mirror_contracts(items, source="graphql", run=run, raw_hashes=page.hashes)
            result.seen += outcome.failed + same
            result.unchanged += same
            result.failed += outcome.failed
            result.errors = outcome.errors + result.errors
            if run.kind == SyncRun.Kind.FULL:
                seen = run.seen_ids.setdefault(record_type, [])
                seen.extend(r.get("id") for r in records)
            _record_page(run, result, cursor)
            # Change events of this page: trigger rules draft, approvals are re-checked. A page
            # that changed nothing enqueues nothing (the run's end does, once).
            if result.work_ids:
                notify_catalogue_changed(result.work_ids)
        if progress is not None:
            progress(run)
    return True


CHOSEN_REASON = "CONSONANCE_PRODUCTS_SOURCE is set to 'rest'."
MISSING_FIELD = re.compile(r"Cannot query field ['\"](works|products)['\"]")


def graphql_unavailable(exc: ExternalServiceError) -> str | None:
    """Why retrying GraphQL will not help, when that is so: the endpoint is gone (404) or the
    schema no longer has the works/products field. ``None`` for every other failure."""
    if exc.status == 404:
        return f"The GraphQL endpoint answered 404 Not Found ({exc})."
    match = MISSING_FIELD.search(str(exc))
    if match:
        return f"The GraphQL schema has no '{match.group(1)}' field ({exc})."
    return None


def _rest_page(run: SyncRun, records: list[dict[str, Any]]) -> Outcome:
    """Lay one REST v4 page of products over the mirrored works' documents and store the works
    whose products changed through ``mirror_works`` (same hashing, same change events).
    Counts are in products; a product whose work is not mirrored yet is reported, not stored:
    REST v4 carries no work record to create it from."""
    outcome = Outcome(seen=len(records))
    by_work: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        try:
            work_id = int(record["work_id"])
            by_work.setdefault(work_id, []).append(normalise_rest_product(record))
        except (RecordError, KeyError, TypeError, ValueError, AttributeError) as exc:
            outcome.fail("product", record.get("id"), str(exc))
    works = {
        cid: (snapshot, raw)
        for cid, snapshot, raw in Work.objects.filter(
            consonance_id__in=list(by_work), withdrawn_at__isnull=True
        ).values_list("consonance_id", "snapshot", "raw")
    }
    items = []
    for work_id, products in by_work.items():
        if work_id not in works or not works[work_id][0]:
            for product in products:
                outcome.fail(
                    "product",
                    product["id"],
                    f"Work {work_id} is not in Colophon (or is withdrawn); REST v4 has no work "
                    "record to create it from, so it arrives with the next GraphQL sync.",
                )
            continue
        snapshot, raw = works[work_id]
        old = {p["id"]: p for p in snapshot.get("products") or []}
        changed = False
        for product in products:
            merged = merge_rest_product(old.get(product["id"]), product)
            if product["id"] in old and content_hash(merged) == content_hash(old[product["id"]]):
                outcome.unchanged += 1
                continue
            changed = True
            if product["id"] in old:
                outcome.updated += 1
            else:
                outcome.created += 1
            old[product["id"]] = merged
        if changed:
            doc = {**snapshot, "products": sorted(old.values(), key=lambda p: p["id"])}
            items.append((doc, raw))
    if items:
        result = mirror_works(items, source="rest", run=run)
        outcome.errors += result.errors
        outcome.work_ids |= result.work_ids
        if result.failed:
            outcome.failed += result.failed
            outcome.updated = max(0, outcome.updated - result.failed)
    return outcome


def _rest_phase(run: SyncRun, client: ConsonanceClient, *, progress: Progress | None) -> None:
    """Products from REST v4, page by page (``total_pages``); the cursor is the last page
    stored, so an interrupted run resumes at the next page."""
    for records, page, _total in client.rest_product_pages(start=(run.cursor or 0) + 1):
        with transaction.atomic():
            result = _rest_page(run, records)
            _record_page(run, result, page)
            if result.work_ids:
                notify_catalogue_changed(result.work_ids)
        if progress is not None:
            progress(run)


def _switch_to_rest(run: SyncRun, reason: str) -> None:
    run.products_source = SyncRun.ProductsSource.REST
    run.source_reason = reason[:500]
    run.cursor = None
    run.save(update_fields=["products_source", "source_reason", "cursor"])
    with transaction.atomic():
        log_action(
            actor=run.started_by,
            verb="consonance.sync_fell_back_to_rest",
            target=run,
            data={"reason": run.source_reason},
        )


def consonance_sync(
    *, run: SyncRun, client: ConsonanceClient | None = None, progress: Progress | None = None
) -> SyncRun:
    """Run (or resume) ``run`` to the end. External failures mark it failed with a readable
    message and keep the cursor, so starting again resumes; bad records never abort it."""
    run.refresh_from_db()
    if run.status == SyncRun.Status.SUCCEEDED:
        return run  # already finished (e.g. resumed and completed by another job)
    client = client or ConsonanceClient()
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.RUNNING,
        started_at=run.started_at or now,
        heartbeat_at=now,
        message="",
    )
    run.refresh_from_db()
    rest = SyncRun.ProductsSource.REST
    try:
        if run.phase == SyncRun.Phase.WORKS and run.products_source != rest:
            try:
                _phase(run, client, phase=SyncRun.Phase.WORKS, progress=progress)
            except ExternalServiceError as exc:
                reason = graphql_unavailable(exc)
                if reason is None:
                    raise
                _switch_to_rest(run, reason)
        if run.phase == SyncRun.Phase.WORKS and run.products_source == rest:
            _rest_phase(run, client, progress=progress)
        if run.phase == SyncRun.Phase.WORKS:
            run.phase, run.cursor = SyncRun.Phase.CONTRACTS, None
            run.save(update_fields=["phase", "cursor"])
        if run.phase == SyncRun.Phase.CONTRACTS and run.products_source != rest:
            done = _phase(run, client, phase=SyncRun.Phase.CONTRACTS, progress=progress)
            if not done and run.kind == SyncRun.Kind.FULL:
                # Contracts were not read: none of them may be withdrawn for not being seen.
                run.seen_ids["contract"] = list(
                    Contract.objects.filter(withdrawn_at__isnull=True).values_list(
                        "consonance_id", flat=True
                    )
                )
        if run.phase == SyncRun.Phase.CONTRACTS:
            run.phase, run.cursor = SyncRun.Phase.WITHDRAWALS, None
            run.save(update_fields=["phase", "cursor"])
        with transaction.atomic():
            withdrawn_works: list[int] = []
            if run.kind == SyncRun.Kind.FULL and run.products_source != rest:
                run.withdrawn = withdraw_missing(
                    seen_work_ids=set(run.seen_ids.get("work", [])),
                    seen_contract_ids=set(run.seen_ids.get("contract", [])),
                    run=run,
                )
                withdrawn_works = list(
                    ChangeEvent.objects.filter(
                        sync_run=run, kind=ChangeEvent.Kind.WITHDRAWN, work__isnull=False
                    ).values_list("work_id", flat=True)
                )
                run.seen_ids = {}
            # Once per run, whatever it changed: the withdrawn titles' approvals are re-checked,
            # and trigger rules pick up any change event still pending (one whose task failed).
            notify_catalogue_changed(withdrawn_works)
            run.phase = SyncRun.Phase.DONE
            run.status = SyncRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            if run.products_source == rest:
                run.seen_ids = {}
                run.message = (
                    f"Products from REST v4: {run.seen} seen: {run.created} added to works, "
                    f"{run.updated} updated, {run.unchanged} unchanged, {run.failed} failed. "
                    "Work and contract data (contributors, texts, covers, availability, "
                    "contracts and rights) cannot be read from REST v4 and stay as last synced"
                    + ("; nothing was withdrawn." if run.kind == SyncRun.Kind.FULL else ".")
                )
            else:
                run.message = (
                    f"{run.seen} seen: {run.created} created, {run.updated} updated, "
                    f"{run.unchanged} unchanged, {run.failed} failed"
                    + (f", {run.withdrawn} withdrawn." if run.kind == SyncRun.Kind.FULL else ".")
                )
            if run.warnings:
                run.message += f" {len(run.warnings)} warning(s) about this Consonance's schema."
            run.save()
            log_action(
                actor=run.started_by,
                verb="consonance.sync_finished",
                target=run,
                data={
                    "message": run.message,
                    "products_source": run.products_source,
                    "source_reason": run.source_reason,
                    "warnings": run.warnings,
                },
            )
    except ExternalServiceError as exc:
        run.status = SyncRun.Status.FAILED
        run.finished_at = timezone.now()
        where = (
            f"page {(run.cursor or 0) + 1} of the REST v4 products"
            if run.products_source == rest and run.phase == SyncRun.Phase.WORKS
            else f"record {run.cursor or 0}"
        )
        run.message = f"{exc} Starting the sync again resumes from {where}."
        run.save(update_fields=["status", "finished_at", "message"])
        with transaction.atomic():
            log_action(
                actor=run.started_by,
                verb="consonance.sync_failed",
                target=run,
                data={"error": str(exc), "phase": run.phase, "cursor": run.cursor},
            )
    if progress is not None:
        progress(run)
    return run


def scheduled_sync() -> str:
    """The recurring job: start an incremental sync unless one is running, and run it here."""
    try:
        run = sync_run_start(enqueue_task=False)
    except SyncAlreadyRunning as exc:
        return str(exc)
    return consonance_sync(run=run).message
