"""Benchmark B4 (status apply) and B5 (title timeline), each beside a floor from the same run.

In a fresh database (``BENCH_DATABASE``, see bench/_common.py), with production settings:

* many titles (``BENCH_TITLES``, default 200) with a few events each, so indexes and plans are
  those of a populated database, not of two titles;
* one title with ``BENCH_EVENTS`` messages (default 20,000) that get ``delivered`` events sharing
  one time (a delivery file), the same events again (a re-poll), then ``opened`` events with a
  time each (pulled e-mail events). The floor is the same event rows written by ``COPY``
  (PostgreSQL) or bare multi-row ``INSERT`` (SQLite) into an empty copy of the table;
* the timeline of that title, first page and a deep page: p50/p95 over ``BENCH_TIMELINE_RUNS``
  (default 20), queries per page against a small title, and the ORM page time divided by the
  time of the very same SQL sent through a bare DB-API cursor; the first page of a title with
  100 events beside the large title's (page time must not grow with history);
* pulled e-mail event windows of ``BENCH_PULL_SMALL`` (default 2,000) and ``BENCH_PULL_LARGE``
  (default ``BENCH_EVENTS``) events through ``exstream_email_events_pull`` with a client that
  yields the documented event objects lazily: the peak of Python memory allocated during each
  pull (tracemalloc), which must not grow with the window.

``BENCH_EXPLAIN=1`` prints EXPLAIN ANALYZE of every timeline query to stderr (PostgreSQL);
``BENCH_PROFILE=1`` a cProfile of the timed apply.

Prints one JSON line last (format in bench/run.py).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    backend,
    database_url,
    django_setup,
    maxrss_mb,
    migrate,
    percentile,
    row,
    write_floor,
)

EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
TITLES = int(os.environ.get("BENCH_TITLES", "200"))
RUNS = int(os.environ.get("BENCH_TIMELINE_RUNS", "20"))
PULL_SMALL = int(os.environ.get("BENCH_PULL_SMALL", "2000"))
PULL_LARGE = int(os.environ.get("BENCH_PULL_LARGE", str(EVENTS)))


def run() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-status-"))
    django_setup(database_url("status", tmp))
    migrate()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Imprint, User
    from integration.models import (
        Communication,
        CommunicationType,
        EventCursor,
        Message,
        MessageEvent,
        Work,
    )
    from integration.selectors.timeline import encode_cursor, title_timeline
    from integration.status.apply import StatusInput, message_status_apply
    from integration.status.polling import exstream_email_events_pull

    imprint = Imprint.objects.create(name="Bench", code="bench", consonance_id=1)
    user = User.objects.create(email="bench@colophon.test", is_superuser=True)
    ctype = CommunicationType.objects.get(code="launch-email")
    at = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
    serial = iter(range(1, 10**9))

    def title_with(n: int) -> Work:
        number = next(serial)
        work = Work.objects.create(consonance_id=number, imprint=imprint, title=f"Bench {number}")
        comm = Communication.objects.create(
            imprint=imprint, communication_type=ctype, name="Launch", work=work
        )
        Message.objects.bulk_create(
            [
                Message(communication=comm, sequence=i, channel="email", payload_hash="x")
                for i in range(n)
            ],
            batch_size=2000,
        )
        return work

    def keys_of(work: Work) -> list[str]:
        return [
            str(k)
            for k in Message.objects.filter(communication__work=work).values_list("key", flat=True)
        ]

    def apply_profile() -> str:
        """What bounds the apply: the same step (opened events, a time each) for a fresh title
        of up to 5,000 messages under cProfile; the functions taking the most time themselves."""
        import cProfile
        import pstats

        n = min(EVENTS, 5000)
        profiled = keys_of(title_with(n))
        events = [
            StatusInput(k, "opened", at + datetime.timedelta(seconds=i), "exstream-email", f"p{i}")
            for i, k in enumerate(profiled)
        ]
        prof = cProfile.Profile()
        prof.enable()
        message_status_apply(events=events)
        prof.disable()
        stats = pstats.Stats(prof)
        total = stats.total_tt  # type: ignore[attr-defined]
        top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]  # type: ignore[attr-defined]

        def where(file: str, line: int, name: str) -> str:
            if file == "~":  # a built-in: its repr, without the address
                return re.sub(r" at 0x[0-9a-f]+", "", name)
            return f"{'/'.join(Path(file).parts[-2:])}:{line} {name}"

        parts = [
            f"{where(file, line, name)} {tt:.2f} s ({tt / total:.0%})"
            for (file, line, name), (_cc, _nc, tt, _ct, _callers) in top
        ]
        return (
            f"What bounds B4 (cProfile of applying {n:,} opened events, {total:.2f} s in all; "
            "own time, largest first; psycopg's wait / sqlite's execute is the database "
            "working): " + "; ".join(parts)
        )

    # Many titles, a few events each.
    filler: list[StatusInput] = []
    for _ in range(TITLES):
        work = title_with(10)
        filler += [
            StatusInput(k, "delivered", at, "exstream-runtime", f"f:{k}") for k in keys_of(work)
        ]
    message_status_apply(events=filler)

    large = title_with(EVENTS)
    keys = keys_of(large)
    delivered = [
        StatusInput(k, "delivered", at, "exstream-runtime", f"job-1:{k}:delivered") for k in keys
    ]
    started = time.perf_counter()
    message_status_apply(events=delivered)
    apply_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = message_status_apply(events=delivered)
    reapply_seconds = time.perf_counter() - started
    opened = [
        StatusInput(k, "opened", at + datetime.timedelta(seconds=i), "exstream-email", f"cxi-{i}")
        for i, k in enumerate(keys)
    ]
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    message_status_apply(events=opened)
    opened_seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    rss = maxrss_mb()
    floor_seconds, floor_rows = write_floor(
        "integration_messageevent", "WHERE source = %s", ("exstream-email",)
    )
    bound = apply_profile()  # after the floor, which copies every exstream-email event

    small = title_with(10)
    message_status_apply(
        events=[
            StatusInput(k, "delivered", at, "exstream-runtime", f"s:{k}") for k in keys_of(small)
        ]
    )
    # A title with 100 events (50 messages delivered, then opened), to set beside the large one.
    hundred = title_with(50)
    hundred_keys = keys_of(hundred)
    message_status_apply(
        events=[StatusInput(k, "delivered", at, "exstream-runtime", f"h:{k}") for k in hundred_keys]
        + [
            StatusInput(k, "opened", at + datetime.timedelta(seconds=i), "exstream-email", f"ho{i}")
            for i, k in enumerate(hundred_keys)
        ]
    )

    deep_entry = title_timeline(user=user, work=large, limit=int(EVENTS * 1.5)).entries[-1]
    deep_cursor = encode_cursor(deep_entry)

    def page_stats(work: Work, cursor: str) -> dict[str, float]:
        fresh = User.objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as ctx:
            title_timeline(user=fresh, work=work, cursor=cursor, limit=50)
        sqls = [q["sql"] for q in ctx.captured_queries]
        if os.environ.get("BENCH_EXPLAIN") and backend() == "postgresql":
            with connection.cursor() as explain:
                for sql in sqls:
                    explain.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(r[0] for r in explain.fetchall())
                    print(f"--- {sql[:300]}\n{plan}", file=sys.stderr)
        orm: list[float] = []
        raw: list[float] = []
        raw_cursor = connection.connection.cursor()
        for _ in range(RUNS):
            fresh = User.objects.get(pk=user.pk)
            t = time.perf_counter()
            title_timeline(user=fresh, work=work, cursor=cursor, limit=50)
            orm.append(time.perf_counter() - t)
            t = time.perf_counter()
            for sql in sqls:
                raw_cursor.execute(sql)
                raw_cursor.fetchall()
            raw.append(time.perf_counter() - t)
        return {
            "queries": len(sqls),
            "p50_ms": percentile(orm, 50) * 1000,
            "p95_ms": percentile(orm, 95) * 1000,
            "raw_p50_ms": percentile(raw, 50) * 1000,
        }

    # Right after the bulk load the planner has no statistics for the new rows yet (it guesses
    # a handful of events per title); autovacuum gathers them within a minute or so, as it
    # would in production. Measured both ways; the goal is read after ANALYZE.
    unanalysed = page_stats(large, "")
    with connection.cursor() as analyse:
        analyse.execute("ANALYZE")
    first = page_stats(large, "")
    deep = page_stats(large, deep_cursor)
    small_stats = page_stats(small, "")
    hundred_stats = page_stats(hundred, "")

    def interleaved_p50_ms() -> tuple[float, float]:
        """The first page of the 100-event title and of the large one, timed in turn (the
        order swapped every round) so that a load change on the shared machine touches both
        alike; each page's p50 in ms. Two pages of 20-30 ms measured minutes apart moved the
        ratio between 1.1 and 1.6 on unchanged code."""
        times: dict[int, list[float]] = {hundred.pk: [], large.pk: []}
        for i in range(RUNS * 3):
            for work in (hundred, large) if i % 2 == 0 else (large, hundred):
                fresh = User.objects.get(pk=user.pk)
                t = time.perf_counter()
                title_timeline(user=fresh, work=work, cursor="", limit=50)
                times[work.pk].append(time.perf_counter() - t)
        return percentile(times[hundred.pk], 50) * 1000, percentile(times[large.pk], 50) * 1000

    hundred_p50, large_p50 = interleaved_p50_ms()
    growth = large_p50 / hundred_p50
    large_events = MessageEvent.objects.filter(work=large).count()

    class LazyEmailEvents:
        """The documented CXI e-mail event objects, one window of ``n``, made as they are
        read (as the real client yields them page by page)."""

        def __init__(self, n: int, tag: str) -> None:
            self.n, self.tag = n, tag

        def email_events(self, **_: Any) -> Any:
            base = int(at.timestamp() * 1000)
            for i in range(self.n):
                yield {
                    "eventId": f"{self.tag}-{i}",
                    "custMetadataId": keys[i % len(keys)],
                    "eventType": "OPEN",
                    "eventStatus": "SUCCESS",
                    "jobId": "bench",
                    "eventDate": base + i,
                    "lastUpdateTime": base + i,
                }

    def pull_peak_mb(n: int, tag: str) -> float:
        EventCursor.objects.filter(name="exstream-email-events").delete()
        tracemalloc.start()
        try:
            pulled = exstream_email_events_pull(
                client=LazyEmailEvents(n, tag),  # type: ignore[arg-type]
                now=at + datetime.timedelta(days=1),
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert pulled.new == n, pulled
        return peak / 2**20

    pull_small = pull_peak_mb(PULL_SMALL, "pull-small")
    pull_large = pull_peak_mb(PULL_LARGE, "pull-large")
    pull_ratio = pull_large / pull_small
    ratio = reapply_seconds / apply_seconds
    opened_rate = EVENTS / opened_seconds
    apply_floor_ratio = opened_seconds / floor_seconds
    constant = first["queries"] == deep["queries"] == small_stats["queries"]
    floor_name = "COPY" if backend() == "postgresql" else "multi-row INSERT"
    return {
        "name": "status_apply",
        "database": backend(),
        "description": (
            f"B4/B5: status events for one title of {EVENTS:,} messages among {TITLES} other "
            "titles, and that title's timeline."
        ),
        "results": [
            row(
                "B4 apply delivered events sharing one time",
                round(EVENTS / apply_seconds),
                "events/s",
            ),
            row(
                "B4 apply opened events, each with its own time",
                round(opened_rate),
                "events/s",
                "≥ 5,000/s",
                opened_rate >= 5000,
            ),
            row(
                f"B4 floor: the same {floor_rows:,} event rows by {floor_name}", floor_seconds, "s"
            ),
            row("B4 apply (own times) ÷ write floor", apply_floor_ratio, "×"),
            row(
                "B4 re-apply of the same events ÷ first apply",
                ratio,
                "×",
                "≤ 0.2",
                ratio <= 0.2 and again.duplicates == EVENTS,
            ),
            row("B4 process peak memory after applying", rss, "MB"),
            row(
                f"B4 pull peak memory: window of {PULL_SMALL:,} / {PULL_LARGE:,} events",
                f"{pull_small:.1f} / {pull_large:.1f}",
                "MB",
            ),
            row(
                f"B4 pull peak memory at {PULL_LARGE:,} ÷ at {PULL_SMALL:,} events",
                pull_ratio,
                "×",
                "≤ 1.5 (flat)",
                pull_ratio <= 1.5,
            ),
            row(
                "B5 timeline first page p50 / p95",
                f"{first['p50_ms']:.1f} / {first['p95_ms']:.1f}",
                "ms",
                "p95 ≤ 100 ms",
                first["p95_ms"] <= 100,
            ),
            row(
                "B5 first page p50 / p95 before statistics (right after the bulk load)",
                f"{unanalysed['p50_ms']:.1f} / {unanalysed['p95_ms']:.1f}",
                "ms",
            ),
            row(
                "B5 timeline deep page p50 / p95",
                f"{deep['p50_ms']:.1f} / {deep['p95_ms']:.1f}",
                "ms",
                "p95 ≤ 100 ms",
                deep["p95_ms"] <= 100,
            ),
            row("B5 small title (10 events) page p50", small_stats["p50_ms"], "ms"),
            row(
                f"B5 first page p50, timed in turn: title of 100 events / of {large_events:,} "
                "events",
                f"{hundred_p50:.1f} / {large_p50:.1f}",
                "ms",
            ),
            row(
                f"B5 first page p50 at {large_events:,} events ÷ at 100 events",
                growth,
                "×",
                "≤ 1.5 (does not grow)",
                growth <= 1.5,
            ),
            row(
                "B5 queries per page: first / deep / small title / 100 events",
                f"{first['queries']} / {deep['queries']} / {small_stats['queries']} / "
                f"{hundred_stats['queries']}",
                "",
                "equal",
                constant and hundred_stats["queries"] == first["queries"],
            ),
            row(
                "B5 first page ORM ÷ the same SQL on a bare cursor",
                first["p50_ms"] / first["raw_p50_ms"],
                "×",
            ),
            row(
                "B5 deep page ORM ÷ the same SQL on a bare cursor",
                deep["p50_ms"] / deep["raw_p50_ms"],
                "×",
            ),
        ],
        "notes": [
            bound,
            f"{TITLES + 3} titles in the database; pulled windows: peak Python memory "
            "allocated during the pull (tracemalloc), events delivered to the sink every "
            "1,000 as they are read; the client yields events lazily, so this is Colophon's "
            "side of the pull, not HTTP.",
            "Timeline pages are measured after ANALYZE (what autovacuum does within a minute "
            "of a bulk load); the row 'before statistics' is the same first page straight "
            "after the load, when PostgreSQL still guesses a few events per title and may "
            "sort the title's whole history instead of reading its index in order.",
            f"Timeline p50/p95 over {RUNS} runs of a 50-entry page; the large title has "
            f"{2 * EVENTS:,} message events; the deep page starts after entry "
            f"~{int(EVENTS * 1.5):,}.",
            "The bare-cursor floor replays the exact SQL strings the ORM sent for that page "
            "(captured), so it measures ORM and entry building only.",
        ],
    }


if __name__ == "__main__":
    print(json.dumps(run()))
