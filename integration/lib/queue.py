"""The only module that enqueues background work. Work is enqueued after the current
transaction commits, so a task never sees (or misses) uncommitted rows. In tests
(``Q_CLUSTER['sync']``) tasks run inline, still after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue(func: str, *args: Any, group: str | None = None, **kwargs: Any) -> None:
    """Run ``func`` (a dotted path to a function in a ``tasks`` module) in a worker after commit.
    Pass ids, not objects."""

    def _send() -> None:
        from django_q.tasks import async_task

        options: dict[str, Any] = {}
        if group:
            options["group"] = group
        async_task(func, *args, q_options=options, **kwargs)

    transaction.on_commit(_send)
