"""Sandbox Consonance state: records stored as the GraphQL API would return them (camelCase
dicts), so the emulation serves exactly what it holds. ``changed_on`` drives ``changedSince``."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SandboxRecord(models.Model):
    id = models.BigIntegerField(primary_key=True)
    data = models.JSONField(default=dict)
    changed_on = models.DateField(default=timezone.localdate, db_index=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class SandboxContact(SandboxRecord):
    class Meta(SandboxRecord.Meta):
        pass


class SandboxWork(SandboxRecord):
    """A work with its imprint, contributions, marketing texts and covers (products separate)."""

    imprint_id = models.IntegerField(db_index=True)

    class Meta(SandboxRecord.Meta):
        pass


class SandboxProduct(SandboxRecord):
    work = models.ForeignKey(SandboxWork, on_delete=models.CASCADE, related_name="products")

    class Meta(SandboxRecord.Meta):
        pass


class SandboxContract(SandboxRecord):
    work = models.ForeignKey(
        SandboxWork, null=True, on_delete=models.CASCADE, related_name="contracts"
    )

    class Meta(SandboxRecord.Meta):
        pass


class SandboxState(models.Model):
    """One row: fault switches and paging used by tests and the control page."""

    class Fault(models.TextChoices):
        NONE = "", "None"
        ERROR_500 = "500", "Server error (500)"
        RATE_LIMIT = "429", "Rate limited (429 with Retry-After)"
        UNAUTHORISED = "401", "Unauthorised (401)"
        MALFORMED = "malformed", "Malformed GraphQL response"
        GRAPHQL_GONE = "graphql-404", "GraphQL endpoint gone (404; REST v4 still answers)"

    fault = models.CharField(max_length=20, choices=Fault.choices, blank=True, default="")
    fault_remaining = models.PositiveIntegerField(
        default=0, help_text="How many of the next requests fail."
    )
    retry_after = models.PositiveIntegerField(default=1)
    page_size = models.PositiveIntegerField(default=100)
    requests_served = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sandbox state (fault={self.fault or 'none'} x{self.fault_remaining})"

    @classmethod
    def current(cls) -> SandboxState:
        state, _ = cls.objects.get_or_create(pk=1)
        return state
