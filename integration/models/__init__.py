"""Integration models, one module per area; import them here so Django sees them."""

from integration.models.operations import WorkerHeartbeat

__all__ = ["WorkerHeartbeat"]
