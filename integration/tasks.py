"""Thin task entry points: take ids, call a service, return a short summary. Their dotted
paths are stored in queue rows and schedules, so they keep their names."""

from __future__ import annotations

from django.utils import timezone

from integration.catalogue.sync import consonance_sync as run_consonance_sync
from integration.catalogue.sync import scheduled_sync
from integration.communications import (
    approval,
    compose,
    partner_notices,
    revalidation,
    stalls,
    triggered,
)
from integration.delivery import outbox
from integration.models import SyncRun, WorkerHeartbeat
from integration.setup.designs import exstream_catalogue_sync
from integration.status import contributor_actions, inbound, polling


def worker_heartbeat(name: str = "default") -> str:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return "ok"


def outbox_dispatch() -> dict[str, int]:
    return outbox.outbox_dispatch()


def communication_compose(communication_id: int, attempt: int | None = None) -> str:
    communication = compose.communication_compose(
        communication_id=communication_id, attempt=attempt
    )
    return f"{communication.status}: {communication.compose_done}/{communication.compose_total}"


def communication_revalidate(communication_id: int, reason: str = "") -> bool:
    return revalidation.communication_revalidate(communication_id=communication_id, reason=reason)


def communications_revalidate_for_setup(kind: str, object_id: int) -> int:
    return revalidation.communications_revalidate_for_setup(kind=kind, object_id=object_id)


def communications_revalidate_for_work(work_id: int) -> int:
    return revalidation.communications_revalidate_for_work(work_id)


def communication_notify_approvers(communication_id: int) -> int:
    return approval.communication_notify_approvers(communication_id=communication_id)


def triggers_process_change_events(*change_event_ids: int) -> list[int]:
    return triggered.triggers_process_change_events(change_event_ids=list(change_event_ids))


def triggers_run_due() -> list[int]:
    return triggered.triggers_run_due()


def exstream_process_inbound_event(inbound_event_pk: int) -> str:
    return inbound.process_inbound_event(inbound_event_pk)


def exstream_pull_email_events() -> str:
    result = polling.exstream_email_events_pull()
    return f"{result.seen} seen, {result.new} new, {result.ignored} ignored"


def exstream_poll_jobs() -> str:
    return f"{polling.exstream_poll_open_jobs()} job(s) polled"


def exstream_sync_catalogue() -> str:
    return str(exstream_catalogue_sync(actor="schedule:exstream-catalogue"))


def consonance_sync(run_id: int) -> str:
    return run_consonance_sync(run=SyncRun.objects.get(pk=run_id)).message


def consonance_scheduled_sync() -> str:
    return scheduled_sync()


def contributor_actions_open_missing() -> str:
    return f"{contributor_actions.contributor_actions_open_missing()} contributor action(s) opened"


def catalogue_changes_recorded(*work_ids: int) -> str:
    result = triggered.catalogue_changes_recorded(work_ids=list(work_ids))
    return f"{result['drafts']} draft(s), {result['revalidations']} re-check(s)"


def communications_compose_sweep() -> str:
    return stalls.communications_compose_sweep()


def partner_notices_weekly() -> str:
    run = partner_notices.partner_notices_draft_weekly()
    return (
        f"{run.period_start} to {run.period_end}: {len(run.created)} partner notices drafted, "
        f"{len(run.existing)} already drafted, for {run.audiences} audiences"
    )
