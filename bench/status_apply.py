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
  time of the very same SQL sent through a bare DB-API cursor.

Prints one JSON line last (format in bench/run.py).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
import time
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


def run() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-status-"))
    django_setup(database_url("status", tmp))
    migrate()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Imprint, User
    from integration.models import Communication, CommunicationType, Message, Work
    from integration.selectors.timeline import encode_cursor, title_timeline
    from integration.status.apply import StatusInput, message_status_apply

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

    small = title_with(10)
    message_status_apply(
        events=[
            StatusInput(k, "delivered", at, "exstream-runtime", f"s:{k}") for k in keys_of(small)
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

    first = page_stats(large, "")
    deep = page_stats(large, deep_cursor)
    small_stats = page_stats(small, "")
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
                "B5 timeline first page p50 / p95",
                f"{first['p50_ms']:.1f} / {first['p95_ms']:.1f}",
                "ms",
                "p95 ≤ 100 ms",
                first["p95_ms"] <= 100,
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
                "B5 queries per page: first / deep / small title",
                f"{first['queries']} / {deep['queries']} / {small_stats['queries']}",
                "",
                "equal",
                constant,
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
            f"Timeline p50/p95 over {RUNS} runs of a 50-entry page; the large title has "
            f"{2 * EVENTS:,} message events; the deep page starts after entry "
            f"~{int(EVENTS * 1.5):,}.",
            "The bare-cursor floor replays the exact SQL strings the ORM sent for that page "
            "(captured), so it measures ORM and entry building only.",
        ],
    }


if __name__ == "__main__":
    print(json.dumps(run()))
