"""A seeded, randomized fault suite: approvals, dispatch and status events under faults, with
several workers, against the sandbox Exstream reached through a fault-injecting transport at the
HTTP choke point. Used by ``tests/integration/test_fault_suite.py`` (a small size, in
``make test``) and ``bench/faults.py`` (a large size, in ``make bench``).

One scenario (seeded by ``seed + index``, so any failure is reproduced by its seed):

1. a communication of 2–9 recipients, composed and submitted; two approvers approve it at the
   same time (threads on PostgreSQL, in turn on SQLite): one approval, one set of chunk rows;
2. the chunk rows are worked by two workers sharing the outbox (threads on PostgreSQL claiming
   with ``select_for_update(skip_locked)``; on SQLite, which has no row locks, the workers take
   turns). Every HTTP request may meet a fault: 503, 429 (Retry-After: 0), a timeout before
   the request reaches Exstream, a timeout after Exstream accepted it (the answer is lost), an
   expired token (the sandbox's tokens are revoked, so the real client must fetch a new one);
   and a worker may be killed (``WorkerKilled``, a BaseException nothing catches) after it
   claimed rows, before the batch POST, after the batch POST, or while recording the outcome
   (the recording transaction rolls back). A killed worker's rows wait for their lease to
   expire; the clock is moved on until nothing is due;
3. status events for every message (several statuses each, every event sent 1–3 times, all
   shuffled) are applied by two workers concurrently in random batches;
4. write-back: the letter is about one of the title's contracts and the imprint writes
   deliveries and answers back to Consonance (``updateContract``: one dated line appended to
   the contract's description per event, the only documented free-text field). Every delivered
   or answered message queues its write-back; the rows are worked by two workers under the same
   faults as dispatch, and a worker may be killed after claiming, before the mutation is
   posted, after Consonance applied it (the answer lost) or while recording the outcome.

Invariants checked after each scenario: every chunk of the approval submitted to Exstream
exactly once (counted in the sandbox by external id) and every message submitted; every event
stored once and each message at the highest-ranked status among its events; no status seen to
move backwards between batches; every queued write-back written to Consonance exactly once (its
marked line appears once in the sandbox contract's description: never lost to a retry or to
two workers appending to the same contract at once, never appended twice); no outbox row left
pending, in progress or dead. Every fourth
scenario also edits the sandbox Consonance and syncs under faults and kills mid-sync, started
again until it succeeds; after the next scheduled (incremental) sync, a clean full resync must
write nothing: the mirror has converged to the source.

Reproducible: the scenario shapes and the fault draws come from ``seed + index``. With threads
(PostgreSQL), which worker meets which draw depends on scheduling, so a failing seed is
replayed exactly on SQLite (workers in turn) and statistically on PostgreSQL.
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import requests
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from django_q import tasks as django_q_tasks
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from integration.catalogue.sync import (
    STALE_AFTER,
    SyncAlreadyRunning,
    consonance_sync,
    sync_run_start,
)
from integration.communications import approval
from integration.communications.create import communication_create
from integration.connectors.consonance.client import ConsonanceClient
from integration.delivery import outbox
from integration.delivery.gateway import ExstreamGateway
from integration.lib import http
from integration.models import (
    Approval,
    Audience,
    Communication,
    CommunicationTemplate,
    Contract,
    Message,
    MessageEvent,
    OutboxItem,
    SyncRun,
)
from integration.models.status import STATUS_RANK, WritebackRecord, WritebackRule
from integration.status.apply import StatusInput, message_status_apply
from sandbox.consonance import store
from sandbox.models import (
    ExstreamSandboxJob,
    ExstreamSandboxToken,
    SandboxContract,
    SandboxProduct,
    SandboxWork,
)
from tests.factories import AudienceFactory, member
from tests.scenarios import add_members

BATCH_PATH = "/batch"  # the batch channel's submission path contains this


class WorkerKilled(BaseException):
    """A worker process dying at an injected point. Not an ``Exception``: nothing in the code
    under test catches it, exactly like a SIGKILL."""


FAULT_KINDS = ("503", "429", "timeout-before", "timeout-after", "token-expired")
# Where a worker can be killed (drawn in FaultTransport, KillingHandler, _work_outbox).
KILL_POINTS = ("after-claim", "before-post", "after-post", "while-recording", "mid-sync")
# Write-back phase: the same points, around the Consonance mutation instead of the batch POST.
WRITEBACK_KILLS = ("writeback-before-post", "writeback-after-post")
SOURCE_CHANGES = ("price", "publication-date", "delivery-date", "stage", "licensed-right")


@dataclass
class Report:
    seed: int = 0
    scenarios: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    chunks: int = 0
    messages: int = 0
    lost: int = 0
    duplicated: int = 0
    events: int = 0
    event_copies: int = 0
    events_stored_twice: int = 0
    wrong_final_status: int = 0
    backwards: int = 0
    stuck: int = 0
    approvals_refused: int = 0
    writebacks: int = 0
    writebacks_lost: int = 0
    writebacks_duplicated: int = 0
    syncs: int = 0
    sync_attempts: int = 0
    sync_diverged: int = 0
    sync_caught_up: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "scenarios": self.scenarios,
            "faults_injected": self.faults_injected,
            "faults": dict(sorted(self.faults.items())),
            "chunks": self.chunks,
            "messages": self.messages,
            "messages_lost": self.lost,
            "messages_duplicated": self.duplicated,
            "events": self.events,
            "event_copies_delivered": self.event_copies,
            "events_stored_twice": self.events_stored_twice,
            "wrong_final_status": self.wrong_final_status,
            "status_moved_backwards": self.backwards,
            "stuck_after_recovery": self.stuck,
            "concurrent_approvals_refused": self.approvals_refused,
            "writebacks": self.writebacks,
            "writebacks_lost": self.writebacks_lost,
            "writebacks_duplicated": self.writebacks_duplicated,
            "sync_scenarios": self.syncs,
            "sync_attempts_until_converged": self.sync_attempts,
            "sync_not_converged": self.sync_diverged,
            "sync_caught_up_by_next_scheduled_run": self.sync_caught_up,
            "failures": self.failures[:20],
            "seconds": round(self.seconds, 1),
        }


class Plan:
    """The faults of one scenario: drawn from its own RNG under a lock (workers share it),
    at most ``budget`` in all, so recovery always fits within the outbox's attempts."""

    def __init__(self, rng: random.Random, report: Report, *, rate: float, budget: int) -> None:
        self.rng = rng
        self.report = report
        self.rate = rate
        self.budget = budget
        self.lock = threading.Lock()
        self.token_expired = False
        self.phase = "dispatch"  # or "writeback": where kills around a POST are drawn

    def draw(self, choices: tuple[str, ...], rate: float | None = None) -> str | None:
        with self.lock:
            if self.budget <= 0 or self.rng.random() >= (self.rate if rate is None else rate):
                return None
            self.budget -= 1
            kind = self.rng.choice(choices)
            self.report.faults[kind] += 1
            return kind

    def randint(self, a: int, b: int) -> int:
        with self.lock:
            return self.rng.randint(a, b)


def _response(request: requests.PreparedRequest, status: int, body: bytes, headers: Any) -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers = CaseInsensitiveDict(headers)
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


class FaultTransport(BaseAdapter):
    """A requests adapter that answers from this process's Django app (where the sandbox is
    mounted), with faults from the plan. Used for every session through ``http.request``."""

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # type: ignore[override]
        url = urlsplit(request.url or "")
        is_post = request.method == "POST" and BATCH_PATH in url.path
        raw = request.body or b""
        is_mutation = (
            self.plan.phase == "writeback"
            and "/consonance/" in url.path
            and b"mutation" in (raw if isinstance(raw, bytes) else raw.encode())
        )
        fault = self.plan.draw(FAULT_KINDS)
        kill = None
        if is_post:
            kill = self.plan.draw(("before-post", "after-post"), rate=self.plan.rate / 2)
            if kill == "before-post":
                raise WorkerKilled(kill)
        elif is_mutation:
            kill = self.plan.draw(WRITEBACK_KILLS, rate=self.plan.rate / 2)
            if kill == "writeback-before-post":
                raise WorkerKilled(kill)
        elif (
            self.plan.phase != "writeback"
            and "/consonance/" in url.path
            and self.plan.draw(("mid-sync",), rate=self.plan.rate / 3)
        ):
            raise WorkerKilled("mid-sync")
        if fault == "503":
            return _response(request, 503, b'{"error":"unavailable"}', {})
        if fault == "429":
            return _response(request, 429, b'{"error":"slow down"}', {"Retry-After": "0"})
        if fault == "timeout-before":
            raise requests.Timeout("injected: no answer (never reached Exstream)")
        if fault == "token-expired":
            self._expire(request)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")
        }
        content_type = headers.pop("Content-Type", "application/octet-stream")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        path = url.path + (f"?{url.query}" if url.query else "")
        answer = Client().generic(
            request.method or "GET", path, data=body, content_type=content_type, headers=headers
        )
        content = (
            b"".join(answer.streaming_content) if answer.streaming else answer.content  # type: ignore[attr-defined]
        )
        if kill in ("after-post", "writeback-after-post"):
            raise WorkerKilled(kill)
        if fault == "timeout-after":
            raise requests.Timeout("injected: Exstream accepted it, the answer was lost")
        response = _response(request, answer.status_code, content, answer.items())
        for morsel in answer.cookies.values():
            response.cookies.set(morsel.key, morsel.value)
        return response

    def _expire(self, request: requests.PreparedRequest) -> None:
        """The bearer token this request carries expires (the sandbox forgets it), so the
        client meets a real 401 and must fetch a new token. Once per scenario: a token
        fetched seconds ago does not expire again within the same run of calls."""
        token = str(request.headers.get("Authorization", "")).removeprefix("Bearer ").strip()
        with self.plan.lock:
            if self.plan.token_expired or not token:
                self.plan.report.faults["token-expired"] -= 1
                return
            self.plan.token_expired = True
        ExstreamSandboxToken.objects.filter(token=token).delete()

    def close(self) -> None:
        pass


@contextmanager
def injected(plan: Plan) -> Iterator[None]:
    """Route every request through the fault transport, at the choke point."""
    original = http.request

    def through_transport(method: str, url: str, **kwargs: Any) -> Any:
        session = requests.Session()
        session.mount("http://", FaultTransport(plan))
        session.mount("https://", FaultTransport(plan))
        kwargs["session"] = session
        kwargs["sleep"] = lambda seconds: None
        return original(method, url, **kwargs)

    with mock.patch.object(http, "request", through_transport):
        yield


class KillingHandler:
    """Wraps an outbox handler: the worker may die while the outcome is being recorded (inside
    the transaction that marks the row done, so everything it did rolls back)."""

    def __init__(self, inner: Any, plan: Plan) -> None:
        self.inner = inner
        self.plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def on_success(self, item: OutboxItem, result: dict[str, Any]) -> None:
        kill = self.plan.draw(("while-recording",), rate=self.plan.rate / 2)
        self.inner.on_success(item, result)
        if kill:
            raise WorkerKilled(kill)


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()
        self.lock = threading.Lock()

    def get(self) -> Any:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += timedelta(seconds=seconds)


def _threads_allowed() -> bool:
    return connection.vendor == "postgresql"


def _run_parallel(jobs: list[Callable[[], None]]) -> None:
    """Run jobs in threads (PostgreSQL) or in turn (SQLite); re-raise the first error."""
    if not _threads_allowed():
        for job in jobs:
            job()
        return
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a worker hung for more than 120 s (a lock never released?)")
    if errors:
        raise errors[0]


@dataclass
class World:
    template: CommunicationTemplate
    work: Any
    drafter: Any
    approvers: list[Any]
    contract: Contract | None = None


def _work_outbox(plan: Plan, clock: Clock, report: Report, workers: int) -> None:
    """Workers claim and process rows until nothing is due; killed workers are replaced; the
    clock moves on past leases and back-offs until nothing is left or 40 rounds pass."""
    serial = iter(range(10**6))
    names_lock = threading.Lock()

    def fresh_name() -> str:
        with names_lock:
            return f"worker-{next(serial)}"

    def worker_loop() -> None:
        name = fresh_name()
        for _ in range(200):
            try:
                claimed = outbox.outbox_claim(
                    worker=name, limit=plan.randint(1, 3), now=clock.get(), lease_seconds=300
                )
                if not claimed:
                    return
                if plan.draw(("after-claim",), rate=plan.rate / 3):
                    raise WorkerKilled("after-claim")
                for item_id in claimed:
                    outbox.outbox_process(item_id=item_id, worker=name, now=clock.get())
            except WorkerKilled:
                close_old_connections()
                if connection.in_atomic_block:  # pragma: no cover - atomic blocks unwound
                    raise
                name = fresh_name()  # a new process takes the dead one's place

    for _ in range(40):
        _run_parallel([worker_loop for _ in range(workers)])
        open_rows = OutboxItem.objects.filter(
            status__in=[OutboxItem.Status.PENDING, OutboxItem.Status.IN_PROGRESS]
        )
        if not open_rows.exists():
            return
        clock.advance(outbox.BACKOFF_MAX_SECONDS + 301)


def _approve_concurrently(comm: Communication, approvers: list[Any], report: Report) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(user: Any) -> Callable[[], None]:
        def job() -> None:
            try:
                approval.communication_approve(
                    actor=user, communication=Communication.objects.get(pk=comm.pk)
                )
                result = "approved"
            except Exception as exc:
                result = f"refused: {exc.__class__.__name__}"
            with lock:
                outcomes.append(result)

        return job

    _run_parallel([approve(user) for user in approvers])
    approved = outcomes.count("approved")
    report.approvals_refused += len(outcomes) - approved
    if approved != 1:
        report.failures.append(f"{approved} concurrent approvals succeeded: {outcomes}")
    if Approval.objects.filter(communication=comm, decision="approved").count() != 1:
        report.failures.append("not exactly one approval row")


def _events_for(
    rng: random.Random, messages: list[Message]
) -> tuple[list[StatusInput], dict[str, str]]:
    """Several events per message, each delivered 1–3 times, all shuffled; and the status each
    message must end at (the highest rank among its events, or submitted)."""
    statuses = [s for s in STATUS_RANK if STATUS_RANK[s] > STATUS_RANK["submitted"]]
    at = timezone.now()
    events: list[StatusInput] = []
    expected: dict[str, str] = {}
    for message in messages:
        key = str(message.key)
        chosen = rng.sample(statuses, rng.randint(0, 3))
        expected[key] = max(["submitted", *chosen], key=lambda s: STATUS_RANK[s])
        for i, status in enumerate(chosen):
            event = StatusInput(
                key,
                status,
                at + timedelta(seconds=rng.randint(0, 3600)),
                "exstream-email",
                f"evt-{key}-{i}",
            )
            events += [event] * rng.randint(1, 3)
    rng.shuffle(events)
    return events, expected


def _apply_concurrently(
    rng: random.Random, comm: Communication, events: list[StatusInput], report: Report
) -> None:
    halves = [events[0::2], events[1::2]]
    sizes = [rng.randint(1, 7), rng.randint(1, 7)]

    def applier(part: list[StatusInput], size: int) -> Callable[[], None]:
        def job() -> None:
            seen: dict[str, int] = {}
            for i in range(0, len(part), size):
                message_status_apply(events=part[i : i + size])
                for key, status in Message.objects.filter(communication=comm).values_list(
                    "key", "status"
                ):
                    r = STATUS_RANK.get(status, 0)
                    if r < seen.get(str(key), 0):
                        report.backwards += 1
                    seen[str(key)] = r

        return job

    _run_parallel([applier(p, s) for p, s in zip(halves, sizes, strict=True)])


def run_scenario(index: int, seed: int, world: World, report: Report, rate: float) -> None:
    rng = random.Random(seed + index)
    plan = Plan(random.Random(seed + index + 10**6), report, rate=rate, budget=6)
    recipients = rng.randint(2, 9)
    audience = AudienceFactory.create(
        imprint=world.template.imprint, kind=Audience.Kind.UPLOADED, name=f"List {index}"
    )
    add_members(audience, recipients)
    cache.clear()
    ExstreamGateway._clients.clear()
    clock = Clock()
    with mock.patch("django.conf.settings.COMMUNICATION_DISPATCH_CHUNK", rng.randint(1, 4)):
        comm = communication_create(
            actor=world.drafter,
            imprint=world.template.imprint,
            communication_type=world.template.communication_type,
            audience=audience,
            work=world.work,
            contract=world.contract,
        )
        comm = Communication.objects.get(pk=comm.pk)
        if comm.status != Communication.Status.DRAFT or comm.blocking_count:
            report.failures.append(
                f"seed {seed + index}: composed {comm.status} with {comm.blocking_count} "
                f"blocking findings: {comm.compose_error}"
            )
            return
        approval.communication_submit(actor=world.drafter, communication=comm)
        with injected(plan):
            _approve_concurrently(comm, world.approvers, report)
            wrapped = {
                kind: KillingHandler(handler, plan) for kind, handler in outbox.HANDLERS.items()
            }
            with mock.patch.dict(outbox.HANDLERS, wrapped):
                _work_outbox(plan, clock, report, workers=2)
    comm = Communication.objects.get(pk=comm.pk)
    rows = list(OutboxItem.objects.filter(subject_id=comm.pk, kind=OutboxItem.Kind.EXSTREAM_BATCH))
    jobs = Counter(
        ExstreamSandboxJob.objects.filter(
            external_id__in=[r.external_id for r in rows]
        ).values_list("external_id", flat=True)
    )
    messages = list(Message.objects.filter(communication=comm))
    report.scenarios += 1
    report.chunks += len(rows)
    report.messages += len(messages)
    by_chunk = Counter(m.chunk for m in messages)
    for row in rows:
        chunk = int(row.payload["chunk"])
        if jobs[row.external_id] == 0:
            report.lost += by_chunk[chunk]
        elif jobs[row.external_id] > 1:
            report.duplicated += by_chunk[chunk] * (jobs[row.external_id] - 1)
        if row.status != OutboxItem.Status.DONE:
            report.stuck += 1
            report.failures.append(
                f"seed {seed + index}: chunk {chunk} {row.status}: "
                f"{row.dead_reason or row.last_error}"
            )
    not_submitted = [m for m in messages if m.status != Message.Status.SUBMITTED]
    if not_submitted or comm.status != Communication.Status.SENT:
        report.failures.append(
            f"seed {seed + index}: communication {comm.status}, "
            f"{len(not_submitted)} messages not submitted"
        )

    events, expected = _events_for(rng, messages)
    report.events += len({(e.source, e.external_event_id) for e in events})
    report.event_copies += len(events)
    _apply_concurrently(rng, comm, events, report)
    stored = Counter(
        MessageEvent.objects.filter(
            message__communication=comm, source="exstream-email"
        ).values_list("external_event_id", flat=True)
    )
    report.events_stored_twice += sum(1 for n in stored.values() if n > 1)
    if len(stored) != len({e.external_event_id for e in events}):
        report.failures.append(f"seed {seed + index}: {len(stored)} events stored")
    for key, status in Message.objects.filter(communication=comm).values_list("key", "status"):
        if status != expected[str(key)]:
            report.wrong_final_status += 1
    if report.lost or report.duplicated or report.stuck or report.backwards:
        report.failures.append(
            f"seed {seed + index}: lost {report.lost}, duplicated {report.duplicated}, "
            f"stuck {report.stuck}, backwards {report.backwards}"
        )
    if report.wrong_final_status or report.events_stored_twice:
        report.failures.append(
            f"seed {seed + index}: {report.wrong_final_status} wrong final statuses, "
            f"{report.events_stored_twice} events stored twice"
        )
    _write_back(index, seed, world, comm, report, rate)


def _write_back(
    index: int, seed: int, world: World, comm: Communication, report: Report, rate: float
) -> None:
    """Work the write-backs the applied statuses queued, under faults and kills; then each must
    appear exactly once in the sandbox contract's description."""
    if world.contract is None:
        return
    plan = Plan(random.Random(seed + index + 4 * 10**6), report, rate=rate, budget=6)
    plan.phase = "writeback"
    clock = Clock()
    records = list(
        WritebackRecord.objects.filter(
            business_key__in=[
                f"message:{pk}:{what}"
                for pk in Message.objects.filter(communication=comm).values_list("pk", flat=True)
                for what in ("delivered", "rights-responded")
            ]
        ).select_related("outbox_item")
    )
    queued = [r for r in records if r.outbox_item_id is not None]
    kept = [r for r in records if r.outbox_item_id is None]
    if kept:
        report.failures.append(
            f"seed {seed + index}: {len(kept)} write-backs kept instead of queued: {kept[0].reason}"
        )
    with injected(plan):
        wrapped = {kind: KillingHandler(handler, plan) for kind, handler in outbox.HANDLERS.items()}
        with mock.patch.dict(outbox.HANDLERS, wrapped):
            _work_outbox(plan, clock, report, workers=2)
    assert world.contract is not None and world.contract.consonance_id is not None
    description = str(
        SandboxContract.objects.get(pk=world.contract.consonance_id).data.get("description") or ""
    )
    report.writebacks += len(queued)
    for record in queued:
        record.refresh_from_db()
        item = OutboxItem.objects.get(pk=record.outbox_item_id or 0)
        times = description.count(f"[{item.external_id}]")
        if times == 0:
            report.writebacks_lost += 1
        elif times > 1:
            report.writebacks_duplicated += times - 1
        if item.status != OutboxItem.Status.DONE:
            report.stuck += 1
        if times != 1 or item.status != OutboxItem.Status.DONE:
            report.failures.append(
                f"seed {seed + index}: write-back {item.external_id} {item.status} "
                f"({record.status}), in Consonance {times} times: "
                f"{item.dead_reason or item.last_error}"
            )


def _change_source(rng: random.Random, report: Report) -> None:
    """A few edits in the sandbox Consonance, as staff would make between syncs."""
    products = list(SandboxProduct.objects.values_list("pk", flat=True))
    contracts = list(SandboxContract.objects.values_list("pk", flat=True))
    works = list(SandboxWork.objects.values_list("pk", flat=True))
    for _ in range(rng.randint(1, 4)):
        change = rng.choice(SOURCE_CHANGES)
        try:
            if change == "price":
                store.change_price(rng.choice(products))
            elif change == "publication-date":
                store.slip_publication_date(rng.choice(products), days=rng.randint(1, 60))
            elif change == "delivery-date":
                store.slip_delivery_date(rng.choice(contracts), days=rng.randint(1, 60))
            elif change == "stage":
                store.change_stage(rng.choice(works), stage=rng.choice(["Production", "Editorial"]))
            else:
                store.add_licensed_right(
                    rng.choice(contracts), right_type=rng.choice(["Audio", "Film", "Serial"])
                )
        except (ValueError, IndexError, KeyError):
            continue  # e.g. a product without a GBP price: the edit does not apply


def _age_running_syncs() -> None:
    """A killed sync leaves its run 'running'; its heartbeat goes stale with time."""
    SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(
        heartbeat_at=timezone.now() - STALE_AFTER - timedelta(seconds=1),
        created_at=timezone.now() - STALE_AFTER - timedelta(seconds=1),
    )


def _clean_resync_writes(*, full: bool = True) -> list[str]:
    """Rows a fault-free sync writes to the mirror (a full one writes none when the mirror
    already matches the source)."""
    writes: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.split(None, 1)[0].upper()
        if (
            verb in ("INSERT", "UPDATE", "DELETE")
            and "integration_" in sql
            and "integration_syncrun" not in sql
        ):
            writes.append(sql[:200])
        return execute(sql, params, many, context)

    plan = Plan(random.Random(0), Report(), rate=0.0, budget=0)
    with injected(plan), connection.execute_wrapper(count):
        # The full check is always a fresh run (a ``since`` skips resuming an interrupted
        # one, which would only cover records after its cursor); the incremental one is what
        # the schedule starts, resuming if there is something to resume.
        run = consonance_sync(
            run=sync_run_start(
                full=full, since=datetime.date(2000, 1, 1) if full else None, enqueue_task=False
            ),
            client=ConsonanceClient(sleep=lambda seconds: None),
        )
    if run.status != SyncRun.Status.SUCCEEDED:
        return [f"the clean resync failed: {run.message}"]
    return writes


def run_sync_scenario(index: int, seed: int, report: Report, rate: float) -> None:
    """Consonance faults and a killed worker mid-sync; the sync is started again (resuming)
    until it succeeds, then a clean full sync must find nothing left to write."""
    rng = random.Random(seed + index + 2 * 10**6)
    plan = Plan(random.Random(seed + index + 3 * 10**6), report, rate=rate, budget=6)
    _change_source(rng, report)
    report.syncs += 1
    succeeded = False
    with injected(plan):
        for _ in range(15):
            report.sync_attempts += 1
            try:
                run = sync_run_start(full=rng.random() < 0.3, enqueue_task=False)
                run = consonance_sync(run=run, client=ConsonanceClient(sleep=lambda s: None))
            except (WorkerKilled, SyncAlreadyRunning):
                close_old_connections()
                _age_running_syncs()
                continue
            if run.status == SyncRun.Status.SUCCEEDED:
                succeeded = True
                break
    # A run resumed from its saved cursor does not go back for records before the cursor that
    # changed while it was down; the next scheduled (incremental) run picks them up, since its
    # window starts a day before the resumed run started. That run is part of recovery.
    if succeeded:
        # Until a fresh scheduled run has gone through (resumed ones come first).
        caught_up = [_clean_resync_writes(full=False) for _ in range(2)]
        if any(caught_up):
            report.sync_caught_up += 1
    written = _clean_resync_writes()
    if not succeeded or written:
        report.sync_diverged += 1
        report.failures.append(
            f"seed {seed + index}: sync succeeded={succeeded}; a clean resync then wrote "
            f"{len(written)} rows: {written[:3]}"
        )


def run_suite(
    *, world: World, scenarios: int, seed: int, rate: float = 0.25, time_budget: float = 60.0
) -> Report:
    """Run up to ``scenarios`` scenarios (stopping early when ``time_budget`` seconds pass)."""
    report = Report(seed=seed)
    started = time.monotonic()
    # Workers poll for rows here; the on-commit "dispatch now" task (run inline by the test
    # settings' synchronous queue) would bypass them, so only that task is dropped.
    real_async_task = django_q_tasks.async_task

    def async_task(func: Any, *args: Any, **kwargs: Any) -> Any:
        if func == "integration.tasks.outbox_dispatch":
            return None
        return real_async_task(func, *args, **kwargs)

    with mock.patch.object(django_q_tasks, "async_task", async_task):
        for index in range(scenarios):
            if time.monotonic() - started > time_budget:
                break
            run_scenario(index, seed, world, report, rate)
            if index % 4 == 0 and not report.failures:
                run_sync_scenario(index, seed, report, rate)
            if report.failures:
                break
    report.seconds = time.monotonic() - started
    return report


def make_world(
    template: CommunicationTemplate, work: Any, drafter: Any, contract: Contract | None = None
) -> World:
    """Two more approvers with the drafter's role (four eyes: neither of them drafted). With a
    ``contract``, the imprint writes rights confirmations' deliveries and answers back to it."""
    imprint = template.imprint
    role = drafter.memberships.get(imprint=imprint).role
    approvers = [member(role, imprint, f"approver{i}@a.test") for i in (1, 2)]
    if contract is not None:
        for kind in (
            WritebackRule.EventKind.RIGHTS_CONFIRMATION_DELIVERED,
            WritebackRule.EventKind.RIGHTS_RESPONSE_RECORDED,
        ):
            WritebackRule.objects.update_or_create(
                imprint=imprint,
                event_kind=kind,
                defaults={"mutation": WritebackRule.Mutation.UPDATE_CONTRACT, "enabled": True},
            )
    return World(
        template=template, work=work, drafter=drafter, approvers=approvers, contract=contract
    )
