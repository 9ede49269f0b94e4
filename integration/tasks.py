"""Thin task entry points: take ids, call a service, return a short summary."""

from __future__ import annotations

from django.utils import timezone

from integration.models import WorkerHeartbeat


def worker_heartbeat(name: str = "default") -> str:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return "ok"


def consonance_sync(run_id: int) -> str:
    from integration.models import SyncRun
    from integration.services.consonance import consonance_sync as run_sync

    return run_sync(run=SyncRun.objects.get(pk=run_id)).message


def consonance_scheduled_sync() -> str:
    from integration.services.consonance import scheduled_sync

    return scheduled_sync()
