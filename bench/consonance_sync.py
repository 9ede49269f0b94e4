"""Benchmark: initial Consonance sync of N products over the sandbox, against a raw fetch.

Runs the sandbox in a separate ``runserver`` process with its own SQLite database, and the sync
in this process with another, so neither steals the other's database or GIL. Prints JSON:

* ``products_per_second`` for the initial sync;
* ``sync_to_fetch_ratio``: initial sync time / time to fetch the same pages without storing
  them (target ≤ 1.5);
* ``noop_resync_rows_written``: write statements to catalogue tables in a no-change full resync
  (must be 0).

Usage: ``.venv/bin/python bench/consonance_sync.py [--products 20000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or still starting
            time.sleep(0.2)
    raise RuntimeError(f"The sandbox server did not start at {url}")


def _recording() -> tuple[list[dict[str, Any]], Any]:
    """Wrap the HTTP choke point so every request the sync sends is recorded (method, URL,
    headers, body) in order. Returns (the log, a function restoring the original)."""
    from integration.lib import http

    log: list[dict[str, Any]] = []
    original = http.request

    def recorded(method: str, url: str, **kwargs: Any) -> Any:
        log.append(
            {
                "method": method,
                "url": url,
                "headers": dict(kwargs.get("headers") or {}),
                **{k: kwargs[k] for k in ("json", "data", "params") if k in kwargs},
            }
        )
        return original(method, url, **kwargs)

    http.request = recorded  # type: ignore[assignment]

    def restore() -> None:
        http.request = original  # type: ignore[assignment]

    return log, restore


def replay(log: list[dict[str, Any]]) -> float:
    """The floor: send the exact recorded requests again, in order, on one keep-alive session,
    reading each body and doing nothing with it. Returns seconds."""
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for req in log:
        kwargs = {k: req[k] for k in ("json", "data", "params") if k in req}
        response = session.request(
            req["method"], req["url"], headers=req["headers"], timeout=60, **kwargs
        )
        response.content  # noqa: B018 - read the body, as the sync does
    return time.perf_counter() - started


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process on this machine has used so far (Linux /proc);
    0.0 where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _database_pid() -> int | None:
    """The PostgreSQL backend serving this process's connection (None on SQLite, whose work
    happens in this process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _timing_stores() -> tuple[dict[str, float], Any]:
    """Time each page's store (``mirror_works`` / ``mirror_contracts`` as the sync calls them):
    what the prefetch has to hide. Returns (seconds per phase, a function restoring them)."""
    from integration.catalogue import sync

    spent = {"works": 0.0, "contracts": 0.0}
    originals: dict[str, Any] = {"works": sync.mirror_works, "contracts": sync.mirror_contracts}

    def timed(phase: str) -> Any:
        def store(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return originals[phase](*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - t0

        return store

    sync.mirror_works = timed("works")  # type: ignore[assignment]
    sync.mirror_contracts = timed("contracts")  # type: ignore[assignment]

    def restore() -> None:
        sync.mirror_works = originals["works"]  # type: ignore[assignment]
        sync.mirror_contracts = originals["contracts"]  # type: ignore[assignment]

    return spent, restore


def _profile_top(profiler: Any, limit: int = 15) -> list[str]:
    """The initial sync's profile (CPU of the storing thread), top functions by cumulative
    time (project code and the database driver only, so the list says where the time goes),
    also printed to stderr.
    ``BENCH_PROFILE_OUT`` names a file to keep the raw stats in (``python -m pstats``)."""
    import pstats

    stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
    if os.environ.get("BENCH_PROFILE_OUT"):
        stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.replace(str(ROOT) + "/", "")
        if where.startswith(("integration/", "psycopg", ".venv")) or "psycopg" in where:
            short = where.split("site-packages/")[-1]
            rows.append(
                (
                    cumtime,
                    f"{short}:{line}({name}) {calls} calls, "
                    f"{tottime:.2f} s own, {cumtime:.2f} s cumulative",
                )
            )
    rows.sort(reverse=True)
    return [text for _cum, text in rows[:limit]]


def run(products: int, profile: bool = False) -> dict[str, Any]:
    from _common import backend, database_url, django_setup, migrate

    works = max(1, round(products / 2.5))
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-"))
    port = _free_port()
    base = {
        **os.environ,
        "DEBUG": "true",
        "COLOPHON_TESTING": "false",
        "CONSONANCE_API_KEY": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SANDBOX_ENABLED": "true",
    }
    # The sandbox is the vendor: it keeps its own SQLite file on either backend, so the
    # vendor's speed is the same for the sync and for its floor.
    server_env = {**base, "DATABASE_URL": f"sqlite:///{tmp / 'sandbox.db'}"}
    manage = [PYTHON, str(ROOT / "manage.py")]
    started = time.monotonic()
    subprocess.run([*manage, "migrate", "-v0"], env=server_env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "seed_sandbox", "--works", str(works), "--reset"],
        env=server_env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    seed_seconds = time.monotonic() - started
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        env=server_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        # The syncing side runs as in production: DEBUG off, so no query log is kept.
        django_setup(
            database_url("sync", tmp),
            SANDBOX_BASE_URL=f"http://127.0.0.1:{port}",
            CONSONANCE_URL="",
            CONSONANCE_API_KEY="",
        )
        from django.db import connection

        from integration.catalogue.sync import consonance_sync, sync_run_start
        from integration.connectors.consonance.client import ConsonanceClient
        from integration.models import Contract, Product, SyncRun, Work

        migrate()
        client = ConsonanceClient()

        profiler = None
        if profile:
            import cProfile

            # CPU time of the storing (main) thread: on a shared machine wall time mostly
            # measures the other processes.
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
        log, restore = _recording()
        stores, restore_stores = _timing_stores()
        db_pid = _database_pid()
        db0, vendor0 = _cpu_of(db_pid) if db_pid else 0.0, _cpu_of(server.pid)
        statements: list[str] = []

        def count_statements(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            statements.append(sql.split(None, 1)[0].upper())
            return execute(sql, params, many, context)

        t0, cpu0 = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count_statements):
            run = consonance_sync(run=sync_run_start(enqueue_task=False), client=client)
        sync_seconds = time.perf_counter() - t0
        sync_cpu_seconds = time.process_time() - cpu0
        db_cpu_seconds = (_cpu_of(db_pid) - db0) if db_pid else 0.0
        vendor_cpu_seconds = _cpu_of(server.pid) - vendor0
        restore_stores()
        restore()
        top: list[str] = []
        if profiler is not None:
            profiler.disable()
            top = _profile_top(profiler)
        assert run.status == SyncRun.Status.SUCCEEDED, run.message
        mirrored = Product.objects.count()
        replay_seconds = replay(log)

        writes: list[str] = []

        def count_writes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            verb = sql.split(None, 1)[0].upper()
            if (
                verb in ("INSERT", "UPDATE", "DELETE")
                and "integration_" in sql
                and ("integration_syncrun" not in sql)
            ):
                writes.append(sql[:120])
            return execute(sql, params, many, context)

        relog, restore = _recording()
        restores, restore_restores = _timing_stores()
        db0, vendor0 = _cpu_of(db_pid) if db_pid else 0.0, _cpu_of(server.pid)
        t0, cpu0 = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count_writes):
            resync = consonance_sync(
                run=sync_run_start(full=True, enqueue_task=False), client=client
            )
        resync_seconds = time.perf_counter() - t0
        resync_cpu_seconds = time.process_time() - cpu0
        resync_db_cpu_seconds = (_cpu_of(db_pid) - db0) if db_pid else 0.0
        resync_vendor_cpu_seconds = _cpu_of(server.pid) - vendor0
        restore_restores()
        restore()
        resync_replay_seconds = replay(relog)
        return {
            "benchmark": "consonance_sync",
            "database": backend(),
            "products": mirrored,
            "works": Work.objects.count(),
            "contracts": Contract.objects.count(),
            "requests": len(log),
            "resync_requests": len(relog),
            "sandbox_seed_seconds": round(seed_seconds, 2),
            "replay_seconds": round(replay_seconds, 2),
            "initial_sync_seconds": round(sync_seconds, 2),
            "initial_sync_cpu_seconds": round(sync_cpu_seconds, 2),
            "initial_sync_store_seconds": {k: round(v, 2) for k, v in stores.items()},
            # CPU on a shared machine is steadier than wall time: the syncing process (both
            # threads), its PostgreSQL backend, and the sandbox vendor serving the pages.
            "initial_sync_database_cpu_seconds": round(db_cpu_seconds, 2),
            # Round trips to the database: on a loaded machine each costs a scheduling delay.
            "initial_sync_statements": {
                verb: statements.count(verb) for verb in sorted(set(statements))
            },
            "initial_sync_vendor_cpu_seconds": round(vendor_cpu_seconds, 2),
            "products_per_second": round(mirrored / sync_seconds, 1),
            "sync_to_replay_ratio": round(sync_seconds / replay_seconds, 3),
            "noop_resync_seconds": round(resync_seconds, 2),
            "noop_resync_replay_seconds": round(resync_replay_seconds, 2),
            "noop_resync_cpu_seconds": round(resync_cpu_seconds, 2),
            "noop_resync_database_cpu_seconds": round(resync_db_cpu_seconds, 2),
            "noop_resync_vendor_cpu_seconds": round(resync_vendor_cpu_seconds, 2),
            "noop_resync_store_seconds": round(sum(restores.values()), 2),
            "resync_to_replay_ratio": round(resync_seconds / resync_replay_seconds, 3),
            "noop_resync_unchanged": resync.unchanged,
            "noop_resync_rows_written": len(writes),
            **({"profile_top": top} if top else {}),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--products", type=int, default=int(os.environ.get("BENCH_PRODUCTS", "10000"))
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        default=os.environ.get("BENCH_PROFILE", "") not in ("", "0", "false"),
        help="cProfile the initial sync (or BENCH_PROFILE=1); its top entries go in the notes.",
    )
    args = parser.parse_args()
    result = run(args.products, profile=args.profile)
    print(json.dumps(result, indent=2))
    # Last line: the summary bench/run.py collects into docs/benchmarks.md.
    print(json.dumps(summary(result)))


def summary(r: dict) -> dict:
    from _common import row

    b1, b2 = r["sync_to_replay_ratio"], r["resync_to_replay_ratio"]
    return {
        "name": "consonance_sync",
        "database": r["database"],
        "description": (
            f"B1/B2: initial sync of {r['products']:,} products ({r['works']:,} works, "
            f"{r['contracts']:,} contracts) from the sandbox Consonance over "
            "real HTTP (runserver in its own process, its own SQLite file), then a full "
            "no-change resync; each divided by a replay of the exact requests it sent "
            "(recorded at integration/lib/http.py), in order, with no processing."
        ),
        "results": [
            row("B1 initial sync ÷ replay of its requests", b1, "×", "≤ 1.5", b1 <= 1.5),
            row("B1 initial sync", r["initial_sync_seconds"], "s"),
            row("B1 replay (floor)", r["replay_seconds"], "s"),
            row("B1 CPU of the syncing process", r["initial_sync_cpu_seconds"], "s"),
            row("B1 CPU of its PostgreSQL backend", r["initial_sync_database_cpu_seconds"], "s"),
            row("B1 CPU of the sandbox vendor", r["initial_sync_vendor_cpu_seconds"], "s"),
            row(
                "B1 time storing pages (works + contracts)",
                round(sum(r["initial_sync_store_seconds"].values()), 2),
                "s",
            ),
            row("B1 requests sent", r["requests"]),
            row("B1 products per second", r["products_per_second"], "/s"),
            row("B2 no-change resync ÷ replay", b2, "×", "≤ 1.2", b2 <= 1.2),
            row("B2 no-change resync", r["noop_resync_seconds"], "s"),
            row("B2 replay (floor)", r["noop_resync_replay_seconds"], "s"),
            row("B2 CPU of the syncing process", r["noop_resync_cpu_seconds"], "s"),
            row("B2 time storing (comparing) pages", r["noop_resync_store_seconds"], "s"),
            row(
                "B2 rows written by the no-change resync",
                r["noop_resync_rows_written"],
                "rows",
                "0",
                r["noop_resync_rows_written"] == 0,
            ),
        ],
        "notes": [
            "The sync prefetches (and maps) the next page on a helper thread while storing the "
            "current one (CONSONANCE_PREFETCH); the replay is sequential, so a ratio below 1 is "
            "possible.",
            (
                "What bounds B1 (CPU, steadier than wall time on a shared machine): the syncing "
                f"process used {r['initial_sync_cpu_seconds']} s (both threads), its database "
                f"backend {r.get('initial_sync_database_cpu_seconds', 0)} s, the sandbox vendor "
                f"{r['initial_sync_vendor_cpu_seconds']} s serving the pages; storing pages took "
                f"{round(sum(r['initial_sync_store_seconds'].values()), 2)} s of wall time in "
                f"{sum(r['initial_sync_statements'].values())} statements "
                f"({', '.join(f'{k} {v}' for k, v in r['initial_sync_statements'].items())})."
            ),
            (
                "What bounds B2: of the resync's "
                f"{r['noop_resync_seconds']} s, comparing pages with the mirror took "
                f"{r['noop_resync_store_seconds']} s on the storing thread; the rest it waited "
                "for pages (fetched and mapped on the helper threads, overlapping the "
                "comparing). The syncing process used "
                f"{r['noop_resync_cpu_seconds']} s of CPU, its database backend "
                f"{r['noop_resync_database_cpu_seconds']} s and the sandbox vendor "
                f"{r['noop_resync_vendor_cpu_seconds']} s, all on the same cores: the replay "
                "has the vendor to itself, the resync shares them with its own work."
            ),
            "One sync per run (an initial sync can only happen once per database); the replay "
            "runs right after it against the same server.",
            *(
                ["cProfile of the initial sync, top by cumulative time:", *r["profile_top"]]
                if r.get("profile_top")
                else []
            ),
        ],
    }


if __name__ == "__main__":
    main()
