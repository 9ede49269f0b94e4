from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone
from django_q.models import Failure, OrmQ, Success

from accounts import policy
from integration.models import OutboxItem, WorkerHeartbeat

HEARTBEAT_STALE_AFTER = timedelta(minutes=3)


def worker_state() -> dict[str, Any]:
    """Is any worker alive (a heartbeat within the last three minutes)?"""
    beat = WorkerHeartbeat.objects.order_by("-beat_at").first()
    if beat is None:
        return {"status": "unknown", "last_beat": None, "detail": "No worker has reported yet."}
    age = timezone.now() - beat.beat_at
    alive = age <= HEARTBEAT_STALE_AFTER
    return {
        "status": "ok" if alive else "stale",
        "last_beat": beat.beat_at,
        "detail": f"Last heartbeat {int(age.total_seconds())}s ago.",
    }


# What each background task does, in words (Operations lists tasks by these, not by their
# Python names).
TASK_LABELS: dict[str, str] = {
    "worker_heartbeat": "Worker heartbeat",
    "outbox_dispatch": "Send queued calls (Exstream batches, Consonance write-backs)",
    "communication_compose": "Compose a communication",
    "communication_revalidate": "Re-check a communication after a change",
    "communications_revalidate_for_setup": "Re-check communications after a setup change",
    "communications_revalidate_for_work": "Re-check communications after a title changed",
    "communication_notify_approvers": "E-mail the approvers",
    "triggers_process_change_events": "Run triggers on catalogue changes",
    "triggers_run_due": "Run scheduled triggers",
    "exstream_process_inbound_event": "Apply an event pushed by Exstream",
    "exstream_pull_email_events": "Fetch e-mail events from Exstream",
    "exstream_poll_jobs": "Check Exstream jobs",
    "exstream_sync_catalogue": "Sync the Exstream catalogue",
    "consonance_sync": "Sync titles from Consonance",
    "consonance_scheduled_sync": "Scheduled Consonance sync",
    "contributor_actions_open_missing": "Open missing outstanding actions",
    "catalogue_changes_recorded": "Process catalogue changes",
    "communications_compose_sweep": "Restart stalled composing",
}


def task_label(func: str) -> str:
    name = str(func or "").rsplit(".", 1)[-1]
    return TASK_LABELS.get(name) or name.replace("_", " ").capitalize()


def _labelled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "label": task_label(row["func"])} for row in rows]


def queue_summary(*, failed_limit: int = 50) -> dict[str, Any]:
    return {
        "queued": OrmQ.objects.count(),
        "failed_count": Failure.objects.count(),
        "failed": _labelled(
            list(
                Failure.objects.order_by("-stopped").values(
                    "id", "name", "func", "stopped", "result", "attempt_count"
                )[:failed_limit]
            )
        ),
        "recent": _labelled(
            list(Success.objects.order_by("-stopped").values("id", "name", "func", "stopped")[:20])
        ),
    }


def outbox_items_for(*, user: Any, status: str = "", kind: str = "") -> QuerySet[OutboxItem]:
    """Outbox rows in the imprints where the user may operate (superusers: all, incl. none)."""
    qs = OutboxItem.objects.select_related("imprint").order_by("-created_at", "-id")
    if not user.is_superuser:
        qs = qs.filter(imprint_id__in=policy.imprint_ids_for(user, policy.Action.OPERATE))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def outbox_counts_for(*, user: Any) -> dict[str, int]:
    rows = outbox_items_for(user=user).order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
