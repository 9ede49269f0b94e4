"""Context fields a launch e-mail and a contributor letter need: cover, assets, blurb, prices by
territory, format availability, "today + N days" and the reply due date the actions board uses."""

from __future__ import annotations

import datetime

import pytest

from integration.models import MarketingText, SupportingResource
from integration.setup.context import FIELDS, REGISTRY, build_context, sample_context
from integration.setup.mappings import suggest_context_field
from integration.status.contributor_actions import due_date_for
from tests.factories import (
    CommunicationFactory,
    ContractFactory,
    DeliveryDateFactory,
    MessageFactory,
    PriceFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


def test_every_field_has_a_sample_so_previews_work_before_real_data():
    samples = sample_context()
    assert all(samples[f.key] not in (None, "", [], {}) for f in FIELDS)
    for key in ("work.cover_url", "work.blurb", "prices.by_territory", "work.formats",
                "dates.today_plus_14", "action.due_date", "work.assets"):  # fmt: skip
        assert key in REGISTRY


def test_launch_fields_come_from_the_catalogue_mirror(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    hardback = ProductFactory.create(
        work=work, product_form="BB", product_form_description="", availability="20"
    )
    ProductFactory.create(
        work=work,
        product_form="DG",
        product_form_description="E-book",
        availability="10",
        publication_date=datetime.date(2026, 4, 1),
    )
    PriceFactory.create(product=hardback, amount="16.99", currency="GBP", territory="GB")
    PriceFactory.create(product=hardback, amount="24.99", currency="USD", territory="US")
    MarketingText.objects.create(work=work, text_type="03", text="The long description.")
    MarketingText.objects.create(work=work, text_type="02", text="  A short blurb.  ")
    SupportingResource.objects.create(
        work=work, url="https://cdn.test/back.jpg", caption="Back", content_type="image/jpeg"
    )
    SupportingResource.objects.create(
        work=work, url="https://cdn.test/front.jpg", caption="Front cover", is_cover=True
    )
    context = build_context(work=work, territory="GB")
    assert context["work.blurb"] == "A short blurb."  # ONIX 153 "02" before "03"
    assert context["work.cover_url"] == "https://cdn.test/front.jpg"
    assert [a["caption"] for a in context["work.assets"]] == ["Back", "Front cover"]
    assert context["prices.by_territory"] == ["16.99 GBP (GB)", "24.99 USD (US)"]
    assert context["work.formats"] == ["Hardback — Available", "E-book — Not yet available"]
    assert context["product.availability_name"] == "Available"


def test_a_title_with_nothing_mirrored_leaves_the_fields_empty(imprint_a):
    context = build_context(work=WorkFactory.create(imprint=imprint_a))
    assert context["work.blurb"] is None and context["work.cover_url"] is None
    assert context["work.formats"] == [] and context["prices.by_territory"] == []


def test_today_plus_days_counts_from_the_compose_date(imprint_a):
    day = datetime.date(2026, 2, 20)
    context = build_context(work=WorkFactory.create(imprint=imprint_a), today=day)
    assert context["dates.today_plus_7"] == datetime.date(2026, 2, 27)
    assert context["dates.today_plus_14"] == datetime.date(2026, 3, 6)
    assert context["dates.today_plus_30"] == datetime.date(2026, 3, 22)


def test_reply_due_date_agrees_with_the_actions_board(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    contract = ContractFactory.create(work=work)
    DeliveryDateFactory.create(
        contract=contract, deliverable_type="Proofs", due=datetime.date(2026, 12, 15),
        slipped=datetime.date(2027, 1, 8),
    )  # fmt: skip
    DeliveryDateFactory.create(contract=contract, deliverable_type="Manuscript")
    proof = communication_type("proof-approval")
    day = datetime.date(2026, 11, 1)
    context = build_context(work=work, contract=contract, today=day, communication_type=proof)
    assert context["action.due_date"] == datetime.date(2027, 1, 8)  # the slipped proof date

    comm = CommunicationFactory.create(
        imprint=imprint_a, work=work, contract=contract, communication_type=proof
    )
    message = MessageFactory.create(communication=comm)
    board_due, _delivery, _why = due_date_for(
        communication=comm, message=message, dates=list(contract.delivery_dates.all()), today=day
    )
    assert board_due == context["action.due_date"]

    # No matching deliverable: both fall back to the same window from the compose date.
    rights = communication_type("rights-confirmation")
    fallback = build_context(work=work, today=day, communication_type=rights)
    assert fallback["action.due_date"] == day + datetime.timedelta(days=14)


def test_driver_field_names_suggest_the_new_sources():
    assert suggest_context_field("coverImageUrl") == "work.cover_url"
    assert suggest_context_field("blurb") == "work.blurb"
    assert suggest_context_field("formats") == "work.formats"
    assert suggest_context_field("prices") == "prices.by_territory"
    assert suggest_context_field("price") == "prices.territory"
    assert suggest_context_field("confirmByDate") == "action.due_date"
    assert suggest_context_field("reviewDeadline") == "action.due_date"
