"""Benchmark: compose a 100,000-recipient communication, then dispatch it to the sandbox Exstream.

* compose — recipients per second and peak memory (``ru_maxrss`` of a child process that only
  composes, so the seeding of the list does not count);
* dispatch — every chunk submitted over real HTTP to the sandbox Exstream (served by a
  ``runserver`` child on its own SQLite file); Colophon's share of the wall time is the time
  spent outside the HTTP calls divided by the total.

Uses an uploaded-list audience (AudienceMember rows created in bulk) on a temporary SQLite file.
Prints one JSON line last (format in bench/run.py). ``BENCH_RECIPIENTS`` overrides the size,
``BENCH_DISPATCH_CHUNK`` the records per batch (compose and dispatch use the same).

The notes say what bounds the figures: Colophon's dispatch time by step (cheap wall-clock
wrappers, always), and when compose misses its goal a cProfile of a second, untimed compose.
``BENCH_PROFILE=1`` profiles both measured steps instead (slower; the figures then include
the profiler's overhead); ``BENCH_PROFILE_DUMP=path`` also writes the raw pstats files.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import backend, database_url, row, write_floor  # noqa: E402

DISPATCH_CHUNK = int(os.environ.get("BENCH_DISPATCH_CHUNK", "2000"))
# BENCH_PROFILE=1: cProfile the measured steps and report the top functions by cumulative time
# in the notes (slower; for finding what bounds a figure, not for the figure itself).
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0", "false")


def _profiled(fn: Any) -> tuple[Any, list[str]]:
    """Run ``fn()``; with BENCH_PROFILE, under cProfile, returning the top functions."""
    if not PROFILE:
        return fn(), []
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(fn)
    if dump := os.environ.get("BENCH_PROFILE_DUMP"):
        profiler.dump_stats(f"{dump}.{os.getpid()}")
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, func), (_, calls, _tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.replace(str(ROOT) + "/", "")
        if "site-packages" in where:
            where = where.split("site-packages/", 1)[1]
        rows.append((ct, f"{where}:{line} {func} ({calls} calls) {ct:.2f}s"))
    rows.sort(reverse=True)
    return result, [text for _, text in rows[:25]]


def _profile_text(fn: Any, *, total_http: dict[str, float]) -> dict[str, Any]:
    """Run ``fn()`` under cProfile; the text summary (top functions by cumulative and by own
    time), the SQL statements by the time spent in them (a cProfile shows that time only as
    the driver waiting), and the run's wall and HTTP seconds (inflated by the profiler)."""
    import cProfile
    import io
    import pstats
    import traceback

    from django.db import connection

    statements: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])

    def timed_sql(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - started
            site = next(
                (
                    f"{Path(f.filename).name}:{f.lineno} {f.name}"
                    for f in reversed(traceback.extract_stack(limit=40))
                    if "/integration/" in f.filename or "/accounts/" in f.filename
                ),
                "?",
            )
            entry = statements[f"{site} | {' '.join(sql.split())[:70]}"]
            entry[0] += seconds
            entry[1] += 1

    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timed_sql):
        profiler.runcall(fn)
    wall = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    out.write("Top 25 functions by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(25)
    out.write("\nTop 25 functions by own time\n")
    stats.sort_stats("tottime").print_stats(25)
    total = sum(seconds for seconds, _ in statements.values())
    count = sum(int(n) for _, n in statements.values())
    out.write(
        f"\nSQL: {count} statements, {total:.2f} s in cursor.execute (commits not included: "
        "the events' deferred foreign-key checks run at commit). Top 25 by total time, by "
        "the Colophon function that issued them:\n\n     total  calls  where | statement\n"
    )
    ranked = sorted(statements.items(), key=lambda kv: -kv[1][0])[:25]
    for where, (seconds, calls) in ranked:
        out.write(f"  {seconds:7.3f}s {int(calls):6d}  {where}\n")
    return {"seconds": wall, "http_seconds": total_http["seconds"], "text": out.getvalue()}


def _setup(db: str, **extra: str) -> None:
    from _common import django_setup

    django_setup(db, **extra)


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(db: str) -> tuple[int, int]:
    """Imprint, title, template with mappings, and a 100k uploaded list; returns the ids of
    two communications to it (created, not composed): the measured one and the profiled one."""
    _setup(db)
    _migrate()
    from accounts.models import Imprint
    from integration.communications.create import communication_create
    from integration.models import (
        Audience,
        AudienceMember,
        CommunicationTemplate,
        CommunicationType,
        ExstreamCommunication,
        FieldMapping,
        Price,
        Product,
        Work,
    )

    imprint = Imprint.objects.create(name="Harbour Lights", code="harbour", consonance_id=101)
    work = Work.objects.create(
        imprint=imprint, consonance_id=1, title="The Lighthouse Keeper", season="Autumn 2026"
    )
    product = Product.objects.create(
        work=work,
        consonance_id=2,
        isbn13="9780000000001",
        full_title="The Lighthouse Keeper",
        publication_date="2026-03-05",
    )
    Price.objects.create(product=product, amount="16.99", currency="GBP", territory="GB")
    from sandbox.exstream.catalogue import CATALOGUE, COMMON_FIELDS, _dsn, communication_id_for

    name = "Launch announcement e-mail"
    extra = next(fields for n, fields, _, _ in CATALOGUE if n == name)
    exstream = ExstreamCommunication.objects.create(
        domain="production",
        communication_id=communication_id_for(name),
        name=name,
        prod_dsn=_dsn(name),
        channels=["email"],
        driver_fields=[*COMMON_FIELDS, *extra],
    )
    ctype = CommunicationType.objects.get(code="launch-announcement")
    template = CommunicationTemplate.objects.create(
        imprint=imprint,
        name="Launch",
        communication_type=ctype,
        exstream_communication=exstream,
        channels=["email"],
        status="active",
    )
    for driver, context, transforms in (
        ("recipientName", "recipient.name", []),
        ("recipientEmail", "recipient.email", []),
        ("imprintName", "imprint.name", []),
        ("workTitle", "work.title", [{"op": "upper"}]),
        ("isbn", "product.isbn", []),
        ("publicationDate", "product.publication_date", [{"op": "date", "style": "iso"}]),
        ("blurb", "offer.description", [{"op": "default", "value": "Out now"}]),
    ):
        FieldMapping.objects.create(
            template=template, driver_field=driver, context_field=context, transforms=transforms
        )
    audience = Audience.objects.create(imprint=imprint, name="Members", kind="uploaded")
    batch = []
    for i in range(1, RECIPIENTS + 1):
        batch.append(
            AudienceMember(
                audience=audience,
                row_number=i,
                email=f"member{i}@club.test",
                name=f"Member {i}",
                country="GB",
                consent=True,
                channel_preference="email" if i % 3 else "print",
            )
        )
        if len(batch) == 5000:
            AudienceMember.objects.bulk_create(batch)
            batch = []
    AudienceMember.objects.bulk_create(batch)
    # The measured communication, and a second just like it: composed and dispatched after the
    # measured one, under cProfile (the profile attached to B6), so the measured figures carry
    # no overhead.
    communication, second = (
        communication_create(
            actor="bench",
            imprint=imprint,
            communication_type=ctype,
            audience=audience,
            work=work,
            offer={"code": "LIGHT20", "description": "20% off until launch day"},
            compose=False,
        )
        for _ in range(2)
    )
    return communication.pk, second.pk


def child_compose(db: str, communication_id: int) -> dict[str, Any]:
    # One deployment, one chunk size: compose writes each message in its dispatch chunk.
    _setup(db, COMMUNICATION_DISPATCH_CHUNK=str(DISPATCH_CHUNK))
    from django.db import transaction

    from integration.communications.compose import communication_compose
    from integration.models import Communication, Message

    with transaction.atomic():
        # A second (profiled) run starts from no messages too: their deletion is not compose.
        Message.objects.filter(communication_id=communication_id).delete()
        c = Communication.objects.select_for_update().get(pk=communication_id)
        c.start_composing()
        c.save()
    started = time.perf_counter()
    c, profile = _profiled(lambda: communication_compose(communication_id=communication_id))
    elapsed = time.perf_counter() - started
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": elapsed,
        "recipients": c.recipient_count,
        "status": c.status,
        "error": c.compose_error,
        "maxrss_mb": maxrss_kb / 1024,
        "profile": profile,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def warm_up(client: Any) -> None:
    """Before anything is timed: the client's OTDS token and XSRF token, and one GET so the
    sandbox server has loaded its code; then neither run pays for them in its HTTP time."""
    client._xsrf_token(client.access_token())
    client.find_jobs_by_external_id("bench-warm-up")


def bare_dispatch(communication_id: int, chunks: list[int]) -> dict[str, Any]:
    """The B6 floor, measured in the same run against the same sandbox: a bare dispatch of the
    same chunks with none of Colophon's guarantees. Per chunk: read its stored driver records
    with raw SQL (no ORM), POST them with the same client and request shape (the connector's
    ``submit_batch``, to the same endpoint; under its own external ids, so the sandbox keeps
    Colophon's apart), and write one row per message for its submitted status by the fastest
    means the database has (COPY on PostgreSQL, executemany on SQLite) into a bare table, one
    transaction per chunk. No outbox, no pre-send check, no event, no audit, no job record.

    Returns the wall time, the time inside ``submit_batch`` (HTTP, timed exactly as for
    Colophon's dispatch) and the rows written."""
    from django.db import connection, transaction

    from integration.connectors.exstream.client import ExstreamClient
    from integration.connectors.exstream.driver import XML, EncodedRecord, wire_prefix, wire_record
    from integration.models import Communication

    pg = connection.vendor == "postgresql"
    # Set-up, not timed: the Exstream communication and the wire prefix (constant per send).
    template = (
        Communication.objects.select_related("template__exstream_communication")
        .get(pk=communication_id)
        .template
    )
    assert template is not None
    exstream = template.exstream_communication
    key_field = template.customer_key_path
    prefix = None
    if exstream.driver_format != XML:
        prefix = wire_prefix(list(template.mappings.values_list("driver_field", flat=True)),
                             key_field)  # fmt: skip
    table = "bench_dispatch_floor"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(
            f"CREATE TABLE {table} (message_id bigint PRIMARY KEY, status varchar(20) NOT NULL, "
            "status_at " + ("timestamptz" if pg else "datetime") + " NOT NULL, "
            "job_id varchar(100) NOT NULL)"
        )
    read = (
        "SELECT id, key::text, driver_data::text FROM integration_message "
        "WHERE communication_id = %s AND chunk = %s ORDER BY sequence"
        if pg
        else "SELECT id, key, driver_data FROM integration_message "
        "WHERE communication_id = %s AND chunk = %s ORDER BY sequence"
    )
    client = ExstreamClient()
    warm_up(client)
    http_seconds = 0.0
    written = 0
    started = time.perf_counter()
    for chunk in chunks:
        with connection.cursor() as cur:
            cur.execute(read, (communication_id, chunk))
            rows = cur.fetchall()
        records = []
        ids = []
        for pk, key, text in rows:
            if not pg:  # SQLite stores a UUID as 32 hex digits
                key = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
            wire = wire_record(prefix, key, text) if prefix is not None else None
            records.append(EncodedRecord(text, key_field, key, wire))
            ids.append(pk)
        t = time.perf_counter()
        result = client.submit_batch(
            external_id=f"floor-{communication_id}-{chunk}", communication=exstream, records=records
        )
        http_seconds += time.perf_counter() - t
        now = datetime.now(UTC)
        job_id = result.job_id[:100]
        with transaction.atomic(), connection.cursor() as cur:
            if pg:
                copy_sql = f"COPY {table} (message_id, status, status_at, job_id) FROM STDIN"
                with cur.copy(copy_sql) as copy:
                    for pk in ids:
                        copy.write_row((pk, "submitted", now, job_id))
            else:
                at = now.isoformat(sep=" ")
                cur.executemany(
                    f"INSERT INTO {table} (message_id, status, status_at, job_id) "
                    "VALUES (%s, %s, %s, %s)",
                    [(pk, "submitted", at, job_id) for pk in ids],
                )
        written += len(ids)
    seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {table}")
    return {"seconds": seconds, "http_seconds": http_seconds, "rows": written,
            "chunks": len(chunks)}  # fmt: skip


def dispatch(
    db: str,
    server_db: Path,
    communication_id: int,
    *,
    compose_second: Any = None,
    second_id: int = 0,
) -> dict[str, Any]:
    """Approve (system actor) and run the outbox against a sandbox served over real HTTP.

    Before it, the floor (``bare_dispatch``) sends the same chunks to the same sandbox. After
    it, ``compose_second()`` composes the second communication, which is then approved and
    dispatched the same way under cProfile: the profile attached to B6."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{server_db}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SANDBOX_ENABLED": "true",
        "DEBUG": "true",
        "COLOPHON_TESTING": "true",
        "PYTHONPATH": str(ROOT),
    }
    for command in (["migrate", "-v", "0"], ["seed_sandbox_exstream"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        _setup(db, SANDBOX_BASE_URL=f"http://127.0.0.1:{port}")
        from django.conf import settings

        settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{port}"
        settings.COMMUNICATION_DISPATCH_CHUNK = DISPATCH_CHUNK
        from django.db import transaction

        from integration.communications import dispatch as dispatch_module
        from integration.communications import grant
        from integration.delivery import gateway as exstream_gateway
        from integration.delivery.outbox import outbox_dispatch
        from integration.models import Communication, Message, OutboxItem

        floor_seconds, floor_rows = write_floor(
            "integration_message", "WHERE communication_id = %s", (communication_id,)
        )
        chunks = sorted(
            set(
                Message.objects.filter(communication_id=communication_id).values_list(
                    "chunk", flat=True
                )
            )
        )
        bare = bare_dispatch(communication_id, chunks)
        real = exstream_gateway.gateway()
        warm_up(exstream_gateway.ExstreamGateway().client())
        http = {"seconds": 0.0, "calls": 0}

        class Timed:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def submit_batch(self, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return real.submit_batch(**kwargs)
                finally:
                    http["seconds"] += time.perf_counter() - t
                    http["calls"] += 1

            def record_job(self, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return real.record_job(**kwargs)
                finally:
                    steps["recording each Exstream job (gateway.record_job)"] += (
                        time.perf_counter() - t
                    )

        # Colophon's time by step (cheap wall-clock wrappers, not a profiler): where the
        # share outside HTTP goes.
        steps: dict[str, float] = defaultdict(float)

        originals: list[tuple[Any, str, Any]] = []

        def timed(module: Any, name: str, label: str) -> None:
            original = getattr(module, name)
            originals.append((module, name, original))

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    steps[label] += time.perf_counter() - t

            setattr(module, name, wrapper)

        check = "the pre-send check (input versions; recompute only if one moved)"
        for name, label in (
            ("inputs_moved", check),
            ("approved_payload_refusal", check),
            ("communication_revalidate", check),
            ("chunk_records", "reading each chunk's records"),
            ("message_status_chunk_apply", STATUS_STEP),
            ("settle", "settling the communication after each chunk"),
        ):
            timed(dispatch_module, name, label)

        # Committing: the events' foreign keys are DEFERRABLE INITIALLY DEFERRED (Django's
        # default), so PostgreSQL checks them row by row when each chunk's transaction commits.
        from django.db import connection

        commit = connection.commit

        def timed_commit() -> None:
            t = time.perf_counter()
            try:
                commit()
            finally:
                steps[COMMIT_STEP] += time.perf_counter() - t

        connection.commit = timed_commit  # type: ignore[method-assign]

        def approve_and_send(pk: int = communication_id) -> Any:
            with exstream_gateway.use_gateway(Timed()):  # type: ignore[arg-type]
                t = time.perf_counter()
                with transaction.atomic():
                    c = Communication.objects.select_for_update().get(pk=pk)
                    c.submit()
                    grant.approval_grant(c, actor="bench", comment="benchmark", auto=True)
                steps["approval (binding the hash, queueing the chunks)"] += time.perf_counter() - t
                return outbox_dispatch(worker="bench", limit=1000)

        started = time.perf_counter()
        counts, profile = _profiled(approve_and_send)
        total = time.perf_counter() - started
        c = Communication.objects.get(pk=communication_id)
        measured_http = dict(http)
        for module, name, original in originals:
            setattr(module, name, original)
        connection.commit = commit  # type: ignore[method-assign]
        profiled: dict[str, Any] = {}
        if compose_second is not None and not PROFILE:
            compose_second()
            http.update(seconds=0.0, calls=0)
            profiled = _profile_text(lambda: approve_and_send(second_id), total_http=http)
        return {
            "bare": bare,
            "profiled": profiled,
            "seconds": total,
            "http_seconds": measured_http["seconds"],
            "http_calls": measured_http["calls"],
            "status": c.status,
            "outcomes": {str(k): v for k, v in counts.items()},
            "chunks": OutboxItem.objects.count(),
            "floor_seconds": floor_seconds,
            "floor_rows": floor_rows,
            "profile": profile,
            "steps": dict(steps),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


STATUS_STEP = "each chunk's submitted status and one event per message (status.apply)"
COMMIT_STEP = "committing each transaction (the events' deferred foreign-key checks)"


def _steps_note(sent: dict[str, Any]) -> str:
    """Where Colophon's share of the dispatch goes, largest first."""
    outside = sent["seconds"] - sent["http_seconds"]
    steps = sorted(sent["steps"].items(), key=lambda kv: -kv[1])
    rest = outside - sum(v for _, v in steps)
    parts = [f"{label} {v:.2f} s ({v / outside:.0%})" for label, v in steps]
    parts.append(f"the outbox's own bookkeeping and the rest {rest:.2f} s ({rest / outside:.0%})")
    largest, seconds = steps[0] if steps else ("", 0.0)
    budget = 0.25 * sent["http_seconds"]  # ≤ 20% of the total is ≤ 25% of the HTTP time
    writes = sent["steps"].get(STATUS_STEP, 0.0) + sent["steps"].get(COMMIT_STEP, 0.0)
    return (
        f"Colophon's {outside:.2f} s outside HTTP, by step: " + "; ".join(parts) + ". "
        f"For ≤ 20% the whole of it would have to fit in {budget:.2f} s (a quarter of the "
        f"HTTP time); the largest step, {largest}, takes {seconds:.2f} s on its own. "
        f"The per-message writes alone (each message's status and event, and the commit "
        f"that checks the events' foreign keys) take {writes:.2f} s, {writes / budget:.1f}× "
        f"that budget. Writing the {sent['floor_rows']:,} message rows alone, by the fastest "
        "means the "
        f"database has (the B3 floor), takes {sent['floor_seconds']:.2f} s, "
        f"{sent['floor_seconds'] / budget:.1f}× that budget: a dispatch that keeps a status "
        "and an event per recipient cannot reach 20% of wall time against a vendor that "
        "answers this fast (the sandbox, on the same machine)."
    )


def _floor_note(sent: dict[str, Any], share: float) -> str:
    """The measured dispatch against the bare one: what bounds B6."""
    bare = sent["bare"]
    outside = sent["seconds"] - sent["http_seconds"]
    bare_outside = bare["seconds"] - bare["http_seconds"]
    bare_share = bare_outside / bare["seconds"]
    text = (
        f"Floor, measured in the same run against the same sandbox before the dispatch: the "
        f"same {bare['chunks']} chunks ({bare['rows']:,} messages), each read with raw SQL (no "
        "ORM), POSTed with the same client and request shape, and one row per message written "
        "for its submitted status by "
        + ("COPY" if backend() == "postgresql" else "executemany")
        + " in one transaction per chunk; no outbox, pre-send check, event, job record or "
        "audit. Both clients had their OTDS and XSRF tokens, and the sandbox its code loaded, "
        f"from an untimed call first. It took {bare['seconds']:.2f} s, "
        f"{bare['http_seconds']:.2f} s of it in HTTP "
        f"and {bare_outside:.2f} s ({bare_share:.0%}) outside. Colophon's dispatch took "
        f"{sent['seconds']:.2f} s ({sent['seconds'] / bare['seconds']:.2f}× the floor), "
        f"{outside:.2f} s outside HTTP ({outside / bare_outside:.2f}× the floor's). "
    )
    extra = outside - bare_outside
    # The sandbox answers requests sent back to back (the floor's) more slowly than the same
    # requests spaced out by Colophon's own work (measured: ~75 vs ~40 ms per 2,000 records on
    # this machine), so the floor's own share understates it. At the HTTP time Colophon's
    # requests took, the floor's share is:
    paced = _paced_floor_share(sent)
    text += (
        f"The sandbox answered the floor's requests, sent back to back, in "
        f"{bare['http_seconds'] / bare['chunks'] * 1000:.0f} ms each and Colophon's, spaced "
        f"by its own work, in {sent['http_seconds'] / max(sent['http_calls'], 1) * 1000:.0f} ms "
        f"each; at Colophon's HTTP time the floor would spend {paced:.0%} outside HTTP. "
    )
    floor_share = max(bare_share, paced)
    if floor_share > 0.20:
        text += (
            f"So even the floor spends {floor_share:.0%} of its wall time outside HTTP, above "
            "the 20% goal: against a vendor that answers this fast (the sandbox, on the same "
            "machine) even a dispatch with none of Colophon's guarantees cannot meet B6, so "
            f"B6 is out of reach here whatever Colophon does; Colophon's guarantees add "
            f"{extra:.2f} s outside HTTP on top of the floor's {bare_outside:.2f} s (its "
            f"share {share:.0%} against the floor's {floor_share:.0%}; where that time goes is "
            "in the steps above)."
        )
    else:
        text += (
            f"The floor spends {floor_share:.0%} outside HTTP, within the 20% goal, so a "
            f"dispatch this bare could meet B6 here; Colophon's guarantees add {extra:.2f} s "
            "outside HTTP (where that time goes is in the steps above)."
        )
    return text


def _paced_floor_share(sent: dict[str, Any]) -> float:
    """The floor's share outside HTTP had its requests taken as long as Colophon's did."""
    bare = sent["bare"]
    bare_outside = bare["seconds"] - bare["http_seconds"]
    return float(bare_outside / (bare_outside + sent["http_seconds"]))


def _profile_file(profiled: dict[str, Any]) -> str:
    return (
        f"# B6 dispatch profile ({backend()}, {RECIPIENTS:,} recipients, chunks of "
        f"{DISPATCH_CHUNK})\n#\n"
        "# Written by bench/compose.py (make bench): a cProfile of a second dispatch just like "
        "the measured one\n# (approval, then the outbox against the sandbox Exstream over real "
        f"HTTP). Under the profiler it took\n# {profiled['seconds']:.2f} s, "
        f"{profiled['http_seconds']:.2f} s of it inside submit_batch (HTTP; the profiler slows "
        "Python on both sides\n# of that line, so use the figures for proportions, not "
        "times).\n\n" + profiled["text"]
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--compose":
        print(json.dumps(child_compose(sys.argv[2], int(sys.argv[3]))))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--seed":
        print(*seed(sys.argv[2]))
        return
    workdir = Path(tempfile.mkdtemp(prefix="colophon-bench-"))
    try:
        db = database_url("compose", workdir)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__)), "--seed", str(db)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        communication_id, profiled_id = map(int, proc.stdout.strip().splitlines()[-1].split())

        def compose(target: int = 0, **env: str) -> dict[str, Any]:
            proc = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__)),
                    "--compose",
                    str(db),
                    str(target or communication_id),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                capture_output=True,
                text=True,
                check=True,
            )
            done = json.loads(proc.stdout.strip().splitlines()[-1])
            if done["error"] or done["recipients"] != RECIPIENTS:
                raise SystemExit(f"compose failed: {done}")
            return dict(done)

        composed = compose()
        rate = composed["recipients"] / composed["seconds"]
        compose_profile = composed["profile"]
        if rate < 20_000 and not compose_profile:
            # Below the goal: compose once more under cProfile (not timed) to say what bounds it.
            compose_profile = compose(BENCH_PROFILE="1")["profile"]
        sent = dispatch(
            db,
            workdir / "sandbox.sqlite3",
            communication_id,
            compose_second=lambda: compose(profiled_id),
            second_id=profiled_id,
        )
        write_ratio = composed["seconds"] / sent["floor_seconds"]
        share = (sent["seconds"] - sent["http_seconds"]) / sent["seconds"]
        outside = sent["seconds"] - sent["http_seconds"]
        bare = sent["bare"]
        bare_outside = bare["seconds"] - bare["http_seconds"]
        bare_share = bare_outside / bare["seconds"]
        results: list[dict[str, Any]] = [
            row("B3 compose throughput", round(rate), "recipients/s", "≥ 20,000/s", rate >= 20_000),
            row("B3 compose peak memory (process maxrss)", composed["maxrss_mb"], "MB",
                "≤ 300 MB", composed["maxrss_mb"] <= 300),
            row("B3 compose wall time", composed["seconds"], "s"),
            row("B3 floor: the same message rows by " +
                ("COPY" if backend() == "postgresql" else "multi-row INSERT"),
                sent["floor_seconds"], "s"),
            row("B3 compose ÷ write floor", write_ratio, "×"),
            row("B6 dispatch wall time", sent["seconds"], "s"),
            row("B6 Colophon share of dispatch wall time (outside HTTP)", share * 100, "%",
                "≤ 20%", share <= 0.20),
            row("B6 floor: bare dispatch of the same chunks, wall time", bare["seconds"], "s"),
            row("B6 floor's own share of its wall time (outside HTTP)", bare_share * 100, "%"),
            row("B6 floor's share at Colophon's HTTP time", _paced_floor_share(sent) * 100, "%"),
            row("B6 dispatch wall ÷ floor wall", sent["seconds"] / bare["seconds"], "×"),
            row("B6 Colophon's time outside HTTP ÷ the floor's", outside / bare_outside, "×"),
        ]  # fmt: skip
        notes = [
            f"{RECIPIENTS:,} recipients from an uploaded list; 7 mapped driver fields with "
            "transforms; production settings (DEBUG off); messages written in chunks (COPY on "
            "PostgreSQL) and the payload hashed incrementally. The floor writes the same "
            f"{sent['floor_rows']:,} message rows (read back first) into an empty copy of the "
            "table with the same indexes, in one transaction.",
            f"Dispatch: {sent['http_calls']} batch submissions of {DISPATCH_CHUNK} records "
            f"over real HTTP to the sandbox Exstream (runserver, its own SQLite file); "
            f"final status {sent['status']}; outcomes {sent['outcomes']}. The share "
            "includes approval, the pre-send check before each chunk (input versions compared "
            "with those the approval recorded), reading each chunk's messages and "
            "recording each attempt; the sandbox's own time is inside the HTTP share.",
            _steps_note(sent),
            _floor_note(sent, share),
        ]
        files: dict[str, str] = {}
        if sent["profiled"]:
            path = f"docs/profiles/b6-dispatch-{backend()}.txt"
            files[path] = _profile_file(sent["profiled"])
            notes.append(
                f"Profile attached: [{path}](profiles/b6-dispatch-{backend()}.txt), a cProfile "
                "of a second dispatch just like the measured one (a second communication to "
                "the same list, composed the same way, sent to the same sandbox), so the "
                "figures above carry no profiler overhead; top 25 functions by cumulative "
                "and by own time."
            )
        if compose_profile:
            top = "; ".join(compose_profile[:15])
            notes.append(
                f"Profile of compose (a second, untimed run; top by cumulative time): {top}"
            )
        if sent["profile"]:
            top = "; ".join(sent["profile"])
            notes.append(f"Profile of dispatch (top by cumulative time): {top}")
        print(
            json.dumps(
                {
                    "name": "compose",
                    "database": backend(),
                    "description": f"B3/B6: composing and dispatching a {RECIPIENTS:,}-recipient "
                    "communication.",
                    "results": results,
                    "notes": notes,
                    "files": files,
                }
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
