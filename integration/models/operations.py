from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """Touched every minute by a scheduled task; tells /healthz and Operations a worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"
