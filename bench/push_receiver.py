"""Benchmark B4 push: the signed Exstream push receiver under gunicorn, divided by an insert-only
view served by the same gunicorn (bench/pushsite), at 1 and 8 concurrent senders.

Loopback only, bounded: ``BENCH_PUSH_REQUESTS`` requests per measurement (default 1,500),
``BENCH_PUSH_WORKERS`` gunicorn sync workers (default 4). Each request carries a distinct
recorded-shape CXI e-mail event, pre-signed before the clock starts. Production settings
(DEBUG off); the receiver verifies, stores the raw event and enqueues its task in the django-q
ORM broker in one transaction, as deployed. Senders are threads of this process sharing the
machine with gunicorn and the database, which bounds both measurements alike.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, backend, database_url, production_env, row

REQUESTS = int(os.environ.get("BENCH_PUSH_REQUESTS", "1500"))
WORKERS = int(os.environ.get("BENCH_PUSH_WORKERS", "4"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies(n: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    from integration.connectors.exstream.webhooks import SANDBOX_EVENTS_SECRET, sign

    out = []
    ts = int(time.time())
    for i in range(n):
        msg_id = f"msg_{tag}_{i}_{uuid.uuid4().hex[:8]}"
        body = json.dumps(
            {
                "expctr": {
                    "schemaVersion": "1.0",
                    "schemaType": "Exstream-Email-OPEN",
                    "schemaSource": "Exstream",
                    "tenant": "colophon",
                    "eventId": msg_id,
                    "eventDate": 1795000000000 + i,
                },
                "exstreamEmailStatistics": {
                    "creationTime": 1795000000000 + i,
                    "emailProvider": "OT",
                    "customerEmailId": f"reader{i}@example.test",
                    "campaignId": "c1",
                    "domain": "production",
                    "communicationId": "comm-1",
                    "eventType": "OPEN",
                },
                "user": {"customerKey": f"msg-{i}", "email": f"reader{i}@example.test"},
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(SANDBOX_EVENTS_SECRET, msg_id, ts, body),
        }
        out.append((body, headers))
    return out


def _send_all(url: str, items: list[tuple[bytes, dict[str, str]]], senders: int) -> float:
    """Requests per second with ``senders`` threads, each on its own keep-alive session."""
    import threading

    import requests

    local = threading.local()
    failures: list[int] = []

    def one(item: tuple[bytes, dict[str, str]]) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.post(url, data=item[0], headers=item[1], timeout=30)
        if response.status_code not in (200, 202):
            failures.append(response.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(one, items))
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(items) / seconds


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-push-"))
    db = database_url("push", tmp)
    env = {
        **os.environ,
        **production_env(db, DJANGO_SETTINGS_MODULE="bench.pushsite.settings"),
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "config.wsgi"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        base = f"http://127.0.0.1:{port}"
        receiver = f"{base}/api/v1/webhooks/exstream/"
        floor = f"{base}/bench/insert-only/"
        # Warm every worker's connection and imports.
        _send_all(receiver, _bodies(40, "warm"), 8)
        _send_all(floor, _bodies(40, "warmf"), 8)
        rates: dict[str, float] = {}
        for senders in (1, 8):
            rates[f"floor{senders}"] = _send_all(floor, _bodies(REQUESTS, f"f{senders}"), senders)
            rates[f"push{senders}"] = _send_all(receiver, _bodies(REQUESTS, f"p{senders}"), senders)
        from integration.models import InboundEvent

        stored = InboundEvent.objects.exclude(source="bench").count()
    finally:
        server.terminate()
        server.wait(timeout=20)
    results: list[dict[str, Any]] = []
    for senders in (1, 8):
        ratio = rates[f"push{senders}"] / rates[f"floor{senders}"]
        results += [
            row(f"push receiver, {senders} sender(s)", round(rates[f"push{senders}"]), "req/s"),
            row(f"insert-only view, {senders} sender(s)", round(rates[f"floor{senders}"]),
                "req/s"),
            row(f"push ÷ insert-only, {senders} sender(s)", ratio, "×", "≥ 0.5", ratio >= 0.5),
        ]  # fmt: skip
    print(
        json.dumps(
            {
                "name": "push_receiver",
                "database": backend(),
                "description": (
                    f"B4 push: gunicorn, {WORKERS} sync workers, loopback; {REQUESTS:,} signed "
                    "events per measurement; floor is an insert-only view on the same server."
                ),
                "results": results,
                "notes": [
                    f"{stored:,} pushed events stored (each verified, stored raw and its task "
                    "enqueued in the ORM broker, in one transaction).",
                    "Senders are threads in the bench process on the same 2 cores as gunicorn "
                    "and the database.",
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
