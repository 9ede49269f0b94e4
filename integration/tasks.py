"""Thin task entry points: take ids, call a service, return a short summary."""

from __future__ import annotations

from django.utils import timezone

from integration.models import WorkerHeartbeat


def worker_heartbeat(name: str = "default") -> str:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return "ok"


def outbox_dispatch() -> dict[str, int]:
    from integration.services.outbox import outbox_dispatch as dispatch

    return dispatch()
