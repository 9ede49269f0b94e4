"""Communications from a royalty import (per-payee lines), a contract, and an Exstream
segment; the title page lists a title's communications."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from integration.communications import create
from integration.models import Audience, Communication, RoyaltyImport, RoyaltyLine
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ContactFactory,
    ContractFactory,
    ContributionFactory,
    FieldMappingFactory,
    WorkFactory,
    communication_type,
)


def _line(imp, payee, contract, work, royalty):
    return RoyaltyLine(
        royalty_import=imp,
        imprint=imp.imprint,
        payee=payee,
        payee_consonance_id=payee.consonance_id,
        contract=contract,
        contract_consonance_id=contract.consonance_id,
        work=work,
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 6, 30),
        isbn13="9780000000001",
        channel="Home",
        territory="GB",
        units=100,
        net_receipts=Decimal("1000"),
        rate=Decimal("0.1"),
        royalty=Decimal(royalty),
        balance=Decimal(royalty),
        currency="GBP",
    )


def statement_setup(imprint, *, total_field):
    """A royalty-statement template mapping the recipient's name, and the royalty total as money
    to ``total_field``; returns an *Authors* audience (the title's contributors)."""
    template = CommunicationTemplateFactory(
        imprint=imprint, communication_type=communication_type("royalty-statement")
    )
    FieldMappingFactory(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    FieldMappingFactory(
        template=template,
        driver_field=total_field,
        context_field="royalty.total",
        transforms=[{"op": "money"}],
    )
    return AudienceFactory(imprint=imprint, kind=Audience.Kind.CONTRIBUTORS, name="Authors")


def test_royalty_statements_carry_each_payees_lines(
    imprint_a, royalties, django_capture_on_commit_callbacks
):
    work = WorkFactory(imprint=imprint_a)
    jane, john = ContactFactory(name="Jane Doe"), ContactFactory(name="John Roe")
    ContributionFactory(work=work, contact=jane, role="A01")
    ContributionFactory(work=work, contact=john, role="A01", sequence=2)
    contract = ContractFactory(work=work, imprint=imprint_a)
    imp = RoyaltyImport.objects.create(imprint=imprint_a, filename="h1.csv")
    RoyaltyLine.objects.bulk_create(
        [_line(imp, jane, contract, work, "10.00"), _line(imp, jane, contract, work, "5.50"),
         _line(imp, john, contract, work, "7.25")]
    )  # fmt: skip
    audience = statement_setup(imprint_a, total_field="workTitle")
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=royalties, imprint=imprint_a,
            communication_type=communication_type("royalty-statement"),
            audience=audience, work=work, royalty_import=imp,
        )  # fmt: skip
    totals = {
        m.recipient_name: m.driver_data["workTitle"]
        for m in Communication.objects.get(pk=comm.pk).messages.all()
    }
    assert totals == {"Jane Doe": "£15.50", "John Roe": "£7.25"}


def test_segment_audience_is_one_message_resolved_by_exstream(
    rights_setup, imprint_a, rights_manager, django_capture_on_commit_callbacks
):
    segment = AudienceFactory(
        imprint=imprint_a, kind=Audience.Kind.SEGMENT, name="Club", segment_id="SEG-1",
        segment_name="Book club members",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager, imprint=imprint_a,
            communication_type=communication_type("rights-confirmation"),
            audience=segment, work=rights_setup.work,
        )  # fmt: skip
    message = Communication.objects.get(pk=comm.pk).messages.get()
    assert message.recipient_key == "segment:SEG-1"
    assert message.recipient_name == "Book club members"


def test_contract_sets_the_title(
    rights_setup, imprint_a, rights_manager, imprint_b, django_capture_on_commit_callbacks
):
    contract = ContractFactory(work=rights_setup.work, imprint=imprint_a)
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager, imprint=imprint_a,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience, contract=contract,
        )  # fmt: skip
    assert comm.work == rights_setup.work
    other = ContractFactory(work=WorkFactory(imprint=imprint_b), imprint=imprint_b)
    with pytest.raises(Exception, match="another imprint"):
        create.communication_create(
            actor=rights_manager, imprint=imprint_a,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience, contract=other,
        )  # fmt: skip


def test_title_page_lists_its_communications(
    rights_setup, imprint_a, rights_manager, viewer, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager, imprint=imprint_a,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience, work=rights_setup.work,
        )  # fmt: skip
    url = reverse("titles:detail", args=[rights_setup.work.pk])
    page = login(rights_manager).get(url).content.decode()
    assert comm.name in page and "New communication about this title" in page
    page = login(viewer).get(url).content.decode()
    assert comm.name in page and "New communication about this title" not in page
