"""What Colophon knows about Exstream: the catalogue of approved communications per domain."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from integration.connectors.exstream.driver import default_customer_key


class ExstreamCommunication(models.Model):
    """An approved, latest communication in an Exstream domain, with its communication-set
    manifest (driver data sources, output queues and channels) and required driver fields."""

    domain = models.CharField(max_length=100)
    communication_id = models.CharField(max_length=64, help_text="DAS resource id (UUID).")
    name = models.CharField(max_length=300)
    version = models.CharField(max_length=50, blank=True)
    communication_set_id = models.CharField(max_length=64, blank=True)
    prod_dsn = models.CharField(
        max_length=300, blank=True, help_text="Value for the driverDataSource header."
    )
    dsn_list = models.JSONField(default=list, blank=True)
    queues = models.JSONField(
        default=list, blank=True, help_text="[{name, driver, prodFile, use}] from the manifest."
    )
    channels = models.JSONField(
        default=list, blank=True, help_text="Output channels: print, email, sms, web."
    )
    driver_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="[{name, type, required, description}] the driver data the design reads.",
    )
    active = models.BooleanField(default=True, help_text="False once it is no longer approved.")
    production_approved = models.BooleanField(
        default=False,
        help_text="Approved (latest) on a production domain: only such designs can be sent.",
    )
    sample_resource_id = models.CharField(
        max_length=64, blank=True, help_text="DAS id of the linked driver sample (samplefile)."
    )
    driver_format = models.CharField(
        max_length=4,
        choices=[("json", "JSON"), ("xml", "XML")],
        default="json",
        help_text="How the driver sample (and so every driver body) is written.",
    )
    driver_root = models.CharField(
        max_length=200, blank=True, help_text="Root element of an XML driver sample."
    )
    driver_sample = models.TextField(blank=True, help_text="The driver sample as uploaded.")
    sample_problem = models.TextField(
        blank=True, help_text="Why no driver fields could be read from the sample, if so."
    )
    raw = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "communication_id"], name="uniq_exstream_communication"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"

    @property
    def required_fields(self) -> list[str]:
        return [f["name"] for f in self.driver_fields if f.get("required")]

    @property
    def field_names(self) -> list[str]:
        return [str(f["name"]) for f in self.driver_fields if f.get("name")]

    @property
    def default_customer_key(self) -> str:
        """A customer-number-like field of the driver sample, or ''."""
        return default_customer_key(self.field_names)


class PreviewOutput(models.Model):
    """One output of an on-demand preview on the non-production domain, kept for audit."""

    policy_imprint_field = "imprint"

    exstream_communication = models.ForeignKey(
        ExstreamCommunication, on_delete=models.PROTECT, related_name="preview_outputs"
    )
    communication_id = models.CharField(max_length=64)
    domain = models.CharField(max_length=100)
    imprint = models.ForeignKey(
        "accounts.Imprint", on_delete=models.PROTECT, related_name="exstream_previews"
    )
    customer_key = models.CharField(max_length=200, blank=True)
    driver_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical driver JSON.")
    queue_name = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(max_length=300, blank=True)
    mime_type = models.CharField(max_length=100)
    content = models.FileField(upload_to="exstream/previews/%Y/%m/")
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.mime_type} preview of {self.exstream_communication.name}"

    @property
    def kind(self) -> str:
        return {"application/pdf": "pdf", "text/html": "html"}.get(self.mime_type, "text")


class ExstreamJob(models.Model):
    """A batch submitted through the HTTP batch channel, polled until terminal."""

    policy_imprint_field = "imprint"
    TERMINAL_JOB_STATUSES = frozenset({"complete", "error", "canceled", "deleted"})

    job_id = models.CharField(max_length=64, unique=True)
    external_id = models.CharField(max_length=200, db_index=True)
    domain = models.CharField(max_length=100)
    channel = models.CharField(max_length=100, blank=True)
    exstream_communication = models.ForeignKey(
        ExstreamCommunication, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imprint = models.ForeignKey(
        "accounts.Imprint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=30, default="started")
    flow_instance_ids = models.JSONField(default=list, blank=True)
    flow_instances = models.JSONField(default=list, blank=True)
    flow_steps = models.JSONField(default=list, blank=True)
    customer_keys = models.JSONField(
        default=list, blank=True, help_text="Customer keys (Colophon message ids) submitted."
    )
    delivery_summary = models.JSONField(
        default=dict, blank=True, help_text="{delivered: n, failed: n, outcomes: {key: status}}"
    )
    terminal = models.BooleanField(default=False)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Exstream job {self.job_id} ({self.status})"

    @property
    def held_steps(self) -> list[dict]:
        return [s for s in self.flow_steps if s.get("status") == "holding"]


class InboundEvent(models.Model):
    """A raw event received from another system, stored before processing (unique per source
    and event id, so a redelivery is answered 200 and never processed twice)."""

    source = models.CharField(max_length=50)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=200, blank=True)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="uniq_inbound_event")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type} {self.event_id}"


class EventCursor(models.Model):
    """Where an incremental pull (e.g. CXI e-mail events) got to."""

    name = models.CharField(max_length=100, unique=True)
    position = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class ExstreamDeliveryFile(models.Model):
    """A delivery file (``_STDDELIVERYFILE.xml``) read for a job step, kept as received.
    ``unparsed``: Colophon could not read it, so none of its customers counts as delivered."""

    class Status(models.TextChoices):
        PARSED = "parsed", "Parsed"
        UNPARSED = "unparsed", "Unparsed"

    policy_imprint_field = "job__imprint"

    job = models.ForeignKey(ExstreamJob, on_delete=models.CASCADE, related_name="delivery_files")
    step_id = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices)
    problem = models.TextField(blank=True)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    raw = models.FileField(upload_to="exstream/delivery-files/%Y/%m/")
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "step_id"], name="uniq_delivery_file_step")
        ]

    def __str__(self) -> str:
        return f"delivery file of step {self.step_id} ({self.status})"
