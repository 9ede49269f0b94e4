"""Benchmark: applying Exstream status events, and the title timeline's query count.

In a throwaway SQLite database: one communication of N recipients gets a delivery file's worth
of ``delivered`` events, then the same events again (a re-poll), then ``opened`` events with a
distinct time each (pulled e-mail events). Prints JSON:

* ``events_per_second`` for the first application (stored and applied);
* ``reapply_to_apply_ratio``: time to re-apply the same events / first application (target ≤ 0.2:
  duplicates are recognised by id without touching messages);
* ``timeline_queries_small`` / ``timeline_queries_large``: queries for one timeline page of a
  title with 10 events and with N events (target: equal).

Usage: ``.venv/bin/python bench/status_apply.py [--recipients 20000]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(recipients: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-status-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SANDBOX_ENABLED": "true",
            "DATABASE_URL": f"sqlite:///{tmp / 'colophon.db'}",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
            "ALLOWED_HOSTS": "localhost",
            "COLOPHON_TESTING": "false",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)

    from accounts.models import Imprint, User
    from integration.models import Communication, CommunicationType, Message, Work
    from integration.selectors.timeline import title_timeline
    from integration.status.apply import StatusInput, message_status_apply

    imprint = Imprint.objects.create(name="Bench", code="bench", consonance_id=1)
    user = User.objects.create(email="bench@colophon.test", is_superuser=True)
    ctype = CommunicationType.objects.get(code="launch-email")

    def title_with(n: int) -> Work:
        work = Work.objects.create(consonance_id=n, imprint=imprint, title=f"Bench {n}")
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

    at = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
    large = title_with(recipients)
    keys = list(Message.objects.filter(communication__work=large).values_list("key", flat=True))
    delivered = [
        StatusInput(str(k), "delivered", at, "exstream-runtime", f"job-1:{k}:delivered")
        for k in keys
    ]
    started = time.perf_counter()
    message_status_apply(events=delivered)
    apply_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = message_status_apply(events=delivered)
    reapply_seconds = time.perf_counter() - started
    opened = [
        StatusInput(
            str(k), "opened", at + datetime.timedelta(seconds=i), "exstream-email", f"cxi-{i}"
        )
        for i, k in enumerate(keys)
    ]
    started = time.perf_counter()
    message_status_apply(events=opened)
    opened_seconds = time.perf_counter() - started

    small = title_with(10)
    small_keys = Message.objects.filter(communication__work=small).values_list("key", flat=True)
    message_status_apply(
        events=[
            StatusInput(str(k), "delivered", at, "exstream-runtime", f"s:{k}") for k in small_keys
        ]
    )
    counts = {}
    for label, work in (("small", small), ("large", large)):
        fresh = User.objects.get(pk=user.pk)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx:
            title_timeline(user=fresh, work=work, limit=50)
        counts[label] = len(ctx.captured_queries)

    ratio = reapply_seconds / apply_seconds
    return {
        "name": "status_apply",
        "description": f"Status events for one communication of {recipients} recipients "
        "(SQLite), and the title timeline's queries per page.",
        "results": [
            {
                "metric": "events_per_second",
                "value": round(recipients / apply_seconds),
                "unit": "events/s",
                "target": "",
                "met": None,
            },
            {
                "metric": "distinct_time_events_per_second",
                "value": round(recipients / opened_seconds),
                "unit": "events/s",
                "target": "",
                "met": None,
            },
            {
                "metric": "reapply_to_apply_ratio",
                "value": round(ratio, 3),
                "unit": "ratio",
                "target": "≤ 0.2",
                "met": ratio <= 0.2 and again.duplicates == recipients,
            },
            {
                "metric": "timeline_queries_small",
                "value": counts["small"],
                "unit": "queries",
                "target": "= large",
                "met": counts["small"] == counts["large"],
            },
            {
                "metric": "timeline_queries_large",
                "value": counts["large"],
                "unit": "queries",
                "target": "= small",
                "met": counts["small"] == counts["large"],
            },
        ],
        "notes": [
            "Messages move with one UPDATE per distinct (status, time, detail), in chunks of 500.",
        ],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=20000)
    args = parser.parse_args()
    print(json.dumps(run(args.recipients)))
