"""Communication setup, per imprint and territory: what may be sent, to whom, in which form,
under which rules. Imprint admins configure these; Compose reads them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.models import Territory
from accounts.policy import Category


class Channel(models.TextChoices):
    PRINT = "print", "Print"
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    WEB = "web", "Secure web"


CHANNEL_VALUES = {c.value for c in Channel}


def _check_choices(values: object, allowed: set[str], what: str) -> list[str]:
    if not isinstance(values, list):
        return [f"{what} must be a list."]
    wrong = [str(v) for v in values if v not in allowed]
    if wrong:
        return [f"Unknown {what}: {', '.join(wrong)}; use {', '.join(sorted(allowed))}."]
    return []


def _clean_territory(obj: Any, errors: dict[str, list[str]]) -> None:
    """Upper-case ``obj.territory_code`` and add an error when no territory has that code
    (an empty code is fine: anywhere)."""
    if obj.territory_code:
        obj.territory_code = obj.territory_code.upper()
        if not Territory.objects.filter(code=obj.territory_code).exists():
            errors["territory_code"] = [f"No territory has the code {obj.territory_code!r}."]


class CommunicationType(models.Model):
    """A kind of communication from the design's eight flows (seeded by a data migration)."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(
        max_length=30, choices=[(c.value, c.value.replace("_", " ").capitalize()) for c in Category]
    )
    flow = models.PositiveSmallIntegerField(help_text="The design's flow number, 1–8.")
    response_expected = models.BooleanField(
        default=False, help_text="A reply from the recipient is expected and tracked."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["flow", "name"]

    def __str__(self) -> str:
        return self.name


class ImprintTypeSetting(models.Model):
    """An imprint admin's per-type choices, e.g. whether drafts of this type are auto-approved."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    communication_type = models.ForeignKey(
        CommunicationType, on_delete=models.CASCADE, related_name="imprint_settings"
    )
    auto_approvable = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["imprint", "communication_type"], name="uniq_imprint_type_setting"
            )
        ]

    def __str__(self) -> str:
        flag = "auto-approved" if self.auto_approvable else "needs approval"
        return f"{self.communication_type} at {self.imprint_id}: {flag}"


class CommunicationTemplate(models.Model):
    """Binds a communication type to an Exstream communication and channels, for an imprint
    (or every imprint), a territory (or any) and a language (or any), over a date range."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    imprint = models.ForeignKey(
        "accounts.Imprint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the default for every imprint (superusers only).",
    )
    name = models.CharField(max_length=200)
    communication_type = models.ForeignKey(
        CommunicationType, on_delete=models.PROTECT, related_name="templates"
    )
    exstream_communication = models.ForeignKey(
        "integration.ExstreamCommunication", on_delete=models.PROTECT, related_name="templates"
    )
    channels = models.JSONField(default=list, blank=True, help_text="print, email, sms, web.")
    territory_code = models.CharField(
        max_length=10, blank=True, help_text="A country (GB) or a group (EU, WORLD); empty: any."
    )
    language = models.CharField(
        max_length=10, blank=True, help_text="ISO language, e.g. en or fr; empty: any."
    )
    locale = models.CharField(
        max_length=10, default="en-GB", help_text="Formats dates and money: en-GB, fr-FR …"
    )
    effective_from = models.DateField(default=timezone.localdate)
    effective_to = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True)
    customer_key_field = models.CharField(
        max_length=200,
        blank=True,
        help_text="The driver field that keys a customer in the design (Colophon writes its "
        "message key there; delivery files and e-mail events carry it back). Empty: the "
        "sample's customer-number field.",
    )
    optional_driver_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Driver-sample fields this design does not require (may stay unmapped).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["communication_type__name", "name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["imprint", "name", "version"], name="uniq_template_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def customer_key_path(self) -> str:
        """The driver field Colophon writes its message key to ('' when none is known)."""
        if self.customer_key_field:
            return self.customer_key_field
        return self.exstream_communication.default_customer_key

    @property
    def required_driver_fields(self) -> list[str]:
        """Sample fields that must be mapped (and filled): all of them except those declared
        optional and the customer key, which Colophon fills itself."""
        optional = set(self.optional_driver_fields or [])
        key = self.customer_key_path
        return [
            name
            for name in self.exstream_communication.required_fields
            if name not in optional and name != key
        ]

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        channel_errors = _check_choices(self.channels, CHANNEL_VALUES, "channels")
        if not channel_errors and not self.channels:
            channel_errors = ["Choose at least one channel."]
        if not channel_errors and self.exstream_communication_id:
            offered = set(self.exstream_communication.channels or [])
            missing = [c for c in self.channels if offered and c not in offered]
            if missing:
                channel_errors = [
                    f"The Exstream communication '{self.exstream_communication.name}' has no "
                    f"{', '.join(missing)} output; it offers {', '.join(sorted(offered))}."
                ]
        if channel_errors:
            errors["channels"] = channel_errors
        _clean_territory(self, errors)
        if self.locale not in ("en-GB", "en-US", "fr-FR", "de-DE"):
            errors["locale"] = ["Use one of en-GB, en-US, fr-FR, de-DE."]
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            errors["effective_to"] = ["Ends before it starts."]
        if self.exstream_communication_id and not self.exstream_communication.active:
            errors["exstream_communication"] = [
                "That Exstream communication is no longer approved."
            ]
        elif self.exstream_communication_id and not self.exstream_communication.production_approved:
            errors["exstream_communication"] = [
                f"'{self.exstream_communication.name}' is not approved on the production domain, "
                "so nothing could be sent with it. Preview it from the Exstream screen, and bind "
                "it once it is approved in production (then sync the catalogue)."
            ]
        if self.exstream_communication_id:
            names = set(self.exstream_communication.field_names)
            if self.customer_key_field and names and self.customer_key_field not in names:
                errors["customer_key_field"] = [
                    f"'{self.customer_key_field}' is not a field of the driver sample."
                ]
            unknown = [f for f in self.optional_driver_fields or [] if names and f not in names]
            if not isinstance(self.optional_driver_fields, list):
                errors["optional_driver_fields"] = ["Give a list of driver field names."]
            elif unknown:
                errors["optional_driver_fields"] = [
                    "Not fields of the driver sample: " + ", ".join(map(str, unknown)) + "."
                ]
        if errors:
            raise ValidationError(errors)


class FieldMapping(models.Model):
    """One Exstream driver-data field filled from one Colophon context field."""

    template = models.ForeignKey(
        CommunicationTemplate, on_delete=models.CASCADE, related_name="mappings"
    )
    driver_field = models.CharField(max_length=200)
    context_field = models.CharField(max_length=100)
    transforms = models.JSONField(
        default=list,
        blank=True,
        help_text='Applied in order, e.g. [{"op": "date", "style": "long"}, {"op": "upper"}].',
    )
    required = models.BooleanField(default=False)

    policy_imprint_field = "template__imprint"

    class Meta:
        ordering = ["template_id", "driver_field"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "driver_field"], name="uniq_mapping_driver_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.driver_field} ← {self.context_field}"

    @property
    def imprint_id(self) -> int | None:
        return self.template.imprint_id


class Audience(models.Model):
    """A named group of recipients for an imprint (and optionally a territory)."""

    # What staff set on an audience: the form, the API and setup export/import all use this list.
    SETTINGS_FIELDS = (
        "name",
        "kind",
        "territory_code",
        "description",
        "contributor_roles",
        "organisation_types",
        "segment_id",
        "segment_name",
        "weekly_partner_notices",
    )

    class Kind(models.TextChoices):
        CONTRIBUTORS = "contributors", "The title's contributors (by role)"
        ORGANISATIONS = "organisations", "Contacts by organisation type"
        UPLOADED = "uploaded", "Uploaded list (members, subscribers, loyalty)"
        SEGMENT = "segment", "Segment held in Exstream"
        ROYALTY_PAYEES = "royalty_payees", "Payees of a royalty import's statements"

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    territory_code = models.CharField(max_length=10, blank=True)
    description = models.TextField(blank=True)
    contributor_roles = models.JSONField(
        default=list, blank=True, help_text="ONIX list 17 codes, e.g. A01, B01; empty: all."
    )
    organisation_types = models.JSONField(
        default=list,
        blank=True,
        help_text="agency, licensee, retailer, wholesaler, library, distributor …",
    )
    segment_id = models.CharField(max_length=100, blank=True)
    segment_name = models.CharField(max_length=200, blank=True)
    weekly_partner_notices = models.BooleanField(
        default=False,
        help_text="Partners (retailers, wholesalers, libraries, distributors) who get the weekly "
        "metadata change notices: the weekly job drafts one notice per changed title for them.",
    )
    list_filename = models.CharField(max_length=300, blank=True)
    list_uploaded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "name"], name="uniq_audience_name")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        _clean_territory(self, errors)
        if self.kind == self.Kind.SEGMENT and not self.segment_id:
            errors["segment_id"] = ["An Exstream segment audience needs the segment id."]
        if self.kind == self.Kind.ORGANISATIONS:
            if not self.organisation_types:
                errors["organisation_types"] = ["Choose at least one organisation type."]
            elif not isinstance(self.organisation_types, list):
                errors["organisation_types"] = ["Organisation types must be a list."]
        if not isinstance(self.contributor_roles, list):
            errors["contributor_roles"] = ["Contributor roles must be a list of codes."]
        if errors:
            raise ValidationError(errors)


class AudienceMember(models.Model):
    """One row of an uploaded member / subscriber / loyalty list."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    row_number = models.PositiveIntegerField()
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=300)
    country = models.CharField(max_length=2, blank=True)
    consent = models.BooleanField(default=False)
    channel_preference = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    address = models.TextField(blank=True)

    class Meta:
        ordering = ["audience_id", "row_number"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class ComplianceRule(models.Model):
    """A rule checked at compose time for an imprint, territory and author group."""

    # What staff set on a rule (communication_types is many-to-many): the form, the API and setup
    # export/import all use this list.
    SETTINGS_FIELDS = (
        "name",
        "kind",
        "severity",
        "territory_code",
        "author_group",
        "categories",
        "communication_types",
        "channels",
        "required_field",
        "weekdays",
        "start_hour",
        "end_hour",
        "message",
        "active",
    )

    class Kind(models.TextChoices):
        REQUIRED_FIELD = "required_field", "A driver field (clause) must be filled"
        CONSENT_REQUIRED = "consent_required", "Only to recipients who consented"
        CHANNEL_FORBIDDEN = "channel_forbidden", "Channel not allowed"
        SENDING_WINDOW = "sending_window", "Only send within days and hours"

    class Severity(models.TextChoices):
        BLOCKING = "blocking", "Blocking"
        WARNING = "warning", "Warning"

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default="blocking")
    territory_code = models.CharField(
        max_length=10, blank=True, help_text="Country or group (EU …); empty: everywhere."
    )
    author_group = models.CharField(max_length=100, blank=True, help_text="Empty: everyone.")
    categories = models.JSONField(default=list, blank=True, help_text="Empty: every category.")
    communication_types = models.ManyToManyField(CommunicationType, blank=True, related_name="+")
    channels = models.JSONField(default=list, blank=True, help_text="Empty: every channel.")
    required_field = models.CharField(max_length=200, blank=True)
    weekdays = models.JSONField(
        default=list, blank=True, help_text="Allowed weekdays, 0 = Monday … 6 = Sunday."
    )
    start_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    end_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True, help_text="Shown to the drafter.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "name"], name="uniq_compliance_rule_name")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        _clean_territory(self, errors)
        if ch := _check_choices(self.channels, CHANNEL_VALUES, "channels"):
            errors["channels"] = ch
        if cat := _check_choices(self.categories, {c.value for c in Category}, "categories"):
            errors["categories"] = cat
        if self.kind == self.Kind.REQUIRED_FIELD and not self.required_field:
            errors["required_field"] = ["Name the driver field (clause) that must be filled."]
        if self.kind == self.Kind.SENDING_WINDOW:
            if not self.weekdays and self.start_hour is None and self.end_hour is None:
                errors["weekdays"] = ["A sending window needs weekdays, hours or both."]
            if not isinstance(self.weekdays, list) or any(
                not isinstance(d, int) or not 0 <= d <= 6 for d in self.weekdays
            ):
                errors["weekdays"] = ["Weekdays are numbers 0 (Monday) to 6 (Sunday)."]
            if (self.start_hour is None) != (self.end_hour is None):
                errors["end_hour"] = ["Give both the first and the last hour, or neither."]
            elif (
                self.start_hour is not None
                and self.end_hour is not None
                and not (0 <= self.start_hour < self.end_hour <= 24)
            ):
                errors["end_hour"] = ["Hours run 0–24 and the window must end after it starts."]
        if self.kind == self.Kind.CHANNEL_FORBIDDEN and not self.channels:
            errors["channels"] = ["Name the channel(s) that are not allowed."]
        if errors:
            raise ValidationError(errors)


class TriggerRule(models.Model):
    """On a change event (or N days before a date) draft a communication of a type for an
    audience. Compose creates the draft; nothing is sent without approval unless the imprint
    marked the type auto-approvable."""

    class Event(models.TextChoices):
        PROJECT_STAGE = "project_stage", "Project stage changed"
        PUBLICATION_DATE = "publication_date", "Publication date changed"
        PRICE = "price", "Price changed"
        AVAILABILITY = "availability", "Availability changed"
        PUBLISHING_STATUS = "publishing_status", "Publishing status changed"
        DELIVERY_DATE_SLIPPED = "delivery_date_slipped", "Delivery date slipped"
        ROYALTIES_IMPORTED = "royalties_imported", "Royalty lines imported"
        LICENSED_RIGHT_ADDED = "licensed_right_added", "Licensed right added"
        METADATA = "metadata", "Metadata changed"
        DELIVERY_DUE = "delivery_due", "Delivery due in N days"
        CONTRACT_REVIEW = "contract_review", "Contract review in N days"
        CONTRACT_EXPIRY = "contract_expiry", "Contract expiry in N days"
        POST_PUBLICATION = "post_publication", "N days after publication"

    DATE_EVENTS = frozenset(
        {"delivery_due", "contract_review", "contract_expiry", "post_publication"}
    )

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    event = models.CharField(max_length=30, choices=Event.choices)
    match_value = models.CharField(
        max_length=200,
        blank=True,
        help_text="Only when the new value equals this (e.g. a project stage); empty: any.",
    )
    deliverable_type = models.CharField(
        max_length=100, blank=True, help_text="For 'delivery due': e.g. Proofs; empty: any."
    )
    territory = models.CharField(
        max_length=10,
        blank=True,
        help_text="Only for titles for sale in this territory (e.g. GB, US); empty: any.",
    )
    days_before = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="For date-based events: how many days ahead (for 'N days after "
        "publication': how many days after).",
    )
    communication_type = models.ForeignKey(
        CommunicationType, on_delete=models.PROTECT, related_name="+"
    )
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="triggers")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["imprint", "name"], name="uniq_trigger_rule_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_date_based(self) -> bool:
        return self.event in self.DATE_EVENTS

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.is_date_based and self.days_before is None:
            errors["days_before"] = ["Say how many days ahead (0 for the day itself)."]
        if not self.is_date_based and self.days_before is not None:
            errors["days_before"] = [
                "Only date-based events ('… in N days') take a number of days."
            ]
        if self.deliverable_type and self.event != self.Event.DELIVERY_DUE:
            errors["deliverable_type"] = ["Only 'Delivery due in N days' filters by deliverable."]
        if self.match_value and self.is_date_based:
            errors["match_value"] = ["Date-based events have no new value to match."]
        if self.audience_id and self.imprint_id and self.audience.imprint_id != self.imprint_id:
            errors["audience"] = ["The audience belongs to another imprint."]
        if errors:
            raise ValidationError(errors)


class ContactConsent(models.Model):
    """Whether a Consonance contact (an author, say) agreed to marketing mail from an imprint.
    Kept in Colophon: Consonance's documented API records no marketing consent on a contact.
    One row per imprint and contact; the latest decision wins."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "integration.Contact", on_delete=models.CASCADE, related_name="consents"
    )
    consent = models.BooleanField()
    note = models.CharField(max_length=300, blank=True, help_text="How it was given.")
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["imprint", "contact"], name="uniq_contact_consent")
        ]

    def __str__(self) -> str:
        return f"{self.contact}: {'consents' if self.consent else 'declined'}"
