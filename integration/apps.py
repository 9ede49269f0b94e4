"""The integration app, and the one registry of its outbox handlers and recurring schedules.

Both are dotted paths, resolved when the app is ready: the outbox claims rows by kind and hands
them to the handler registered here; the schedules are created in django-q2 after every migrate.
Task paths are stored in queue rows and schedules, so ``integration.tasks`` keeps its names.
"""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.module_loading import import_string

# outbox kind -> the handler object that sends, reconciles and records rows of that kind
OUTBOX_HANDLERS: dict[str, str] = {
    "exstream_batch": "integration.communications.dispatch.HANDLER",
    "consonance_writeback": "integration.status.writeback.HANDLER",
}

# name -> (task path, minutes between runs, or the setting that holds the minutes)
SCHEDULES: dict[str, tuple[str, int | str]] = {
    "worker-heartbeat": ("integration.tasks.worker_heartbeat", 1),
    # Picks up retries that are due and rows whose worker died mid-call (expired lease).
    "outbox-dispatch": ("integration.tasks.outbox_dispatch", 1),
    # Date-based trigger rules (delivery due, contract review / expiry in N days); idempotent.
    "triggers-due": ("integration.tasks.triggers_run_due", 24 * 60),
    "consonance-sync": ("integration.tasks.consonance_scheduled_sync", "CONSONANCE_SYNC_MINUTES"),
    # Exstream: pull e-mail events (overlapping window), poll open jobs, refresh the catalogue.
    "exstream-email-events": ("integration.tasks.exstream_pull_email_events", 5),
    "exstream-poll-jobs": ("integration.tasks.exstream_poll_jobs", 1),
    "exstream-catalogue": ("integration.tasks.exstream_sync_catalogue", 24 * 60),
    # Contributor actions for submitted messages that no sender opened (safety net).
    "contributor-actions-open": ("integration.tasks.contributor_actions_open_missing", 5),
    # Compositions whose worker died: restart them (bounded), then give up back to draft.
    "communications-compose-sweep": ("integration.tasks.communications_compose_sweep", 5),
    # Flow 7: each week, the metadata change notices of the past seven days for every audience
    # marked for weekly partner notices (drafts only; people approve them). Idempotent per period.
    "partner-notices-weekly": ("integration.tasks.partner_notices_weekly", 7 * 24 * 60),
}


def register_all() -> None:
    """Resolve the registry: outbox handlers by kind, schedules with their minutes."""
    from integration.delivery import outbox
    from integration.lib import schedules

    for kind, path in OUTBOX_HANDLERS.items():
        outbox.register_handler(kind, import_string(path))
    for name, (func, minutes) in SCHEDULES.items():
        every = int(getattr(settings, minutes)) if isinstance(minutes, str) else minutes
        schedules.register(name, func, every)


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Consonance and Exstream integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integration.lib import schedules

        register_all()
        post_migrate.connect(schedules.ensure_schedules, sender=self)
