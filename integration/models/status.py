"""Status back from Exstream: message events, outstanding contributor actions, write-back to
Consonance, and customer-service outcomes.

Message status rank (a status only ever moves to a higher rank; see ``STATUS_RANK``):

    generated < submitted < failed < delivered < not_delivered < bounced < opened < returned
    < responded

Why this order: each later stage of a message's life outranks an earlier one, so a late
"submitted" never overrides "delivered". ``failed`` sits below ``delivered`` because a retried
generation that is then delivered has in fact reached the recipient. A bounce or a
non-delivery report outranks "delivered" (an e-mail provider accepts a message, then it
bounces), but an "opened" proves receipt and so outranks a contradictory late bounce.
Returned print mail outranks delivery to the print channel. A response proves receipt and
ends the story: nothing overrides ``responded``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from integration.models.correspondence import Message

S = Message.Status
STATUS_RANK: dict[str, int] = {
    S.GENERATED: 10,
    S.SUBMITTED: 20,
    S.FAILED: 30,
    S.DELIVERED: 40,
    S.NOT_DELIVERED: 50,
    S.BOUNCED: 51,
    S.OPENED: 60,
    S.RETURNED: 70,
    S.RESPONDED: 80,
}
UNDELIVERABLE = frozenset({S.NOT_DELIVERED, S.BOUNCED, S.RETURNED})


def reached_recipient(status: str) -> bool:
    """Delivered or further along (opened, responded), and not bounced, undelivered or
    returned."""
    return status not in UNDELIVERABLE and STATUS_RANK.get(status, 0) >= STATUS_RANK[S.DELIVERED]


# Statuses after which a message is settled (reached the recipient, or never will).
SETTLED = frozenset({S.DELIVERED, S.OPENED, S.RESPONDED, S.FAILED} | UNDELIVERABLE)


class MessageEvent(models.Model):
    """One status event for one message, from any source, kept forever (the history).

    Unique on (source, external_event_id): the same event delivered twice is stored once.
    ``message`` is empty for an orphan (its key matches no message); the key is kept so an
    operator can see what arrived."""

    class Source(models.TextChoices):
        RUNTIME = "exstream-runtime", "Exstream runtime / delivery file"
        EMAIL = "exstream-email", "Exstream e-mail events (pulled)"
        WEBHOOK = "exstream-webhook", "Exstream pushed event"
        HAND = "hand", "Entered by hand"
        CSV = "csv", "CSV import"
        DISPATCH = "colophon-dispatch", "Colophon dispatch"

    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    message_key = models.CharField(max_length=200, db_index=True)
    status = models.CharField(max_length=20, choices=Message.Status.choices)
    occurred_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=50)
    external_event_id = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    applied = models.BooleanField(
        default=False, help_text="This event moved the message's status forward."
    )
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Denormalised from message.communication.work, written with the row by every insert path
    # (``integration.status.apply``), so the title timeline reads one index range instead of
    # joining messages and communications. Empty for orphans and for messages of a
    # communication about no title.
    work = models.ForeignKey(
        "integration.Work",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by the timeline index below (work first)
    )

    policy_imprint_field = "message__communication__imprint"

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_event_id"], name="uniq_message_event_source_id"
            )
        ]
        indexes = [
            models.Index(fields=["message", "occurred_at"]),
            # The title timeline's page, in its exact order: WHERE work_id = … ORDER BY
            # occurred_at DESC, id DESC LIMIT n (and the keyset after a cursor).
            models.Index(fields=["work", "-occurred_at", "-id"], name="message_event_timeline"),
        ]

    def __str__(self) -> str:
        return f"{self.message_key}: {self.status} ({self.source})"

    @property
    def is_orphan(self) -> bool:
        return self.message_id is None


# The campaign keys of a reminder (``communications.reminders.contributor_action_remind`` sets
# them, nothing else may): the action it chases, and that action's due date, which it asks by.
REMINDER_KEY = "reminder_for_action"
REMINDER_CAMPAIGN_KEYS = (REMINDER_KEY, "due_on")


class ContributorAction(models.Model):
    """A reply we are waiting for from one contributor (one per message of a contributor
    communication whose type expects a response). ``overdue`` is not stored: it is
    ``awaiting`` past ``due_on`` (see ``display_state``)."""

    class State(models.TextChoices):
        AWAITING = "awaiting", "Awaiting response"
        OVERDUE = "overdue", "Overdue"
        RESPONDED = "responded", "Responded"
        UNDELIVERABLE = "undeliverable", "Undeliverable"

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="contributor_action"
    )
    communication = models.ForeignKey(
        "integration.Communication", on_delete=models.CASCADE, related_name="contributor_actions"
    )
    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    work = models.ForeignKey(
        "integration.Work",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributor_actions",
    )
    contact = models.ForeignKey(
        "integration.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_name = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=20,
        choices=[
            (State.AWAITING, "Awaiting response"),
            (State.RESPONDED, "Responded"),
            (State.UNDELIVERABLE, "Undeliverable"),
        ],
        default=State.AWAITING,
        db_index=True,
    )
    due_on = models.DateField(db_index=True)
    due_source = models.CharField(
        max_length=200, blank=True, help_text="Where the due date came from, in words."
    )
    delivery_date = models.ForeignKey(
        "integration.DeliveryDate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    responded_on = models.DateField(null=True, blank=True)
    response_note = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder = models.ForeignKey(
        "integration.Communication",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The latest reminder drafted for this action.",
    )
    reminder_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["imprint", "state", "due_on"])]

    def __str__(self) -> str:
        return f"{self.recipient_name}: {self.communication} (due {self.due_on})"

    def display_state(self, today: object = None) -> str:
        today = today or timezone.localdate()
        if self.state == self.State.AWAITING and self.due_on < today:  # type: ignore[operator]
            return self.State.OVERDUE
        return self.state


class WritebackRule(models.Model):
    """Per imprint: which Consonance mutation a business event writes back, and whether it is
    switched on. With no enabled rule the record stays in Colophon (see ``WritebackRecord``)."""

    class EventKind(models.TextChoices):
        PROOF_APPROVAL_RECEIVED = "proof_approval_received", "Proof approval received"
        RIGHTS_CONFIRMATION_DELIVERED = (
            "rights_confirmation_delivered",
            "Rights confirmation delivered",
        )
        GRATIS_COPY_SENT = "gratis_copy_sent", "Gratis copy sent"
        RESPONSE_RECORDED = "response_recorded", "Contributor response recorded"
        RIGHTS_NOTICE_DELIVERED = (
            "rights_notice_delivered",
            "Permission letter or licence renewal delivered",
        )
        RIGHTS_RESPONSE_RECORDED = "rights_response_recorded", "Rights notice answered"

    class Mutation(models.TextChoices):
        UPDATE_DELIVERY_DATE = "updateDeliveryDate", "updateDeliveryDate"
        UPDATE_CONTRACT = "updateContract", "updateContract"
        UPDATE_GRATIS_COPY = "updateGratisCopy", "updateGratisCopy"

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    event_kind = models.CharField(max_length=40, choices=EventKind.choices)
    mutation = models.CharField(max_length=40, choices=Mutation.choices)
    enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["imprint_id", "event_kind"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "event_kind"], name="uniq_writeback_rule")
        ]

    def __str__(self) -> str:
        flag = "on" if self.enabled else "off"
        return f"{self.get_event_kind_display()} → {self.mutation} ({flag})"


class WritebackRecord(models.Model):
    """One business event that Consonance should hear about, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued for Consonance"
        WRITTEN = "written", "Written to Consonance"
        FAILED = "failed", "Failed (dead letter)"
        CANCELLED = "cancelled", "Cancelled"
        KEPT = "kept", "Kept in Colophon"

    key = models.UUIDField(default=uuid.uuid4, unique=True)
    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    work = models.ForeignKey(
        "integration.Work",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="writeback_records",
    )
    event_kind = models.CharField(max_length=40, choices=WritebackRule.EventKind.choices)
    business_key = models.CharField(
        max_length=200,
        unique=True,
        help_text="What happened, e.g. action:12:responded — the same event writes back once.",
    )
    mutation = models.CharField(max_length=40, blank=True)
    mutation_input = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was kept in Colophon, or failed.")
    summary = models.CharField(max_length=500, blank=True)
    outbox_item = models.ForeignKey(
        "integration.OutboxItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_event_kind_display()}: {self.get_status_display()}"

    @property
    def client_mutation_id(self) -> str:
        return f"colophon-{self.key}"


class CustomerServiceOutcome(models.Model):
    """What came of a customer-service notice (delay, out of stock, format substitution,
    revised date), with the case reference, linked to a title by ISBN."""

    class IssueType(models.TextChoices):
        DELAY = "delay", "Delay"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        FORMAT_SUBSTITUTION = "format_substitution", "Format substitution"
        REVISED_DATE = "revised_date", "Revised date"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        CANCELLED = "cancelled", "Cancelled"
        SUBSTITUTED = "substituted", "Substituted"
        REFUNDED = "refunded", "Refunded"
        NO_RESPONSE = "no_response", "No response"

    imprint = models.ForeignKey(
        "accounts.Imprint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    work = models.ForeignKey(
        "integration.Work",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer_service_outcomes",
    )
    product = models.ForeignKey(
        "integration.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issue_type = models.CharField(max_length=30, choices=IssueType.choices, db_index=True)
    communication_type = models.ForeignKey(
        "integration.CommunicationType",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    isbn13 = models.CharField(max_length=13, db_index=True)
    case_reference = models.CharField(max_length=100)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    occurred_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=50)
    source_event_id = models.CharField(max_length=300, unique=True)
    note = models.CharField(max_length=1000, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["imprint", "issue_type", "occurred_at"])]

    def __str__(self) -> str:
        return (
            f"{self.case_reference}: {self.get_issue_type_display()} {self.get_outcome_display()}"
        )
