"""Recurring background work, registered with django-q2's scheduler after every migrate.

Other packages add entries to ``SCHEDULES``; ``ensure_schedules`` creates or updates them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# name -> (function path, minutes between runs)
SCHEDULES: dict[str, tuple[str, int]] = {
    "worker-heartbeat": ("integration.tasks.worker_heartbeat", 1),
    # Picks up retries that are due and rows whose worker died mid-call (expired lease).
    "outbox-dispatch": ("integration.tasks.outbox_dispatch", 1),
    # Date-based trigger rules (delivery due, contract review / expiry in N days); idempotent.
    "triggers-due": ("integration.tasks.triggers_run_due", 24 * 60),
}


def register(name: str, func: str, minutes: int) -> None:
    SCHEDULES[name] = (func, minutes)


def ensure_schedules(**kwargs: Any) -> None:
    if getattr(settings, "TESTING", False):
        return
    from django_q.models import Schedule

    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )


# Exstream: pull e-mail events (overlapping window), poll open batch jobs, refresh the catalogue.
register("exstream-email-events", "integration.tasks.exstream_pull_email_events", 5)
register("exstream-poll-jobs", "integration.tasks.exstream_poll_jobs", 1)
register("exstream-catalogue", "integration.tasks.exstream_sync_catalogue", 24 * 60)
# Contributor actions for submitted messages that no sender opened (safety net).
register("contributor-actions-open", "integration.tasks.contributor_actions_open_missing", 5)
# Compositions whose worker died: restart them (bounded), then give up back to draft.
register("communications-compose-sweep", "integration.tasks.communications_compose_sweep", 5)
