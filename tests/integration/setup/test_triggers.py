"""Trigger rules matched against real ChangeEvent rows and due dates."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from integration.models import ChangeEvent, TriggerRule
from integration.setup.triggers import trigger_rules_due, trigger_rules_matching
from tests.factories import (
    AudienceFactory,
    ContractFactory,
    DeliveryDateFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)


def event(imprint, kind, new=None, old=None, **extra):
    return ChangeEvent.objects.create(
        imprint=imprint, kind=kind, new_value=new, old_value=old, **extra
    )


def test_project_stage_change_matches_by_new_stage(imprint_a, imprint_b):
    work = WorkFactory.create(imprint=imprint_a)
    approved = TriggerRuleFactory.create(imprint=imprint_a, name="Approved", match_value="Approved")
    any_stage = TriggerRuleFactory.create(imprint=imprint_a, name="Any stage")
    TriggerRuleFactory.create(imprint=imprint_a, name="Off", active=False)
    TriggerRuleFactory.create(imprint=imprint_b, name="Other imprint")
    TriggerRuleFactory.create(imprint=imprint_a, name="Price", event=TriggerRule.Event.PRICE)
    ev = event(imprint_a, ChangeEvent.Kind.PROJECT_STAGE, new="approved", old="Draft", work=work)
    assert {r.name for r in trigger_rules_matching(change_event=ev)} == {"Approved", "Any stage"}
    ev2 = event(imprint_a, ChangeEvent.Kind.PROJECT_STAGE, new="In production", work=work)
    assert trigger_rules_matching(change_event=ev2) == [any_stage]
    assert approved not in trigger_rules_matching(change_event=ev2)


@pytest.mark.parametrize(
    "kind",
    [
        ChangeEvent.Kind.PUBLICATION_DATE,
        ChangeEvent.Kind.PRICE,
        ChangeEvent.Kind.AVAILABILITY,
        ChangeEvent.Kind.DELIVERY_DATE_SLIPPED,
        ChangeEvent.Kind.ROYALTIES_IMPORTED,
    ],
)
def test_each_change_kind_fires_its_rules_only(imprint_a, kind):
    rule = TriggerRuleFactory.create(imprint=imprint_a, event=kind)
    TriggerRuleFactory.create(imprint=imprint_a, event=TriggerRule.Event.METADATA)
    ev = event(imprint_a, kind, new={"value": "x"})
    assert trigger_rules_matching(change_event=ev) == [rule]
    assert trigger_rules_matching(change_event=event(imprint_a, ChangeEvent.Kind.CREATED)) == []


def test_delivery_due_in_n_days_uses_slipped_date_and_skips_delivered(imprint_a, imprint_b):
    work = WorkFactory.create(imprint=imprint_a)
    contract = ContractFactory.create(work=work)
    rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Proofs soon",
        event=TriggerRule.Event.DELIVERY_DUE,
        days_before=14,
        deliverable_type="proofs",
        communication_type=communication_type("proof-approval"),
    )
    due = TODAY + datetime.timedelta(days=14)
    on_time = DeliveryDateFactory.create(contract=contract, deliverable_type="Proofs", due=due)
    DeliveryDateFactory.create(
        contract=contract, deliverable_type="Proofs", due=due, delivered_on=TODAY
    )
    DeliveryDateFactory.create(contract=contract, deliverable_type="Manuscript", due=due)
    slipped_away = DeliveryDateFactory.create(
        contract=contract, deliverable_type="Proofs", due=due, slipped=due + datetime.timedelta(30)
    )
    slipped_in = DeliveryDateFactory.create(
        contract=contract, deliverable_type="Proofs", due=TODAY, slipped=due
    )
    DeliveryDateFactory.create(
        contract=ContractFactory.create(work=WorkFactory.create(imprint=imprint_b)),
        deliverable_type="Proofs",
        due=due,
    )
    found = trigger_rules_due(today=TODAY)
    assert found == [(rule, on_time), (rule, slipped_in)]
    assert (rule, slipped_away) not in found


def test_contract_review_and_expiry_in_n_days(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    review = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Review",
        days_before=30,
        event=TriggerRule.Event.CONTRACT_REVIEW,
        communication_type=communication_type("licence-renewal"),
    )
    expiry = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Expiry",
        days_before=0,
        event=TriggerRule.Event.CONTRACT_EXPIRY,
        communication_type=communication_type("licence-renewal"),
    )
    reviewed = ContractFactory.create(work=work, review_date=TODAY + datetime.timedelta(days=30))
    ContractFactory.create(
        work=work, review_date=TODAY + datetime.timedelta(days=30), terminated_date=TODAY
    )
    expiring = ContractFactory.create(
        work=work, signed_date=datetime.date(2021, 6, 1), term_months=60
    )
    ContractFactory.create(work=work, signed_date=datetime.date(2021, 6, 2), term_months=60)
    assert set(trigger_rules_due(today=TODAY)) == {(review, reviewed), (expiry, expiring)}


def test_trigger_validation(imprint_a, imprint_b):
    audience = AudienceFactory.create(imprint=imprint_a)
    ctype = communication_type("proof-approval")
    with pytest.raises(ValidationError, match="how many days"):
        TriggerRule(
            imprint=imprint_a,
            name="x",
            event="delivery_due",
            audience=audience,
            communication_type=ctype,
        ).full_clean()
    with pytest.raises(ValidationError) as err:
        TriggerRule(
            imprint=imprint_a,
            name="y",
            event="price",
            days_before=3,
            deliverable_type="Proofs",
            audience=audience,
            communication_type=ctype,
        ).full_clean()
    assert set(err.value.message_dict) == {"days_before", "deliverable_type"}
    with pytest.raises(ValidationError, match="another imprint"):
        TriggerRule(
            imprint=imprint_b, name="z", event="price", audience=audience, communication_type=ctype
        ).full_clean()
