"""The catalogue mirror: what Consonance knows about works, products, contributors, contracts and
rights. Consonance ids are kept (``consonance_id``), with the raw record JSON and a content hash so
unchanged records write nothing. Records missing at the source are marked withdrawn, never deleted.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class MirroredRecord(models.Model):
    """Fields every mirrored Consonance record carries."""

    consonance_id = models.BigIntegerField(unique=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The record as Consonance sent it.")
    content_hash = models.CharField(max_length=64, blank=True)
    source = models.CharField(
        max_length=20, default="graphql", help_text="graphql, rest, onix or sandbox."
    )
    withdrawn_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a full resync no longer finds the record."
    )
    synced_at = models.DateTimeField(default=timezone.now)
    snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="The normalised record the content hash is taken of; change events diff it.",
    )

    class Meta:
        abstract = True


def raw_hash_field() -> models.CharField:
    """Works and contracts (what a sync maps from a whole source record) keep a hash of the raw
    record their ``snapshot`` was normalised from, with the normaliser's version
    (``mapping.raw_hash``); empty when the snapshot came another way (ONIX, REST v4) or before
    the record was next synced. A resync that finds the same hash skips mapping the record."""
    return models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Hash of the raw source record (and normaliser version) the snapshot is of.",
    )


class Work(MirroredRecord):
    """A title: one work, published in one or more products (formats)."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="works")
    title = models.CharField(max_length=500)
    subtitle = models.CharField(max_length=500, blank=True)
    in_house_reference = models.CharField(max_length=100, blank=True)
    project_stage = models.CharField(max_length=100, blank=True)
    season = models.CharField(max_length=100, blank=True)
    marketing_tier = models.CharField(max_length=100, blank=True)
    audience = models.CharField(max_length=100, blank=True)
    work_type = models.CharField(max_length=100, blank=True)
    contributor_list = models.CharField(
        max_length=1000, blank=True, help_text="Pretty list, e.g. 'Jane Doe and John Roe'."
    )
    raw_hash = raw_hash_field()

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["imprint", "title"])]

    def __str__(self) -> str:
        return self.title


class Product(MirroredRecord):
    """A format of a work (hardback, paperback, e-book …)."""

    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="products")
    isbn13 = models.CharField(
        max_length=13,
        null=True,
        blank=True,
        db_index=True,
        help_text="Digits only; null when Consonance says 'No ISBN'.",
    )
    full_title = models.CharField(max_length=600, blank=True)
    product_form = models.CharField(max_length=10, blank=True, help_text="ONIX 2.1 list 7 code.")
    product_form_description = models.CharField(max_length=200, blank=True)
    publication_date = models.DateField(null=True, blank=True)
    planned_publication_date = models.DateField(null=True, blank=True)
    publishing_status = models.CharField(max_length=10, blank=True, help_text="ONIX list 64.")
    availability = models.CharField(max_length=10, blank=True, help_text="ONIX list 65.")
    for_sale_territories = models.JSONField(default=list, blank=True)
    not_for_sale_territories = models.JSONField(default=list, blank=True)

    policy_imprint_field = "work__imprint"

    class Meta:
        ordering = ["work_id", "publication_date", "id"]

    def __str__(self) -> str:
        return f"{self.isbn13 or 'No ISBN'} {self.full_title}"

    @property
    def imprint_id(self) -> int:
        return self.work.imprint_id


class Price(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    consonance_id = models.CharField(max_length=64, blank=True, help_text="e.g. USD-01-05")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    price_type = models.CharField(max_length=4, blank=True, help_text="ONIX list 58.")
    qualifier = models.CharField(max_length=4, blank=True, help_text="ONIX list 59.")
    territory = models.CharField(max_length=200, blank=True, help_text="Countries or region.")
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["product_id", "currency", "price_type"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class Contact(MirroredRecord):
    """A person or an organisation known to Consonance (contributors, agents, licensees,
    retailers, wholesalers, libraries, distributors …)."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(max_length=300)
    key_names = models.CharField(max_length=200, blank=True)
    person_name_inverted = models.CharField(max_length=300, blank=True)
    organisation_type = models.CharField(
        max_length=50,
        blank=True,
        help_text="retailer, wholesaler, library, distributor, agency, licensee …",
    )
    emails = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    phones = models.JSONField(default=list, blank=True)
    country = models.CharField(max_length=2, blank=True)
    isni = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def email(self) -> str:
        return self.emails[0] if self.emails else ""


class Contribution(models.Model):
    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="contributions")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contributions")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    role = models.CharField(max_length=4, help_text="ONIX list 17, e.g. A01 author.")
    role_description = models.CharField(max_length=100, blank=True)
    sequence = models.PositiveIntegerField(default=1)
    product_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["work_id", "sequence", "id"]

    def __str__(self) -> str:
        return f"{self.contact} ({self.role})"


class Contract(MirroredRecord):
    """A publication agreement. Its parties are kept apart (issue 11, defect 8):

    * ``client_consonance_id`` / ``client_name``: Consonance's ``clientId`` / ``client`` (type
      Client), the publisher's own client record. Never a contact, never a recipient.
    * the rights holders/contributors it concerns: the contacts its gratis copies go to
      (``GratisCopy.contact_consonance_id``); see ``Contract.names``.
    """

    work = models.ForeignKey(
        Work, null=True, blank=True, on_delete=models.SET_NULL, related_name="contracts"
    )
    imprint = models.ForeignKey(
        "accounts.Imprint", on_delete=models.PROTECT, related_name="contracts"
    )
    client_consonance_id = models.BigIntegerField(
        null=True, blank=True, help_text="Consonance clientId: the publisher's own client record."
    )
    client_name = models.CharField(max_length=300, blank=True)
    raw_hash = raw_hash_field()
    name = models.CharField(max_length=300, blank=True)
    signed_date = models.DateField(null=True, blank=True)
    term_months = models.PositiveIntegerField(null=True, blank=True)
    review_date = models.DateField(null=True, blank=True)
    terminated_date = models.DateField(null=True, blank=True)
    ms_delivery_date = models.DateField(null=True, blank=True)
    pub_before_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_date", "id"]

    def __str__(self) -> str:
        return self.name or f"Contract {self.consonance_id}"

    def names(self, contact: Contact | None) -> bool:
        """Whether this contract names ``contact`` as a party: one of its gratis copies is for
        that contact (``GratisCopy.contactId``, the only documented field on a contract that
        names a contact). ``client`` never counts: it is the publisher's own record."""
        if contact is None or self.pk is None:
            return False
        return self.gratis_copies.filter(contact_consonance_id=contact.consonance_id).exists()


class LicensedRight(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="licensed_rights")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    right_type = models.CharField(max_length=100)
    territory = models.CharField(max_length=200, blank=True)
    author_cut = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contract_id", "right_type"]

    def __str__(self) -> str:
        return f"{self.right_type} {self.territory}".strip()


class DeliveryDate(models.Model):
    """A deliverable due under a contract (manuscript, proofs, cover copy …)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="delivery_dates")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    deliverable_type = models.CharField(max_length=100)
    requirement = models.CharField(max_length=300, blank=True)
    due = models.DateField(null=True, blank=True)
    slipped = models.DateField(null=True, blank=True, help_text="The revised (slipped) date.")
    percentage_of_total = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    delivered_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["contract_id", "due"]

    def __str__(self) -> str:
        return f"{self.deliverable_type} due {self.due}"

    @property
    def effective_due(self):  # type: ignore[no-untyped-def]
        return self.slipped or self.due


class GratisCopy(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="gratis_copies")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    contact_consonance_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Consonance contactId: whom the copies go to; names the contract's party.",
    )
    number_of_copies = models.PositiveIntegerField(default=0)
    send_on = models.DateField(null=True, blank=True)
    sent_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.number_of_copies} gratis copies"


class MarketingText(models.Model):
    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="marketing_texts")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    text_type = models.CharField(max_length=10, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=3, blank=True)

    def __str__(self) -> str:
        return f"Marketing text {self.text_type}"


class SupportingResource(models.Model):
    """Covers and other assets."""

    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="supporting_resources")
    consonance_id = models.BigIntegerField(null=True, blank=True)
    url = models.URLField(max_length=1000)
    caption = models.CharField(max_length=300, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    is_cover = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.caption or self.url


class ChangeEvent(models.Model):
    """A field-level difference between a record's previous and new version."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        PRICE = "price", "Price changed"
        PUBLICATION_DATE = "publication_date", "Publication date changed"
        PUBLISHING_STATUS = "publishing_status", "Publishing status changed"
        AVAILABILITY = "availability", "Availability changed"
        PROJECT_STAGE = "project_stage", "Project stage changed"
        DELIVERY_DATE_SLIPPED = "delivery_date_slipped", "Delivery date slipped"
        LICENSED_RIGHT_ADDED = "licensed_right_added", "Licensed right added"
        LICENSED_RIGHT_ENDED = "licensed_right_ended", "Licensed right ended"
        METADATA = "metadata", "Metadata changed"
        WITHDRAWN = "withdrawn", "Withdrawn at source"
        ROYALTIES_IMPORTED = "royalties_imported", "Royalty lines imported"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40, choices=Kind.choices, db_index=True)
    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.CASCADE, related_name="+")
    work = models.ForeignKey(
        Work, null=True, blank=True, on_delete=models.CASCADE, related_name="change_events"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="change_events"
    )
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="change_events"
    )
    field = models.CharField(max_length=100, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=20, blank=True)
    sync_run = models.ForeignKey(
        "integration.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triggers_evaluated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.field} {self.old_value!r} → {self.new_value!r}"


class SyncRun(models.Model):
    """One pull from Consonance (or an ONIX / royalty import), with its cursor and counts."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        INCREMENTAL = "incremental", "Incremental"
        FULL = "full", "Full resync"
        ONIX = "onix", "ONIX import"
        ROYALTIES = "royalties", "Royalty import"

    class Phase(models.TextChoices):
        WORKS = "works", "Works and products"
        CONTRACTS = "contracts", "Contracts and rights"
        WITHDRAWALS = "withdrawals", "Withdrawals"
        DONE = "done", "Done"

    class ProductsSource(models.TextChoices):
        GRAPHQL = "graphql", "GraphQL"
        REST = "rest", "REST v4"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INCREMENTAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    imprint = models.ForeignKey(
        "accounts.Imprint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The imprint of an ONIX import; empty for Consonance syncs (every imprint) "
        "and for files that spanned several imprints.",
    )
    started_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    since = models.DateField(null=True, blank=True, help_text="changedSince sent to Consonance.")
    cursor = models.BigIntegerField(null=True, blank=True, help_text="Last id seen (after).")
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.WORKS)
    pages = models.PositiveIntegerField(default=0)
    seen_ids = models.JSONField(
        default=dict, blank=True, help_text="Full resync: Consonance ids seen, per record type."
    )
    filename = models.CharField(max_length=300, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    products_source = models.CharField(
        max_length=10,
        choices=ProductsSource.choices,
        default=ProductsSource.GRAPHQL,
        help_text="Where this run read products from.",
    )
    source_reason = models.CharField(
        max_length=500, blank=True, help_text="Why products came from REST v4, when they did."
    )
    warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="What this Consonance's schema does not offer (fields dropped, parts skipped).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def written(self) -> int:
        return self.created + self.updated + self.withdrawn


class RoyaltyImport(models.Model):
    """One royalty / sales file, imported whole or not at all."""

    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    line_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    imported = models.BooleanField(
        default=False, help_text="False when the file was refused (see errors); nothing stored."
    )
    errors = models.JSONField(
        default=list, blank=True, help_text="Row-by-row problems: {row, column, value, error}."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class RoyaltyLine(models.Model):
    royalty_import = models.ForeignKey(
        RoyaltyImport, on_delete=models.CASCADE, related_name="lines"
    )
    imprint = models.ForeignKey("accounts.Imprint", on_delete=models.PROTECT, related_name="+")
    payee = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL)
    payee_consonance_id = models.BigIntegerField()
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL)
    contract_consonance_id = models.BigIntegerField()
    work = models.ForeignKey(Work, null=True, blank=True, on_delete=models.SET_NULL)
    period_start = models.DateField()
    period_end = models.DateField()
    isbn13 = models.CharField(max_length=13)
    channel = models.CharField(max_length=50)
    territory = models.CharField(max_length=10)
    units = models.IntegerField()
    returns = models.IntegerField(default=0)
    net_receipts = models.DecimalField(max_digits=14, decimal_places=2)
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    royalty = models.DecimalField(max_digits=14, decimal_places=2)
    advance_offset = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["payee_consonance_id", "period_start", "isbn13"]

    def __str__(self) -> str:
        period = f"{self.period_start}–{self.period_end}"
        return f"{self.isbn13} {period}: {self.royalty} {self.currency}"
