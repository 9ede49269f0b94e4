"""Royalty statements (flow 3): one per payee, period and currency, prepared from an import's
royalty lines and the imprint's statement rules; payees' channel and author group."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from integration.models.setup import Channel


class PayeeProfile(models.Model):
    """How a payee (a Consonance contact) gets statements from an imprint, and the author group
    their rules follow. Consonance documents neither, so they are kept in Colophon."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "integration.Contact", on_delete=models.CASCADE, related_name="payee_profiles"
    )
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        default=Channel.PRINT,
        help_text="Print, e-mail or secure web.",
    )
    author_group = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    policy_imprint_field = "imprint"

    class Meta:
        ordering = ["imprint_id", "contact_id"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "contact"], name="uniq_payee_profile")
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.channel})"


class StatementRule(models.Model):
    """A rule applied when statements are prepared, for an imprint and optionally an author
    group and the payee's territory: a minimum payment (below it the balance is carried
    forward), a withholding rate, and a note printed on the statement."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    author_group = models.CharField(max_length=100, blank=True, help_text="Empty: every payee.")
    territory_code = models.CharField(
        max_length=10, blank=True, help_text="The payee's country or a group; empty: anywhere."
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="Only statements in this currency; empty: any."
    )
    minimum_payment = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Below this the balance is not paid but carried forward.",
    )
    withholding_rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="A fraction withheld from a payment (0.2 is 20%).",
    )
    note = models.CharField(max_length=500, blank=True, help_text="Printed on the statement.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "name"], name="uniq_statement_rule_name")
        ]

    def __str__(self) -> str:
        return self.name


class RoyaltyStatement(models.Model):
    """One payee's statement for one period and currency. Amounts are Decimal, summed from the
    lines exactly and rounded once to the currency's minor unit."""

    class Outcome(models.TextChoices):
        PAYABLE = "payable", "Payable"
        CARRIED_FORWARD = "carried_forward", "Carried forward"

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    royalty_import = models.ForeignKey(
        "integration.RoyaltyImport", on_delete=models.CASCADE, related_name="statements"
    )
    payee = models.ForeignKey(
        "integration.Contact", on_delete=models.PROTECT, related_name="royalty_statements"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    line_count = models.PositiveIntegerField(default=0)
    work_ids = models.JSONField(default=list, blank=True)
    earned = models.DecimalField(max_digits=14, decimal_places=3)
    brought_forward = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    withheld = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    payable = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    carried_forward = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    author_group = models.CharField(max_length=100, blank=True)
    rules = models.JSONField(default=list, blank=True, help_text="Names of the rules applied.")
    notes = models.JSONField(default=list, blank=True, help_text="Printed on the statement.")
    created_at = models.DateTimeField(default=timezone.now)

    policy_imprint_field = "imprint"

    class Meta:
        ordering = ["period_start", "payee_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["imprint", "payee", "period_start", "period_end", "currency"],
                name="uniq_royalty_statement",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payee} {self.period_start}–{self.period_end} {self.currency}"
