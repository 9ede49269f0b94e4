"""What Colophon knows about Exstream: the catalogue of approved communications per domain."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
