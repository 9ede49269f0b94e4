from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """Touched every minute by a scheduled task; tells /healthz and Operations a worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"


class OutboxItem(models.Model):
    """One outbound call that must happen exactly once (an Exstream batch submission, a
    Consonance write-back). Created in the same transaction as the decision that caused it;
    claimed by a worker with a row lock and a lease; every attempt is recorded."""

    class Kind(models.TextChoices):
        EXSTREAM_BATCH = "exstream_batch", "Exstream batch submission"
        CONSONANCE_WRITEBACK = "consonance_writeback", "Consonance write-back"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DEAD = "dead", "Dead letter"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    external_id = models.CharField(
        max_length=120, unique=True, help_text="Stable id sent with every attempt."
    )
    imprint = models.ForeignKey(
        "accounts.Imprint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    work_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    dead_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id} ({self.status})"


class OutboxAttempt(models.Model):
    """One try at an outbox item: what was asked, what came back, how long it took."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RECONCILED = "reconciled", "Found already done"
        RETRY = "retry", "Failed, will retry"
        DEAD = "dead", "Failed permanently"

    item = models.ForeignKey(OutboxItem, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    request_summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["item_id", "number", "id"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.item_id}: {self.outcome}"
