"""The product rules flows 1, 5 and 7 rely on: offer validity, consent on marketing lists,
partner notices per title and period, launch choices and follow-ups that move."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from integration.communications import approval, create
from integration.communications.launch import follow_ups_reschedule, launch_choices
from integration.communications.offers import offer_problems, offer_refusal
from integration.communications.partner_notices import partner_notices_draft
from integration.communications.triggered import triggers_run_due
from integration.models import (
    Audience,
    AudienceMember,
    ChangeEvent,
    Communication,
    Contact,
    TriggerRule,
)
from integration.setup.triggers import trigger_rules_due
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ContactFactory,
    FieldMappingFactory,
    ProductFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

S = Communication.Status
TODAY = datetime.date(2026, 11, 28)


def test_offer_dates_are_checked_and_an_expired_offer_is_refused():
    assert offer_refusal({"valid_until": "2026-11-28"}, today=TODAY) is None
    assert offer_refusal({}, today=TODAY) is None
    refusal = offer_refusal({"valid_until": "2026-11-27"}, today=TODAY)
    assert refusal and "expired on 2026-11-27" in refusal
    assert offer_problems({"valid_until": "next week"}) == [
        "The offer's valid_until 'next week' is not a date; write it as YYYY-MM-DD."
    ]
    assert offer_problems({"valid_from": "2026-12-01", "valid_until": "2026-11-01"})


@pytest.fixture
def club(imprint_a):
    """A marketing template over an uploaded list: two consenting members, one not."""
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("member-renewal-notice")
    )
    FieldMappingFactory.create(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    # (the renewal letter shows the offer code as its heading)
    FieldMappingFactory.create(
        template=template, driver_field="workTitle", context_field="offer.code"
    )
    rights = CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("rights-confirmation")
    )
    FieldMappingFactory.create(
        template=rights, driver_field="recipientName", context_field="recipient.name"
    )
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Club")
    AudienceMember.objects.bulk_create(
        [
            AudienceMember(audience=audience, row_number=i, name=f"M{i}", consent=i != 2)
            for i in (1, 2, 3)
        ]
    )
    return audience


def _draft(audience, user, code="member-renewal-notice", **kwargs):
    return create.communication_create(
        actor=user,
        imprint=audience.imprint,
        communication_type=communication_type(code),
        audience=audience,
        **kwargs,
    )


def test_marketing_leaves_out_members_who_did_not_consent(
    club, marketing, rights_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comm = _draft(club, marketing, offer={"code": "X", "valid_until": "2099-01-01"})
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.recipient_count == 2
    assert sorted(comm.messages.values_list("recipient_name", flat=True)) == ["M1", "M3"]
    # not a marketing communication: the list's consent column does not filter it
    with django_capture_on_commit_callbacks(execute=True):
        rights = _draft(club, rights_manager, code="rights-confirmation")
    assert Communication.objects.get(pk=rights.pk).recipient_count == 3


def test_an_expired_offer_is_refused_at_draft_submit_and_approval(
    club, marketing, admin_a, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        _draft(club, marketing, offer={"valid_until": str(today - datetime.timedelta(days=1))})
    assert "offer" in refused.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        comm = _draft(club, marketing, offer={"code": "X", "valid_until": str(today)})
    comm = Communication.objects.get(pk=comm.pk)
    with (
        time_machine.travel(today + datetime.timedelta(days=1)),
        pytest.raises(ValidationError, match="offer expired"),
    ):
        approval.communication_submit(actor=marketing, communication=comm)
    with django_capture_on_commit_callbacks(execute=True):
        comm = approval.communication_submit(actor=marketing, communication=comm)
    with time_machine.travel(today + datetime.timedelta(days=1)):
        # who comes first: the drafter is refused as the drafter, a colleague for the offer
        with pytest.raises(PermissionDenied):
            approval.communication_approve(actor=marketing, communication=comm)
        with pytest.raises(ValidationError, match="offer expired"):
            approval.communication_approve(actor=admin_a, communication=comm)
    assert Communication.objects.get(pk=comm.pk).status == S.SUBMITTED


@pytest.fixture
def partners(imprint_a):
    ContactFactory.create(kind=Contact.Kind.ORGANISATION, organisation_type="retailer", name="Shop")
    ContactFactory.create(
        kind=Contact.Kind.ORGANISATION, organisation_type="library", name="Library"
    )
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("metadata-change-notice")
    )
    FieldMappingFactory.create(
        template=template,
        driver_field="changedFields",
        context_field="changes.period",
        transforms=[{"op": "join", "separator": "; "}],
    )
    return AudienceFactory.create(
        imprint=imprint_a,
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=["retailer", "library"],
        name="Partners",
    )


def _event(work, product, kind, field, old, new, when):
    return ChangeEvent.objects.create(
        imprint=work.imprint,
        work=work,
        product=product,
        kind=kind,
        field=field,
        old_value=old,
        new_value=new,
        created_at=timezone.make_aware(datetime.datetime.combine(when, datetime.time(9))),
        triggers_evaluated=True,
    )


def test_partner_notices_one_per_title_listing_the_period_changes(
    imprint_a, partners, marketing, viewer, django_capture_on_commit_callbacks
):
    work = WorkFactory.create(imprint=imprint_a, title="Tides")
    product = ProductFactory.create(work=work, isbn13="9780000000017")
    other = WorkFactory.create(imprint=imprint_a, title="Undone")
    other_product = ProductFactory.create(work=other)
    day = TODAY - datetime.timedelta(days=2)
    _event(work, product, "price", "GBP 02 GB", "16.99", "17.99", day)
    _event(work, product, "price", "GBP 02 GB", "17.99", "18.99", day)
    _event(work, product, "publication_date", "publication_date", "2027-01-01", "2027-02-01", day)
    _event(work, product, "price", "USD 01 US", "20.00", "21.00", TODAY - datetime.timedelta(30))
    # a change undone within the period is no change
    _event(other, other_product, "price", "GBP 02 GB", "9.99", "8.99", day)
    _event(other, other_product, "price", "GBP 02 GB", "8.99", "9.99", day)
    period = {"period_start": TODAY - datetime.timedelta(days=6), "period_end": TODAY}
    with pytest.raises(PermissionDenied):
        partner_notices_draft(actor=viewer, imprint=imprint_a, audience=partners, **period)
    with pytest.raises(ValidationError):
        partner_notices_draft(
            actor=marketing,
            imprint=imprint_a,
            audience=partners,
            period_start=TODAY,
            period_end=TODAY - datetime.timedelta(days=1),
        )
    with django_capture_on_commit_callbacks(execute=True):
        result = partner_notices_draft(
            actor=marketing, imprint=imprint_a, audience=partners, **period
        )
    assert [c.work for c in result.created] == [work] and result.unchanged_titles == 1
    notice = Communication.objects.get(pk=result.created[0].pk)
    assert notice.recipient_count == 2
    assert notice.messages.first().driver_data["changedFields"] == (
        "Price GBP 02 GB (9780000000017): 16.99 → 18.99; "
        "Publication date (9780000000017): 2027-01-01 → 2027-02-01"
    )
    again = partner_notices_draft(actor=marketing, imprint=imprint_a, audience=partners, **period)
    assert again.created == [] and [c.pk for c in again.existing] == [notice.pk]


def test_launch_choices_by_availability_and_territory(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    hardback = ProductFactory.create(
        work=work, product_form="BB", product_form_description="Hardback",
        publishing_status="02", availability="10", for_sale_territories=["GB", "US"],
    )  # fmt: skip
    ebook = ProductFactory.create(
        work=work, product_form="DG", product_form_description="E-book",
        publishing_status="02", availability="", for_sale_territories=[],
    )  # fmt: skip
    uk_only = ProductFactory.create(
        work=work, product_form="BC", product_form_description="Paperback",
        publishing_status="04", for_sale_territories=["GB"], not_for_sale_territories=["US"],
    )  # fmt: skip
    gone = ProductFactory.create(
        work=work, product_form="BC", product_form_description="Old paperback",
        publishing_status="07", availability="40", for_sale_territories=["US"],
    )  # fmt: skip
    plan = launch_choices(work=work, territory_code="us")
    chosen = {c.product.pk: c for c in plan.choices}
    assert chosen[hardback.pk].type_code == "retailer-notice"
    assert chosen[ebook.pk].type_code == "retailer-notice"
    assert chosen[uk_only.pk].type_code is None
    assert chosen[uk_only.pk].reason == "Paperback is not for sale in US."
    assert chosen[gone.pk].type_code is None and "not available" in chosen[gone.pk].reason
    assert plan.advance_reader_product == ebook  # a digital reading copy first
    assert launch_choices(work=work, territory_code="GB").choices[2].type_code == (
        "retailer-notice"
    )


def test_post_publication_rules_fall_due_after_publication_and_move_with_the_date(
    imprint_a, marketing, django_capture_on_commit_callbacks
):
    work = WorkFactory.create(imprint=imprint_a, title="Harbour")
    product = ProductFactory.create(work=work, publication_date=TODAY)
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, communication_type=communication_type("post-launch-follow-up")
    )
    FieldMappingFactory.create(
        template=template, driver_field="workTitle", context_field="work.title"
    )
    readers = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Readers")
    AudienceMember.objects.create(audience=readers, row_number=1, name="R", consent=True)
    rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Follow-up",
        event=TriggerRule.Event.POST_PUBLICATION,
        days_before=14,
        communication_type=communication_type("post-launch-follow-up"),
        audience=readers,
    )
    rule.full_clean()
    rule.days_before = None
    with pytest.raises(ValidationError):
        rule.full_clean()
    rule.days_before = 14
    assert trigger_rules_due(today=TODAY + datetime.timedelta(days=13)) == []
    assert trigger_rules_due(today=TODAY + datetime.timedelta(days=14)) == [(rule, product)]
    with django_capture_on_commit_callbacks(execute=True):
        created = triggers_run_due(today=TODAY + datetime.timedelta(days=14))
    follow_up = Communication.objects.get(pk__in=created)
    assert follow_up.product == product and follow_up.status == S.DRAFT
    # the date moves after the follow-up was drafted: it is withdrawn and rescheduled
    new_date = TODAY + datetime.timedelta(days=30)
    product.publication_date = new_date
    product.save()
    event = _event(work, product, "publication_date", "publication_date", str(TODAY),
                   str(new_date), TODAY)  # fmt: skip
    assert follow_ups_reschedule(change_event=event) == 1
    assert Communication.objects.get(pk=follow_up.pk).status == S.CANCELLED
    note = AuditEvent.objects.get(verb="launch.follow_up_rescheduled")
    assert note.work_id == work.pk
    assert note.data["follow_up"] == [
        str(TODAY + datetime.timedelta(days=14)),
        str(new_date + datetime.timedelta(days=14)),
    ]
    assert note.data["cancelled"] == [follow_up.pk]
    # a change event of another kind moves nothing
    price = _event(work, product, "price", "GBP", "1", "2", TODAY)
    assert follow_ups_reschedule(change_event=price) == 0
    assert Decimal("1") == Decimal("1.0")


def test_the_partner_notices_screen(imprint_a, partners, marketing, viewer, login):
    work = WorkFactory.create(imprint=imprint_a, title="Tides")
    product = ProductFactory.create(work=work)
    _event(work, product, "price", "GBP 02 GB", "16.99", "18.99", timezone.localdate())
    url = "/communications/partner-notices/"
    assert login(viewer).get(url).status_code == 403
    page = login(marketing).get(url).content.decode()
    assert "Draft the notices" in page and "Partners" in page
    today = timezone.localdate()
    form = {"imprint": imprint_a.pk, "audience": partners.pk}
    backwards = {**form, "period_start": today, "period_end": today - datetime.timedelta(1)}
    page = login(marketing).post(url, backwards).content.decode()
    assert "The period ends before it starts." in page
    assert not Communication.objects.exists()
    response = login(marketing).post(url, {**form, "period_start": today, "period_end": today})
    assert response.status_code == 302
    assert Communication.objects.get().work == work
