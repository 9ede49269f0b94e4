"""State of the sandbox Exstream: catalogue, tokens, jobs, e-mail events and fault switches.

Everything lives in the database so tests (which share it with the live server) and the
sandbox control page can set fault switches and advance jobs without sleeping.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


class ExstreamSandboxSwitches(models.Model):
    """One row (pk=1) of fault switches and the sandbox clock offset."""

    fail_next_5xx = models.PositiveIntegerField(
        default=0, help_text="The next N API calls answer 503."
    )
    rate_limit_next = models.PositiveIntegerField(
        default=0, help_text="The next N API calls answer 429 with Retry-After."
    )
    retry_after_seconds = models.PositiveIntegerField(default=2)
    latency_ms = models.PositiveIntegerField(default=0, help_text="Delay added to every call.")
    token_ttl_seconds = models.PositiveIntegerField(default=900)
    expired_token_as_500 = models.BooleanField(
        default=False,
        help_text="Answer an expired token with a 500 whose details mention OTDS (as the SDK "
        "README warns) instead of 401.",
    )
    duplicate_events = models.BooleanField(
        default=False, help_text="E-mail events are listed twice."
    )
    out_of_order_events = models.BooleanField(
        default=False, help_text="E-mail events are listed newest first."
    )
    clock_offset_seconds = models.IntegerField(
        default=0, help_text="Seconds added to the sandbox clock (advances time without sleeping)."
    )

    class Meta:
        verbose_name = "Exstream sandbox switches"
        verbose_name_plural = "Exstream sandbox switches"

    def __str__(self) -> str:
        return "Exstream sandbox switches"

    @classmethod
    def current(cls) -> ExstreamSandboxSwitches:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def now(self) -> datetime.datetime:
        return timezone.now() + datetime.timedelta(seconds=self.clock_offset_seconds)


class ExstreamSandboxCommunication(models.Model):
    """A DAS resource of type exstrapplication with its communication set and manifest."""

    domain = models.CharField(max_length=100)
    communication_id = models.CharField(max_length=64)
    communication_set_id = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=20, default="APPROVED")
    latest = models.BooleanField(default=True)
    dsn = models.CharField(max_length=200)
    queues = models.JSONField(default=list)
    channels = models.JSONField(default=list)
    driver_fields = models.JSONField(default=list)
    hold_for_release = models.BooleanField(
        default=False, help_text="Batch runs pause at a hold step until released."
    )
    driver_format = models.CharField(
        max_length=4,
        choices=[("json", "JSON"), ("xml", "XML")],
        default="json",
        help_text="Format of the design's driver sample (reference §4, Appendix A); on-demand "
        "and batch bodies must follow it.",
    )

    class Meta:
        ordering = ["domain", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "communication_id", "version"], name="uniq_sbx_exstream_comm"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.domain})"


class ExstreamSandboxToken(models.Model):
    token = models.CharField(max_length=100, unique=True)
    client_id = models.CharField(max_length=200)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token for {self.client_id}"


class ExstreamSandboxJob(models.Model):
    """A batch job. ``stage`` advances by one each time the job is read (or from the control
    page): 0 started, 1 communication step executed (or holding), 2 complete."""

    job_id = models.CharField(max_length=64, unique=True)
    flow_instance_id = models.CharField(max_length=64)
    domain = models.CharField(max_length=100)
    channel = models.CharField(max_length=100)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    communication_id = models.CharField(max_length=64, blank=True)
    records = models.JSONField(default=list)
    stage = models.PositiveIntegerField(default=0)
    hold = models.BooleanField(default=False)
    released = models.BooleanField(default=False)
    stopped = models.BooleanField(default=False)
    reprocessed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.job_id


class ExstreamSandboxEmailEvent(models.Model):
    event_id = models.CharField(max_length=64, unique=True)
    domain = models.CharField(max_length=100)
    job_id = models.CharField(max_length=64)
    customer_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=20)
    event_status = models.CharField(max_length=50, blank=True)
    event_date = models.DateTimeField()
    last_update_time = models.DateTimeField()
    pushed = models.BooleanField(default=False, help_text="Already pushed to Colophon's webhook.")

    class Meta:
        ordering = ["last_update_time", "event_id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.customer_key}"
