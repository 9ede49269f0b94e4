"""Benchmark: initial Consonance sync of N products over the sandbox, against a raw fetch.

Runs the sandbox in a separate ``runserver`` process with its own SQLite database, and the sync
in this process with another, so neither steals the other's database or GIL. Prints JSON:

* ``products_per_second`` for the initial sync;
* ``sync_to_replay_ratio`` (B1): initial sync time / time to replay the same requests without
  storing them (target ≤ 1.5);
* ``resync_to_replay_ratio`` (B2): a no-change full resync / a replay of its exact requests,
  the median of ``BENCH_B2_PAIRS`` (default 5) interleaved pairs, with the min–max spread;
* ``noop_resync_rows_written``: write statements to catalogue tables in all those no-change full
  resyncs together (must be 0).

Sizes: ``BENCH_PRODUCTS`` (default 10,000), ``BENCH_B2_PAIRS``; ``BENCH_PROFILE=1`` adds a
cProfile of the initial sync and of each resync thread (storing, fetching, mapping).

Usage: ``.venv/bin/python bench/consonance_sync.py [--products 20000] [--pairs 5]``.
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


def _recording() -> tuple[_Log, Any]:
    """Wrap the HTTP choke point so every request the sync sends is recorded (method, URL,
    headers, body) in order, with a digest of the answer it got. Also count what goes on the
    wire (``requests.Session.send``): retries inside the choke point would be sent but not
    logged, and the replay would then not be the resync's exact requests.
    Returns (the log, a function restoring the originals); ``log.wire`` is the wire count."""
    import requests

    from integration.lib import http

    log: _Log = _Log()
    original = http.request
    original_send = requests.Session.send

    def recorded(method: str, url: str, **kwargs: Any) -> Any:
        entry = {
            "method": method,
            "url": url,
            "headers": dict(kwargs.get("headers") or {}),
            **{k: kwargs[k] for k in ("json", "data", "params") if k in kwargs},
        }
        log.append(entry)
        response = original(method, url, **kwargs)
        entry["answer"] = _digest(response.content)
        return response

    def sent(self: Any, request: Any, **kwargs: Any) -> Any:
        log.wire += 1
        return original_send(self, request, **kwargs)

    http.request = recorded  # type: ignore[assignment]
    requests.Session.send = sent  # type: ignore[method-assign]

    def restore() -> None:
        http.request = original  # type: ignore[assignment]
        requests.Session.send = original_send  # type: ignore[method-assign]

    return log, restore


class _Log(list[dict[str, Any]]):
    wire = 0


def _digest(body: bytes) -> str:
    import hashlib

    return hashlib.blake2b(body, digest_size=8).hexdigest()


def _signature(log: list[dict[str, Any]]) -> list[str]:
    """What identifies each request of a log, in order (method, URL, body), for comparing the
    requests of two runs."""
    return [
        json.dumps([r["method"], r["url"], r.get("json"), r.get("data"), r.get("params")])
        for r in log
    ]


def replay(log: list[dict[str, Any]]) -> tuple[float, int]:
    """The floor: send the exact recorded requests again, in order, on one keep-alive session,
    reading each body and doing nothing with it. Returns (seconds, how many answers differed
    from the ones the sync got: 0 means the replay fetched the very same pages)."""
    import requests

    session = requests.Session()
    answers = []
    started = time.perf_counter()
    for req in log:
        kwargs = {k: req[k] for k in ("json", "data", "params") if k in req}
        response = session.request(
            req["method"], req["url"], headers=req["headers"], timeout=60, **kwargs
        )
        answers.append(response.content)  # read the body, as the sync does
    seconds = time.perf_counter() - started
    differing = sum(
        1 for req, body in zip(log, answers, strict=True) if req.get("answer") != _digest(body)
    )
    return seconds, differing


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
    """Time each page's store (``mirror_works`` / ``mirror_contracts`` as the sync calls them,
    with the recheck of the records it did not map, ``_recheck``): what the prefetch has to
    hide. Returns (seconds per phase, a function restoring them)."""
    from integration.catalogue import sync
    from integration.models import Work

    spent = {"works": 0.0, "contracts": 0.0}
    originals: dict[str, Any] = {"works": sync.mirror_works, "contracts": sync.mirror_contracts}
    recheck = sync._recheck

    def timed_recheck(model: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return recheck(model, *args, **kwargs)
        finally:
            spent["works" if model is Work else "contracts"] += time.perf_counter() - t0

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
    sync._recheck = timed_recheck  # type: ignore[assignment]

    def restore() -> None:
        sync.mirror_works = originals["works"]  # type: ignore[assignment]
        sync.mirror_contracts = originals["contracts"]  # type: ignore[assignment]
        sync._recheck = recheck  # type: ignore[assignment]

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


def _thread_profilers() -> tuple[dict[str, Any], Any]:
    """cProfile (CPU time per thread) of the resync's three threads: the storing (comparing)
    thread, the fetch thread (requests and JSON decoding) and the mapping thread (normalising
    and hashing the records). A ``cProfile.Profile`` sees only the thread it is enabled in, so
    the helper threads' work is wrapped where it runs. Returns (profilers, restore)."""
    import cProfile
    import threading

    from integration.catalogue import sync
    from integration.connectors.consonance.client import ConsonanceClient

    profilers = {
        name: cProfile.Profile(time.thread_time) for name in ("storing", "fetching", "mapping")
    }
    graphql, preparer = ConsonanceClient.graphql, sync._preparer

    def profiled(name: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                return fn(*args, **kwargs)  # the storing thread's own profiler sees it
            profilers[name].enable()
            try:
                return fn(*args, **kwargs)
            finally:
                profilers[name].disable()

        return call

    ConsonanceClient.graphql = profiled("fetching", graphql)  # type: ignore[method-assign]
    sync._preparer = lambda *a, **k: profiled("mapping", preparer(*a, **k))  # type: ignore[assignment]

    def restore() -> None:
        ConsonanceClient.graphql = graphql  # type: ignore[method-assign]
        sync._preparer = preparer  # type: ignore[assignment]

    return profilers, restore


def _top(profiler: Any, limit: int = 8) -> list[str]:
    """Top functions of one thread's profile by cumulative CPU time (the wrappers left out)."""
    import pstats

    stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(25)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name.startswith("<") or "bench/consonance_sync.py" in filename:
            continue
        short = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        rows.append(
            (cumtime, f"{short}:{line}({name}) {calls} calls, {tottime:.2f} s own, {cumtime:.2f} s")
        )
    rows.sort(reverse=True)
    return [text for _cum, text in rows[:limit]]


def _noop_resyncs(
    pairs: int, *, client: Any, server_pid: int, db_pid: int | None, profile: bool
) -> dict[str, Any]:
    """B2: ``pairs`` no-change full resyncs, each followed by a replay of its exact requests
    (resync, replay, resync, replay, …), so a burst of load on the shared machine moves one
    pair, not the result: the ratio reported is the median of the pairs, with their spread.
    Counts the catalogue rows every resync wrote (must be 0 in all of them), checks each
    resync sent the same requests as the first, with nothing retried off the log, and that
    each replay got the same answers as the resync it is compared with."""
    import statistics

    from django.db import connection

    from integration.catalogue.sync import consonance_sync, sync_run_start
    from integration.models import SyncRun

    writes: list[str] = []

    def count_writes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        verb = sql.split(None, 1)[0].upper()
        catalogue = "integration_" in sql and "integration_syncrun" not in sql
        if verb in ("INSERT", "UPDATE", "DELETE", "COPY") and catalogue:
            writes.append(sql[:120])
        return execute(sql, params, many, context)

    keys = ("resync", "replay", "cpu", "storing_cpu", "db_cpu", "vendor_cpu", "store")
    measured: dict[str, list[float]] = {k: [] for k in keys}
    first: list[str] | None = None
    requests_differ = answers_differ = unlogged = 0
    unchanged = requests = 0
    profilers, restore_profilers = _thread_profilers() if profile else ({}, None)
    load_before = os.getloadavg()[0]
    try:
        for _ in range(pairs):
            log, restore = _recording()
            stores, restore_stores = _timing_stores()
            db0, vendor0 = _cpu_of(db_pid) if db_pid else 0.0, _cpu_of(server_pid)
            t0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
            if profilers:
                profilers["storing"].enable()
            try:
                with connection.execute_wrapper(count_writes):
                    run = consonance_sync(
                        run=sync_run_start(full=True, enqueue_task=False), client=client
                    )
            finally:
                if profilers:
                    profilers["storing"].disable()
                measured["resync"].append(time.perf_counter() - t0)
                measured["cpu"].append(time.process_time() - cpu0)
                measured["storing_cpu"].append(time.thread_time() - main0)
                measured["db_cpu"].append((_cpu_of(db_pid) - db0) if db_pid else 0.0)
                measured["vendor_cpu"].append(_cpu_of(server_pid) - vendor0)
                measured["store"].append(sum(stores.values()))
                restore_stores()
                restore()
            assert run.status == SyncRun.Status.SUCCEEDED, run.message
            unchanged, requests = run.unchanged, len(log)
            signature = _signature(log)
            first = first if first is not None else signature
            requests_differ += signature != first
            unlogged += log.wire - len(log)
            seconds, differing = replay(log)
            measured["replay"].append(seconds)
            answers_differ += differing
    finally:
        if restore_profilers is not None:
            restore_profilers()
    ratios = [s / r for s, r in zip(measured["resync"], measured["replay"], strict=True)]

    def median(key: str) -> float:
        return round(statistics.median(measured[key]), 2)

    return {
        "noop_resync_pairs": pairs,
        # The machine's 1-minute load average before and after the pairs: on 2 cores shared
        # with other work, every CPU second the resync spends beyond the replay costs about
        # load / cores seconds of wall time, so the ratio follows the load.
        "noop_resync_load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "noop_resync_cores": os.cpu_count(),
        "noop_resync_requests": requests,
        # Resyncs whose requests (method, URL, body, in order) differ from the first one's.
        "noop_resync_requests_differ": requests_differ,
        # Requests sent on the wire but not logged (retries): the replay would lack them.
        "noop_resync_unlogged_wire_requests": unlogged,
        # Replayed requests whose answer differs from the one the resync got.
        "noop_resync_replay_answers_differ": answers_differ,
        "resync_to_replay_ratios": [round(r, 3) for r in ratios],
        "resync_to_replay_ratio": round(statistics.median(ratios), 3),
        "resync_to_replay_ratio_min": round(min(ratios), 3),
        "resync_to_replay_ratio_max": round(max(ratios), 3),
        "noop_resync_seconds": median("resync"),
        "noop_resync_replay_seconds": median("replay"),
        # CPU on a shared machine is steadier than wall time: the syncing process (all its
        # threads), its storing (comparing) thread alone, its PostgreSQL backend, the vendor.
        "noop_resync_cpu_seconds": median("cpu"),
        "noop_resync_storing_thread_cpu_seconds": median("storing_cpu"),
        "noop_resync_database_cpu_seconds": median("db_cpu"),
        "noop_resync_vendor_cpu_seconds": median("vendor_cpu"),
        "noop_resync_store_seconds": median("store"),
        "noop_resync_unchanged": unchanged,
        # Catalogue rows written by all the resyncs together (the sync run's own row aside).
        "noop_resync_rows_written": len(writes),
        **(
            {"noop_resync_profile_top": {name: _top(p) for name, p in profilers.items()}}
            if profilers
            else {}
        ),
    }


def run(products: int, pairs: int = 5, profile: bool = False) -> dict[str, Any]:
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
        replay_seconds, replay_differ = replay(log)
        return {
            "benchmark": "consonance_sync",
            "database": backend(),
            "products": mirrored,
            "works": Work.objects.count(),
            "contracts": Contract.objects.count(),
            "requests": len(log),
            "replay_answers_differ": replay_differ,
            "unlogged_wire_requests": log.wire - len(log),
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
            **_noop_resyncs(
                pairs, client=client, server_pid=server.pid, db_pid=db_pid, profile=profile
            ),
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
        help=(
            "cProfile the initial sync and the resyncs' threads (or BENCH_PROFILE=1); their top "
            "entries go in the notes."
        ),
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=int(os.environ.get("BENCH_B2_PAIRS", "5")),
        help="B2: how many no-change resyncs, each followed by its replay (or BENCH_B2_PAIRS).",
    )
    args = parser.parse_args()
    result = run(args.products, pairs=max(1, args.pairs), profile=args.profile)
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
            row(
                f"B2 no-change resync ÷ replay (median of {r['noop_resync_pairs']} pairs)",
                b2,
                "×",
                "≤ 1.2",
                b2 <= 1.2,
            ),
            row(
                "B2 spread of the pairs (min – max)",
                f"{r['resync_to_replay_ratio_min']} – {r['resync_to_replay_ratio_max']}",
                "×",
            ),
            row("B2 no-change resync (median)", r["noop_resync_seconds"], "s"),
            row("B2 replay (floor, median)", r["noop_resync_replay_seconds"], "s"),
            row("B2 CPU of the syncing process (median)", r["noop_resync_cpu_seconds"], "s"),
            row(
                "B2 CPU of its storing (comparing) thread (median)",
                r["noop_resync_storing_thread_cpu_seconds"],
                "s",
            ),
            row("B2 time storing (comparing) pages (median)", r["noop_resync_store_seconds"], "s"),
            row(
                "B2 rows written by all the no-change resyncs",
                r["noop_resync_rows_written"],
                "rows",
                "0",
                r["noop_resync_rows_written"] == 0,
            ),
            row(
                "B2 replays that differ from their resync (requests, answers, retries)",
                r["noop_resync_requests_differ"]
                + r["noop_resync_replay_answers_differ"]
                + r["noop_resync_unlogged_wire_requests"],
                "",
                "0",
                r["noop_resync_requests_differ"]
                + r["noop_resync_replay_answers_differ"]
                + r["noop_resync_unlogged_wire_requests"]
                == 0,
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
                f"B2 is {r['noop_resync_pairs']} no-change full resyncs, each followed by a "
                "replay of its own requests (resync, replay, resync, replay, …), so a burst of "
                "load on the shared machine moves one pair, not the result; the ratio is the "
                f"median of the pairs ({', '.join(map(str, r['resync_to_replay_ratios']))}). "
                f"Every resync sent the same {r['noop_resync_requests']} requests in the same "
                "order as the first (differing: "
                f"{r['noop_resync_requests_differ']}), none retried off the log "
                f"({r['noop_resync_unlogged_wire_requests']}), and each replay got the same "
                f"answers as its resync (differing: {r['noop_resync_replay_answers_differ']})."
            ),
            (
                "What bounds B2 (medians): of the resync's "
                f"{r['noop_resync_seconds']} s, comparing pages with the mirror took "
                f"{r['noop_resync_store_seconds']} s on the storing thread; the rest it waited "
                "for pages (fetched and mapped on the helper threads, overlapping the "
                "comparing). The syncing process used "
                f"{r['noop_resync_cpu_seconds']} s of CPU (its storing thread "
                f"{r['noop_resync_storing_thread_cpu_seconds']} s, the fetch and mapping "
                "threads the rest), its database backend "
                f"{r['noop_resync_database_cpu_seconds']} s and the sandbox vendor "
                f"{r['noop_resync_vendor_cpu_seconds']} s, all on the same cores: the replay "
                "has the vendor to itself, the resync shares them with its own work."
            ),
            (
                "B2 and the machine's load: the 1-minute load average was "
                f"{r['noop_resync_load_average'][0]} before the pairs and "
                f"{r['noop_resync_load_average'][1]} after, on {r['noop_resync_cores']} cores. "
                "The resync does the replay's work plus its own CPU (above); when the cores are "
                "idle the prefetch hides that CPU behind the vendor's answers, when they are "
                "saturated each CPU second costs about load ÷ cores seconds of wall time, so the "
                "wall-time ratio rises with the load while the CPU figures stay put."
            ),
            "One initial sync per run (it can only happen once per database); its replay runs "
            "right after it against the same server.",
            *(
                line
                for name, lines in r.get("noop_resync_profile_top", {}).items()
                for line in [
                    f"cProfile of the resyncs' {name} thread (CPU), top by cumulative time:",
                    *lines,
                ]
            ),
            *(
                ["cProfile of the initial sync, top by cumulative time:", *r["profile_top"]]
                if r.get("profile_top")
                else []
            ),
        ],
    }


if __name__ == "__main__":
    main()
