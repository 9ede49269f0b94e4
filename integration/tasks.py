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


def exstream_process_inbound_event(inbound_event_pk: int) -> str:
    from integration.exstream.webhooks import process_inbound_event

    return process_inbound_event(inbound_event_pk)


def exstream_pull_email_events() -> str:
    from integration.services.exstream import exstream_email_events_pull

    result = exstream_email_events_pull()
    return f"{result.seen} seen, {result.new} new, {result.ignored} ignored"


def exstream_poll_jobs() -> str:
    from integration.services.exstream import exstream_poll_open_jobs

    return f"{exstream_poll_open_jobs()} job(s) polled"


def exstream_sync_catalogue() -> str:
    from integration.services.exstream import exstream_catalogue_sync

    return str(exstream_catalogue_sync(actor="schedule:exstream-catalogue"))


def consonance_sync(run_id: int) -> str:
    from integration.models import SyncRun
    from integration.services.consonance import consonance_sync as run_sync

    return run_sync(run=SyncRun.objects.get(pk=run_id)).message


def consonance_scheduled_sync() -> str:
    from integration.services.consonance import scheduled_sync

    return scheduled_sync()


def contributor_actions_open_missing() -> str:
    from integration.services.contributor_actions import contributor_actions_open_missing as run

    return f"{run()} contributor action(s) opened"
