"""factory-boy factories shared by every test package."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from accounts.models import Imprint, Membership, Role, Territory, User
from integration.models import (
    Contact,
    Contract,
    Contribution,
    DeliveryDate,
    ExstreamCommunication,
    LicensedRight,
    Price,
    Product,
    Work,
)

PASSWORD = "correct-horse-battery-staple"


class ImprintFactory(factory.django.DjangoModelFactory[Imprint]):
    class Meta:
        model = Imprint
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Imprint {n}")
    code = factory.Sequence(lambda n: f"imprint-{n}")
    consonance_id = factory.Sequence(lambda n: 1000 + n)


class TerritoryFactory(factory.django.DjangoModelFactory[Territory]):
    class Meta:
        model = Territory
        django_get_or_create = ("code",)

    code = "GB"
    name = "United Kingdom"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    imprint = factory.SubFactory(ImprintFactory)
    role = Role.VIEWER


def member(role: str, imprint: Imprint, email: str | None = None) -> User:
    """A user holding ``role`` in ``imprint``."""
    user = UserFactory(email=email) if email else UserFactory()
    MembershipFactory(user=user, imprint=imprint, role=role)
    return user


# --- Catalogue mirror ------------------------------------------------------------------------


class WorkFactory(factory.django.DjangoModelFactory[Work]):
    class Meta:
        model = Work

    consonance_id = factory.Sequence(lambda n: 50_000 + n)
    imprint = factory.SubFactory(ImprintFactory)
    title = factory.Sequence(lambda n: f"The Lighthouse Keeper, Volume {n}")
    project_stage = "In production"
    season = "Autumn 2026"


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    consonance_id = factory.Sequence(lambda n: 70_000 + n)
    work = factory.SubFactory(WorkFactory)
    isbn13 = factory.Sequence(lambda n: f"978000000{n:04d}")
    full_title = factory.LazyAttribute(lambda o: o.work.title)
    product_form = "BB"
    publication_date = datetime.date(2026, 3, 5)
    publishing_status = "04"
    availability = "20"


class PriceFactory(factory.django.DjangoModelFactory[Price]):
    class Meta:
        model = Price

    product = factory.SubFactory(ProductFactory)
    amount = Decimal("16.99")
    currency = "GBP"
    price_type = "02"
    territory = "GB"


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    consonance_id = factory.Sequence(lambda n: 90_000 + n)
    kind = Contact.Kind.PERSON
    name = factory.Sequence(lambda n: f"Author {n}")
    emails = factory.LazyAttribute(lambda o: [f"{o.name.lower().replace(' ', '.')}@authors.test"])
    country = "GB"


class ContributionFactory(factory.django.DjangoModelFactory[Contribution]):
    class Meta:
        model = Contribution

    work = factory.SubFactory(WorkFactory)
    contact = factory.SubFactory(ContactFactory)
    role = "A01"
    sequence = 1


class ContractFactory(factory.django.DjangoModelFactory[Contract]):
    class Meta:
        model = Contract

    consonance_id = factory.Sequence(lambda n: 30_000 + n)
    work = factory.SubFactory(WorkFactory)
    imprint = factory.LazyAttribute(lambda o: o.work.imprint)
    client_consonance_id = 1  # the publisher's own client record in Consonance
    client_name = "Lighthouse Publishing Group Ltd"
    name = factory.LazyAttribute(lambda o: f"Agreement for {o.work.title}")
    signed_date = datetime.date(2025, 6, 1)
    term_months = 60


class LicensedRightFactory(factory.django.DjangoModelFactory[LicensedRight]):
    class Meta:
        model = LicensedRight

    contract = factory.SubFactory(ContractFactory)
    right_type = "Translation"
    territory = "FR"


class DeliveryDateFactory(factory.django.DjangoModelFactory[DeliveryDate]):
    class Meta:
        model = DeliveryDate

    contract = factory.SubFactory(ContractFactory)
    deliverable_type = "Proofs"
    due = datetime.date(2026, 12, 15)


class ExstreamCommunicationFactory(factory.django.DjangoModelFactory[ExstreamCommunication]):
    class Meta:
        model = ExstreamCommunication

    domain = "production"
    communication_id = factory.Sequence(lambda n: f"00000000-0000-4000-8000-{n:012d}")
    name = factory.Sequence(lambda n: f"Rights confirmation letter {n}")
    prod_dsn = "ColophonDriver"
    queues = [{"name": "PDF", "driver": "PDF", "use": "print"}]
    channels = ["print", "email"]
    production_approved = True
    driver_fields = [
        {"name": "customer.customerNumber", "type": "string", "required": True},
        {"name": "recipientName", "type": "string", "required": True},
        {"name": "workTitle", "type": "string", "required": True},
        {"name": "isbn", "type": "string", "required": False},
    ]


# --- Communication setup -----------------------------------------------------------------------

from integration.models import (  # noqa: E402
    Audience,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    FieldMapping,
    TriggerRule,
)


def communication_type(code: str = "rights-confirmation") -> CommunicationType:
    """A seeded communication type (the data migration created them)."""
    return CommunicationType.objects.get(code=code)


class CommunicationTemplateFactory(factory.django.DjangoModelFactory[CommunicationTemplate]):
    class Meta:
        model = CommunicationTemplate

    imprint = factory.SubFactory(ImprintFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    communication_type = factory.LazyFunction(communication_type)
    exstream_communication = factory.SubFactory(ExstreamCommunicationFactory)
    channels = ["print"]
    effective_from = datetime.date(2026, 1, 1)
    status = CommunicationTemplate.Status.ACTIVE
    locale = "en-GB"


class FieldMappingFactory(factory.django.DjangoModelFactory[FieldMapping]):
    class Meta:
        model = FieldMapping

    template = factory.SubFactory(CommunicationTemplateFactory)
    driver_field = "workTitle"
    context_field = "work.title"
    transforms: list[dict[str, object]] = []
    required = False


class AudienceFactory(factory.django.DjangoModelFactory[Audience]):
    class Meta:
        model = Audience

    imprint = factory.SubFactory(ImprintFactory)
    name = factory.Sequence(lambda n: f"Audience {n}")
    kind = Audience.Kind.CONTRIBUTORS


class ComplianceRuleFactory(factory.django.DjangoModelFactory[ComplianceRule]):
    class Meta:
        model = ComplianceRule

    imprint = factory.SubFactory(ImprintFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    kind = ComplianceRule.Kind.CONSENT_REQUIRED
    severity = ComplianceRule.Severity.BLOCKING


class TriggerRuleFactory(factory.django.DjangoModelFactory[TriggerRule]):
    class Meta:
        model = TriggerRule

    imprint = factory.SubFactory(ImprintFactory)
    name = factory.Sequence(lambda n: f"Trigger {n}")
    event = TriggerRule.Event.PROJECT_STAGE
    communication_type = factory.LazyFunction(lambda: communication_type("approval-notice"))
    audience = factory.SubFactory(AudienceFactory, imprint=factory.SelfAttribute("..imprint"))


# --- Correspondence and status (status branch) -------------------------------------------------

from integration.models import Communication, GratisCopy, Message  # noqa: E402


class CommunicationFactory(factory.django.DjangoModelFactory[Communication]):
    class Meta:
        model = Communication

    work = factory.SubFactory(WorkFactory)
    imprint = factory.LazyAttribute(lambda o: o.work.imprint)
    communication_type = factory.LazyFunction(lambda: communication_type("proof-approval"))
    name = factory.Sequence(lambda n: f"Proofs for approval {n}")
    channels = ["email"]
    status = Communication.Status.SENT


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    communication = factory.SubFactory(CommunicationFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    recipient_name = factory.Sequence(lambda n: f"Contributor {n}")
    recipient_email = factory.Sequence(lambda n: f"contributor{n}@authors.test")
    channel = "email"
    payload_hash = "0" * 64
    status = Message.Status.GENERATED


class GratisCopyFactory(factory.django.DjangoModelFactory[GratisCopy]):
    class Meta:
        model = GratisCopy

    contract = factory.SubFactory(ContractFactory)
    consonance_id = factory.Sequence(lambda n: 40_000 + n)
    number_of_copies = 6
    send_on = datetime.date(2026, 3, 1)


# --- Operations, imports, Exstream jobs and status (policy sweep) -------------------------------

from django.core.files.base import ContentFile  # noqa: E402
from django.utils import timezone  # noqa: E402

from integration.models import (  # noqa: E402
    ContributorAction,
    CustomerServiceOutcome,
    ExstreamJob,
    OutboxItem,
    PreviewOutput,
    RoyaltyImport,
    SyncRun,
    WritebackRecord,
    WritebackRule,
)


class ContributorActionFactory(factory.django.DjangoModelFactory[ContributorAction]):
    class Meta:
        model = ContributorAction

    message = factory.SubFactory(MessageFactory)
    communication = factory.LazyAttribute(lambda o: o.message.communication)
    imprint = factory.LazyAttribute(lambda o: o.message.communication.imprint)
    work = factory.LazyAttribute(lambda o: o.message.communication.work)
    recipient_name = factory.LazyAttribute(lambda o: o.message.recipient_name)
    due_on = datetime.date(2026, 12, 1)


class OutboxItemFactory(factory.django.DjangoModelFactory[OutboxItem]):
    class Meta:
        model = OutboxItem

    kind = OutboxItem.Kind.CONSONANCE_WRITEBACK
    status = OutboxItem.Status.DEAD
    external_id = factory.Sequence(lambda n: f"colophon-outbox-{n}")
    imprint = factory.SubFactory(ImprintFactory)
    payload = factory.LazyFunction(dict)
    dead_reason = "Consonance refused the write-back."


class SyncRunFactory(factory.django.DjangoModelFactory[SyncRun]):
    class Meta:
        model = SyncRun

    kind = SyncRun.Kind.INCREMENTAL
    status = SyncRun.Status.SUCCEEDED


class RoyaltyImportFactory(factory.django.DjangoModelFactory[RoyaltyImport]):
    class Meta:
        model = RoyaltyImport

    imprint = factory.SubFactory(ImprintFactory)
    filename = factory.Sequence(lambda n: f"royalties-{n}.csv")
    imported = False
    errors = factory.LazyFunction(
        lambda: [{"row": 2, "column": "isbn13", "value": "x", "error": "Not an ISBN-13."}]
    )


class PreviewOutputFactory(factory.django.DjangoModelFactory[PreviewOutput]):
    class Meta:
        model = PreviewOutput

    exstream_communication = factory.SubFactory(ExstreamCommunicationFactory)
    communication_id = factory.LazyAttribute(lambda o: o.exstream_communication.communication_id)
    domain = "preview"
    imprint = factory.SubFactory(ImprintFactory)
    driver_hash = "0" * 64
    mime_type = "text/html"
    content = factory.LazyFunction(
        lambda: ContentFile(b"<p>Dear Contributor</p>", name="preview.html")
    )
    size = 23


class ExstreamJobFactory(factory.django.DjangoModelFactory[ExstreamJob]):
    class Meta:
        model = ExstreamJob

    job_id = factory.Sequence(lambda n: f"job-{n:06d}")
    external_id = factory.Sequence(lambda n: f"colophon-batch-{n}")
    domain = "production"
    channel = "email"
    imprint = factory.SubFactory(ImprintFactory)
    status = "running"


class WritebackRecordFactory(factory.django.DjangoModelFactory[WritebackRecord]):
    class Meta:
        model = WritebackRecord

    imprint = factory.SubFactory(ImprintFactory)
    event_kind = WritebackRule.EventKind.RESPONSE_RECORDED
    business_key = factory.Sequence(lambda n: f"sweep:{n}")
    status = WritebackRecord.Status.KEPT


class CustomerServiceOutcomeFactory(factory.django.DjangoModelFactory[CustomerServiceOutcome]):
    class Meta:
        model = CustomerServiceOutcome

    imprint = factory.SubFactory(ImprintFactory)
    issue_type = CustomerServiceOutcome.IssueType.DELAY
    isbn13 = "9780000000001"
    case_reference = factory.Sequence(lambda n: f"CS-{n:05d}")
    outcome = CustomerServiceOutcome.Outcome.ACCEPTED
    occurred_at = factory.LazyFunction(timezone.now)
    source = "csv"
    source_event_id = factory.Sequence(lambda n: f"sweep-cs-{n}")
