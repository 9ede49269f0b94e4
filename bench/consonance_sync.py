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


def run(products: int, profile: bool = False) -> dict[str, Any]:
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
        os.environ.update(
            {
                **base,
                "DEBUG": "false",
                "SECRET_KEY": "bench-only-" + "x" * 50,
                "DATABASE_URL": f"sqlite:///{tmp / 'colophon.db'}",
                "SANDBOX_BASE_URL": f"http://127.0.0.1:{port}",
                "CONSONANCE_URL": "",
            }
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from integration.catalogue.sync import consonance_sync, sync_run_start
        from integration.connectors.consonance.client import ConsonanceClient
        from integration.models import Product, SyncRun

        call_command("migrate", verbosity=0)
        client = ConsonanceClient()

        t0 = time.monotonic()
        fetched = sum(len(p) for p, _ in client.works_pages(prefetch=False))
        fetched_contracts = sum(len(p) for p, _ in client.contracts_pages(prefetch=False))
        raw_seconds = time.monotonic() - t0

        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.monotonic()
        run = consonance_sync(run=sync_run_start(enqueue_task=False), client=client)
        sync_seconds = time.monotonic() - t0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        assert run.status == SyncRun.Status.SUCCEEDED, run.message
        mirrored = Product.objects.count()

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

        t0 = time.monotonic()
        with connection.execute_wrapper(count_writes):
            resync = consonance_sync(
                run=sync_run_start(full=True, enqueue_task=False), client=client
            )
        resync_seconds = time.monotonic() - t0
        return {
            "benchmark": "consonance_sync",
            "products": mirrored,
            "works": fetched,
            "contracts": fetched_contracts,
            "sandbox_seed_seconds": round(seed_seconds, 2),
            "raw_fetch_seconds": round(raw_seconds, 2),
            "initial_sync_seconds": round(sync_seconds, 2),
            "products_per_second": round(mirrored / sync_seconds, 1),
            "sync_to_fetch_ratio": round(sync_seconds / raw_seconds, 3),
            "target_ratio": 1.5,
            "noop_resync_seconds": round(resync_seconds, 2),
            "noop_resync_unchanged": resync.unchanged,
            "noop_resync_rows_written": len(writes),
            "database": "sqlite",
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the initial sync.")
    args = parser.parse_args()
    result = run(args.products, profile=args.profile)
    print(json.dumps(result, indent=2))
    # Last line: the summary bench/run.py collects into docs/benchmarks.md.
    print(json.dumps(summary(result)))


def summary(r: dict) -> dict:
    return {
        "name": "consonance_sync",
        "description": (
            f"Initial sync of {r['products']:,} products ({r['works']:,} works, "
            f"{r['contracts']:,} contracts) from the sandbox Consonance over real HTTP "
            "(runserver in its own process), then a full no-change resync."
        ),
        "results": [
            {"metric": "products per second", "value": r["products_per_second"], "unit": "/s"},
            {
                "metric": "sync time ÷ raw fetch of the same pages",
                "value": r["sync_to_fetch_ratio"],
                "unit": "×",
                "target": "≤ 1.5",
                "met": r["sync_to_fetch_ratio"] <= 1.5,
            },
            {"metric": "raw fetch", "value": r["raw_fetch_seconds"], "unit": "s"},
            {"metric": "initial sync", "value": r["initial_sync_seconds"], "unit": "s"},
            {
                "metric": "rows written by a no-change resync",
                "value": r["noop_resync_rows_written"],
                "unit": "rows",
                "target": "0",
                "met": r["noop_resync_rows_written"] == 0,
            },
        ],
        "notes": [
            "Next page fetched while the current one is stored (CONSONANCE_PREFETCH); "
            "content hashes make unchanged records write nothing.",
        ],
    }


if __name__ == "__main__":
    main()
