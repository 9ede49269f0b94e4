"""Thin task entry points: take ids, call a service, return a short summary."""

from __future__ import annotations

from django.utils import timezone

from integration.models import WorkerHeartbeat


def worker_heartbeat(name: str = "default") -> str:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return "ok"


def outbox_dispatch() -> dict[str, int]:
    from integration.delivery.outbox import outbox_dispatch as dispatch

    return dispatch()


def communication_compose(communication_id: int, attempt: int | None = None) -> str:
    from integration.communications.services import communication_compose as compose

    communication = compose(communication_id=communication_id, attempt=attempt)
    return f"{communication.status}: {communication.compose_done}/{communication.compose_total}"


def communication_revalidate(communication_id: int, reason: str = "") -> bool:
    from integration.communications.services import communication_revalidate as revalidate

    return revalidate(communication_id=communication_id, reason=reason)


def communications_revalidate_for_setup(kind: str, object_id: int) -> int:
    from integration.communications.services import communications_revalidate_for_setup as run

    return run(kind=kind, object_id=object_id)


def communications_revalidate_for_work(work_id: int) -> int:
    from integration.communications.services import communications_revalidate_for_work as run

    return run(work_id)


def communication_notify_approvers(communication_id: int) -> int:
    from integration.communications.services import communication_notify_approvers as notify

    return notify(communication_id=communication_id)


def triggers_process_change_events(*change_event_ids: int) -> list[int]:
    from integration.communications.triggered import triggers_process_change_events as process

    return process(change_event_ids=list(change_event_ids))


def triggers_run_due() -> list[int]:
    from integration.communications.triggered import triggers_run_due as run

    return run()


def exstream_process_inbound_event(inbound_event_pk: int) -> str:
    from integration.connectors.exstream.webhooks import process_inbound_event

    return process_inbound_event(inbound_event_pk)


def exstream_pull_email_events() -> str:
    from integration.delivery.exstream import exstream_email_events_pull

    result = exstream_email_events_pull()
    return f"{result.seen} seen, {result.new} new, {result.ignored} ignored"


def exstream_poll_jobs() -> str:
    from integration.delivery.exstream import exstream_poll_open_jobs

    return f"{exstream_poll_open_jobs()} job(s) polled"


def exstream_sync_catalogue() -> str:
    from integration.delivery.exstream import exstream_catalogue_sync

    return str(exstream_catalogue_sync(actor="schedule:exstream-catalogue"))


def consonance_sync(run_id: int) -> str:
    from integration.catalogue.sync import consonance_sync as run_sync
    from integration.models import SyncRun

    return run_sync(run=SyncRun.objects.get(pk=run_id)).message


def consonance_scheduled_sync() -> str:
    from integration.catalogue.sync import scheduled_sync

    return scheduled_sync()


def contributor_actions_open_missing() -> str:
    from integration.status.contributor_actions import contributor_actions_open_missing as run

    return f"{run()} contributor action(s) opened"


def catalogue_changes_recorded(*work_ids: int) -> str:
    from integration.communications.triggered import catalogue_changes_recorded as run

    result = run(work_ids=list(work_ids))
    return f"{result['drafts']} draft(s), {result['revalidations']} re-check(s)"


def communications_compose_sweep() -> str:
    from integration.communications.services import communications_compose_sweep as sweep

    return sweep()
