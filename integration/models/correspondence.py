"""Communications, their per-recipient messages, approvals and message status events.

A Communication moves through guarded transitions (django-fsm-2):

    draft ─► composing ─► draft (composed) ─► submitted ─► approved ─► queued ─► sending ─►
        sent | partially_failed | failed
    submitted ─► rejected (with a comment) ─► draft (after edits)
    draft | submitted | approved | queued ─► cancelled
    submitted | approved | queued ─► draft (approval voided: template, mapping, audience or
        source data changed; the reason is shown)

Services in ``integration/communications/services.py`` are the only callers of the transitions.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition


class Communication(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        COMPOSING = "composing", "Composing"
        SUBMITTED = "submitted", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        PARTIALLY_FAILED = "partially_failed", "Partially failed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    S = Status
    EDITABLE = (S.DRAFT, S.REJECTED)
    AWAITING_SEND = (S.SUBMITTED, S.APPROVED, S.QUEUED)

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    communication_type = models.ForeignKey(
        "integration.CommunicationType", on_delete=models.PROTECT, related_name="communications"
    )
    name = models.CharField(max_length=300, help_text="What staff call it, e.g. the subject.")
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True, db_index=True)

    # What it is about
    work = models.ForeignKey(
        "integration.Work",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="communications",
    )
    product = models.ForeignKey(
        "integration.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contract = models.ForeignKey(
        "integration.Contract",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="communications",
    )
    royalty_import = models.ForeignKey(
        "integration.RoyaltyImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="communications",
    )
    # How and to whom
    template = models.ForeignKey(
        "integration.CommunicationTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="communications",
    )
    template_explanation = models.TextField(blank=True)
    audience = models.ForeignKey(
        "integration.Audience",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="communications",
    )
    territory_code = models.CharField(max_length=10, blank=True)
    language = models.CharField(max_length=10, blank=True)
    channels = models.JSONField(default=list, blank=True)
    offer = models.JSONField(default=dict, blank=True)
    campaign = models.JSONField(default=dict, blank=True)
    period_start = models.DateField(
        null=True,
        blank=True,
        help_text="For a notice of the catalogue changes of a period: its first day.",
    )
    period_end = models.DateField(
        null=True, blank=True, help_text="The period's last day (changes up to this day)."
    )

    # Where it came from
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_rule = models.ForeignKey(
        "integration.TriggerRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="communications",
    )
    change_event = models.ForeignKey(
        "integration.ChangeEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="communications",
    )
    trigger_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Set for trigger-created drafts: one draft per rule, subject and event/date.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Composition
    payload_hash = models.CharField(max_length=64, blank=True)
    composed_at = models.DateTimeField(null=True, blank=True)
    compose_total = models.PositiveIntegerField(default=0)
    compose_done = models.PositiveIntegerField(default=0)
    compose_error = models.TextField(blank=True)
    compose_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of progress from the composing worker."
    )
    compose_attempt = models.PositiveIntegerField(
        default=0,
        help_text="Bumped by each restart: a worker composing an older attempt stops writing.",
    )
    compose_restarts = models.PositiveIntegerField(
        default=0, help_text="Restarts of this composition after it stalled (by hand or sweep)."
    )
    checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the payload was last found current (composed, or recomputed unchanged).",
    )
    input_versions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Content versions of what the payload was built from (template, mappings, "
        "audience, title data), taken when it was composed or last found current; empty when "
        "an input has no cheap version (then every check recomputes the payload).",
    )
    recipient_count = models.PositiveIntegerField(default=0)
    blocking_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)

    # Four eyes: everyone who drafted, edited (recomposed) or submitted it. None of them may
    # approve or reject it.
    authors = models.ManyToManyField(
        "accounts.User", blank=True, related_name="authored_communications"
    )

    # Approval
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)
    approved_inputs = models.JSONField(
        default=dict,
        blank=True,
        help_text="The input versions the approved payload was built from, recorded with the "
        "approval: the check before each chunk recomputes the payload only when one moved.",
    )
    auto_approved = models.BooleanField(default=False)
    rejection_comment = models.TextField(blank=True)
    void_reason = models.TextField(
        blank=True, help_text="Why an approval was voided and the communication returned to draft."
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["imprint", "status"])]

    def __str__(self) -> str:
        return self.name or f"Communication {self.pk}"

    def author_ids(self) -> set[int]:
        """Who drafted, edited or submitted it (from a prefetch of ``authors`` if there is one)."""
        return {user.pk for user in self.authors.all()}

    @property
    def category(self) -> str:
        return str(self.communication_type.category)

    # --- guarded transitions (state only; services do the rest) ---------------------------

    @transition(field=status, source=[S.DRAFT, S.REJECTED], target=S.COMPOSING)
    def start_composing(self) -> None:
        self.compose_error = ""
        self.compose_heartbeat_at = timezone.now()
        self.compose_attempt += 1
        self.compose_restarts = 0

    @transition(field=status, source=S.COMPOSING, target=S.DRAFT)
    def finish_composing(self) -> None:
        self.composed_at = timezone.now()

    @transition(field=status, source=[S.DRAFT, S.REJECTED], target=S.SUBMITTED)
    def submit(self) -> None:
        self.rejection_comment = ""
        self.void_reason = ""

    @transition(field=status, source=S.SUBMITTED, target=S.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=S.SUBMITTED, target=S.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=S.APPROVED, target=S.QUEUED)
    def queue(self) -> None:
        pass

    @transition(field=status, source=[S.QUEUED, S.SENDING], target=S.SENDING)
    def start_sending(self) -> None:
        pass

    @transition(field=status, source=[S.SENDING, S.QUEUED], target=S.SENT)
    def mark_sent(self) -> None:
        self.sent_at = timezone.now()

    @transition(field=status, source=[S.SENDING, S.QUEUED], target=S.PARTIALLY_FAILED)
    def mark_partially_failed(self) -> None:
        self.sent_at = timezone.now()

    @transition(field=status, source=[S.SENDING, S.QUEUED], target=S.FAILED)
    def mark_failed(self) -> None:
        pass

    @transition(field=status, source=[S.PARTIALLY_FAILED, S.FAILED], target=S.SENDING)
    def resume_sending(self) -> None:
        """A dead-letter chunk was replayed: the communication is sending again."""
        self.sent_at = None

    @transition(
        field=status,
        source=[S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.QUEUED],
        target=S.CANCELLED,
    )
    def cancel(self) -> None:
        pass

    @transition(field=status, source=[S.SUBMITTED, S.APPROVED, S.QUEUED], target=S.DRAFT)
    def void_approval(self) -> None:
        self.approved_by = None
        self.approved_at = None
        self.approved_hash = ""
        self.approved_inputs = {}
        self.auto_approved = False

    @transition(field=status, source=[S.COMPOSING], target=S.DRAFT)
    def compose_failed(self) -> None:
        pass


class Message(models.Model):
    """One recipient's copy of a communication: its driver payload, findings and status."""

    class Status(models.TextChoices):
        GENERATED = "generated", "Generated"
        SUBMITTED = "submitted", "Submitted"
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        NOT_DELIVERED = "not_delivered", "Not delivered"
        BOUNCED = "bounced", "Bounced"
        RETURNED = "returned", "Returned"
        RESPONDED = "responded", "Responded"
        FAILED = "failed", "Failed"

    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="messages"
    )
    key = models.UUIDField(
        default=uuid.uuid4, unique=True, help_text="Exstream customer key for this recipient."
    )
    sequence = models.PositiveIntegerField(help_text="Order within the communication.")
    recipient_key = models.CharField(max_length=200, blank=True)
    recipient_name = models.CharField(max_length=300, blank=True)
    recipient_email = models.CharField(max_length=300, blank=True)
    recipient_address = models.TextField(blank=True)
    recipient_country = models.CharField(max_length=2, blank=True)
    contact = models.ForeignKey(
        "integration.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10)
    driver_data = models.JSONField(default=dict)
    payload_hash = models.CharField(max_length=64)
    findings = models.JSONField(default=list, blank=True)
    blocking = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.GENERATED, db_index=True
    )
    status_at = models.DateTimeField(default=timezone.now)
    status_detail = models.CharField(max_length=500, blank=True)
    exstream_job_id = models.CharField(max_length=100, blank=True)
    chunk = models.PositiveIntegerField(default=0, help_text="Batch chunk it was sent in.")

    class Meta:
        ordering = ["communication_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["communication", "sequence"], name="uniq_message_sequence"
            )
        ]
        # Dispatch reads, records and updates one chunk at a time: without this each chunk
        # scanned every message of the communication.
        indexes = [models.Index(fields=["communication", "chunk"], name="message_chunk_idx")]

    def __str__(self) -> str:
        return f"{self.recipient_name or self.recipient_email} ({self.status})"


class MessagePreview(models.Model):
    """One recipient's copy rendered through Exstream on-demand on the preview domain."""

    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="previews"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="previews")
    reason = models.CharField(
        max_length=100, help_text="Why it was sampled: first, random, findings."
    )
    payload_hash = models.CharField(max_length=64)
    outputs = models.JSONField(
        default=list, blank=True, help_text="[{id, mime_type, queue_name, size, url}] per output."
    )
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "message__sequence"]

    def __str__(self) -> str:
        return f"Preview of {self.message} ({len(self.outputs)} outputs)"


class Approval(models.Model):
    """A decision on a submitted communication, bound to the exact payload it saw."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        VOIDED = "voided", "Voided"

    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="approvals"
    )
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    payload_hash = models.CharField(max_length=64)
    input_versions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Content versions of the inputs the payload was built from.",
    )
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.decided_by} at {self.created_at:%Y-%m-%d}"
