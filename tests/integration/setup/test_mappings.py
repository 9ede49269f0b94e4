"""Transforms across locales and currencies, mapping validation, driver data and context."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from integration.setup.context import REGISTRY, build_context, recipient_context
from integration.setup.mappings import (
    NBSP,
    NNBSP,
    TransformError,
    apply_transform,
    build_driver_data,
    format_date,
    format_money,
    mapping_problems,
    mapping_save,
)
from tests.factories import (
    CommunicationTemplateFactory,
    ContactFactory,
    ContractFactory,
    ContributionFactory,
    ExstreamCommunicationFactory,
    FieldMappingFactory,
    LicensedRightFactory,
    PriceFactory,
    ProductFactory,
    WorkFactory,
)

D = datetime.date(2026, 3, 5)


@pytest.mark.parametrize(
    ("locale", "long", "short"),
    [
        ("en-GB", "5 March 2026", "05/03/2026"),
        ("en-US", "March 5, 2026", "03/05/2026"),
        ("fr-FR", "5 mars 2026", "05/03/2026"),
        ("de-DE", "5. März 2026", "05.03.2026"),
    ],
)
def test_dates_per_locale(locale, long, short):
    assert format_date(D, locale=locale) == long
    assert format_date(D, locale=locale, style="short") == short
    assert format_date("2026-03-05", locale=locale, style="iso") == "2026-03-05"


def test_french_first_of_month():
    assert format_date(datetime.date(2026, 5, 1), locale="fr-FR") == "1er mai 2026"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("1234.5", "GBP", "en-GB", "£1,234.50"),
        ("1234.5", "USD", "en-US", "$1,234.50"),
        ("1234.5", "USD", "en-GB", "US$1,234.50"),
        ("1234567.891", "EUR", "fr-FR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        ("1234.5", "EUR", "de-DE", f"1.234,50{NBSP}€"),
        ("-12", "GBP", "en-GB", "-£12.00"),
        ("16.99", "SEK", "en-GB", f"SEK{NBSP}16.99"),
        ("0.005", "GBP", "en-GB", "£0.01"),
    ],
)
def test_money_per_locale_and_currency(amount, currency, locale, expected):
    assert format_money(Decimal(amount), currency, locale=locale) == expected


def test_money_transform_reads_money_dicts_and_refuses_unknown_locale():
    value = {"amount": Decimal("16.99"), "currency": "EUR"}
    assert apply_transform(value, {"op": "money"}, locale="de-DE") == f"16,99{NBSP}€"
    with pytest.raises(TransformError, match="Unknown locale"):
        apply_transform(value, {"op": "money", "locale": "xx-YY"}, locale="en-GB")
    with pytest.raises(TransformError, match="needs a currency"):
        apply_transform(Decimal("3"), {"op": "money"}, locale="en-GB")


def test_case_join_default_lookup():
    assert apply_transform("the sea", {"op": "title"}, locale="en-GB") == "The Sea"
    assert apply_transform("Sea", {"op": "upper"}, locale="en-GB") == "SEA"
    authors = ["Ann", "Bob", "Cy"]
    step = {"op": "join", "separator": ", ", "last_separator": " and "}
    assert apply_transform(authors, step, locale="en-GB") == "Ann, Bob and Cy"
    people = [{"name": "Ann"}, {"name": "Bob"}]
    assert apply_transform(people, {"op": "join", "key": "name"}, locale="en-GB") == "Ann, Bob"
    assert apply_transform("", {"op": "default", "value": "Friend"}, locale="en-GB") == "Friend"
    table = {"op": "lookup", "table": {"BB": "Hardback"}, "fallback": "Other"}
    assert apply_transform("BB", table, locale="en-GB") == "Hardback"
    assert apply_transform("ZZ", table, locale="en-GB") == "Other"


@pytest.mark.django_db
def test_validation_names_every_missing_or_unknown_field():
    comm = ExstreamCommunicationFactory.create(
        name="Royalty statement",
        driver_fields=[
            {"name": "payeeName", "type": "string", "required": True},
            {"name": "total", "type": "string", "required": True},
            {"name": "note", "type": "string", "required": False},
        ],
    )
    template = CommunicationTemplateFactory.create(exstream_communication=comm)
    FieldMappingFactory.create(
        template=template, driver_field="payeeName", context_field="recipient.nom"
    )
    FieldMappingFactory.create(template=template, driver_field="footer", context_field="work.title")
    FieldMappingFactory.create(
        template=template,
        driver_field="note",
        context_field="work.title",
        transforms=[{"op": "shout"}],
    )
    problems = mapping_problems(template)
    assert any("'recipient.nom', which is not a Colophon context field" in p for p in problems)
    assert any("'footer' is not a driver field" in p for p in problems)
    assert any("Required Exstream driver field 'total' is not mapped" in p for p in problems)
    assert any("unknown operation 'shout'" in p for p in problems)


@pytest.mark.django_db
def test_mapping_save_refuses_bad_input_and_audits_good(admin_a, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    with pytest.raises(ValidationError) as err:
        mapping_save(
            actor=admin_a,
            template=template,
            driver_field="nope",
            context_field="work.nope",
            transforms=[{"op": "date", "style": "fancy"}],
        )
    assert set(err.value.message_dict) == {"driver_field", "context_field", "transforms"}
    assert not template.mappings.exists()
    mapping_save(
        actor=admin_a,
        template=template,
        driver_field="workTitle",
        context_field="work.title",
        transforms=[{"op": "upper"}],
        required=True,
    )
    event = AuditEvent.objects.get(verb="setup.mapping_created")
    assert event.actor == admin_a and event.imprint_id == imprint_a.pk
    assert event.data["context_field"] == "work.title"


@pytest.mark.django_db
def test_build_driver_data_with_real_title_in_french(imprint_a):
    comm = ExstreamCommunicationFactory.create(
        driver_fields=[
            {"name": "title", "type": "string", "required": True},
            {"name": "price", "type": "string", "required": True},
            {"name": "pubDate", "type": "string", "required": False},
            {"name": "authors", "type": "string", "required": False},
            {"name": "recipientName", "type": "string", "required": True},
        ]
    )
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, exstream_communication=comm, locale="fr-FR"
    )
    FieldMappingFactory.create(
        template=template,
        driver_field="title",
        context_field="work.title",
        transforms=[{"op": "upper"}],
    )
    FieldMappingFactory.create(
        template=template,
        driver_field="price",
        context_field="prices.territory",
        transforms=[{"op": "money"}],
    )
    FieldMappingFactory.create(
        template=template,
        driver_field="pubDate",
        context_field="product.publication_date",
        transforms=[{"op": "date"}],
    )
    FieldMappingFactory.create(
        template=template,
        driver_field="authors",
        context_field="contributors.authors",
        transforms=[{"op": "join", "last_separator": " et "}],
    )
    FieldMappingFactory.create(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    work = WorkFactory.create(imprint=imprint_a, title="Le Phare")
    product = ProductFactory.create(work=work, publication_date=D)
    PriceFactory.create(product=product, amount=Decimal("16.99"), currency="GBP", territory="GB")
    PriceFactory.create(product=product, amount=Decimal("19.50"), currency="EUR", territory="FR DE")
    ContributionFactory.create(
        work=work, contact=ContactFactory.create(name="Ann Auteur"), sequence=1
    )
    ContributionFactory.create(
        work=work, contact=ContactFactory.create(name="Bea Auteur"), sequence=2
    )
    title = build_context(work=work, territory="FR")
    context = {**title, **recipient_context({"name": "Claire"})}
    driver, problems = build_driver_data(template=template, context=context)
    assert problems == []
    assert driver == {
        "title": "LE PHARE",
        "price": f"19,50{NBSP}€",
        "pubDate": "5 mars 2026",
        "authors": "Ann Auteur et Bea Auteur",
        "recipientName": "Claire",
    }
    # Missing recipient: the required field is named.
    _, problems = build_driver_data(template=template, context=title)
    assert problems == ["Required field 'recipientName' has no value (from Recipient name)."]


@pytest.mark.django_db
def test_driver_data_runs_no_queries_per_recipient(django_assert_num_queries, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    FieldMappingFactory.create(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    FieldMappingFactory.create(
        template=template, driver_field="workTitle", context_field="work.title"
    )
    work = WorkFactory.create(imprint=imprint_a)
    ProductFactory.create(work=work)
    title = build_context(work=work)
    build_driver_data(template=template, context=title)  # loads mappings once
    with django_assert_num_queries(0):
        for i in range(200):
            ctx = {**title, **recipient_context({"name": f"Reader {i}"})}
            driver, problems = build_driver_data(template=template, context=ctx)
    assert driver["recipientName"] == "Reader 199" and problems == []


@pytest.mark.django_db
def test_build_context_covers_contract_rights_and_samples(imprint_a):
    work = WorkFactory.create(imprint=imprint_a, title="Salt")
    contract = ContractFactory.create(
        work=work, signed_date=datetime.date(2024, 1, 31), term_months=1
    )
    LicensedRightFactory.create(contract=contract, right_type="Audio", territory="US")
    ctx = build_context(work=work)
    assert ctx["contract.name"] == "Agreement for Salt"
    assert ctx["contract.expiry_date"] == datetime.date(2024, 2, 29)
    assert ctx["licensed_rights.all"] == [{"right_type": "Audio", "territory": "US"}]
    assert ctx["product.isbn"] is None
    sample = build_context(work=work, sample=True)
    assert sample["work.title"] == "Salt"
    assert sample["product.isbn"] == REGISTRY["product.isbn"].sample
    assert set(sample) == set(REGISTRY)
