"""Trigger rules per territory, and a date change that reverts withdrawing the drafts of the slip
(integration/communications/withdrawals.py)."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from integration.communications import approval
from integration.communications.triggered import triggers_process_change_events
from integration.communications.withdrawals import reverted_events
from integration.models import Audience, ChangeEvent, Communication
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ContractFactory,
    FieldMappingFactory,
    ProductFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)
from tests.scenarios import add_members

S = Communication.Status
SLIP = ChangeEvent.Kind.DELIVERY_DATE_SLIPPED


@pytest.fixture
def delay(imprint_a, django_capture_on_commit_callbacks):
    work = WorkFactory(imprint=imprint_a, title="Tides")
    ProductFactory(work=work, for_sale_territories=["GB", "IE"])
    contract = ContractFactory(work=work, imprint=imprint_a)
    template = CommunicationTemplateFactory(
        imprint=imprint_a, communication_type=communication_type("publication-delay-letter")
    )
    FieldMappingFactory(template=template, driver_field="workTitle", context_field="work.title")
    FieldMappingFactory(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    audience = AudienceFactory(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Team")
    add_members(audience, 1)
    rule = TriggerRuleFactory(
        imprint=imprint_a,
        audience=audience,
        event="delivery_date_slipped",
        communication_type=communication_type("publication-delay-letter"),
        name="Delay letter",
    )
    return {
        "work": work,
        "contract": contract,
        "rule": rule,
        "audience": audience,
        "commit": django_capture_on_commit_callbacks,
    }


def _slip(delay, old, new):
    event = ChangeEvent.objects.create(
        imprint=delay["work"].imprint,
        kind=SLIP,
        work=delay["work"],
        contract=delay["contract"],
        field="delivery:Manuscript",
        old_value=old,
        new_value=new,
    )
    with delay["commit"](execute=True):  # drafts are composed after commit
        created = triggers_process_change_events(change_event_ids=[event.pk])
    return event, created


def test_a_revert_withdraws_the_unapproved_draft_audited(delay, rights_manager):
    _, [draft] = _slip(delay, "2027-01-01", "2027-02-01")
    revert, created = _slip(delay, "2027-02-01", "2027-01-01")
    assert created == []  # a date back where it was is no slip
    comm = Communication.objects.get(pk=draft)
    assert comm.status == S.CANCELLED and "Withdrawn" in comm.void_reason
    row = AuditEvent.objects.get(verb="communication.withdrawn")
    assert row.work_id == delay["work"].pk and row.data["reverted_by_change"] == revert.pk
    # slipping again is a new slip, drafted again
    _, [again] = _slip(delay, "2027-01-01", "2027-02-01")
    assert again != draft


def test_a_chain_of_slips_reverted_at_once(delay):
    _, [first] = _slip(delay, "2027-01-01", "2027-02-01")
    _, [second] = _slip(delay, "2027-02-01", "2027-03-01")
    _, created = _slip(delay, "2027-03-01", "2027-01-01")
    assert created == []
    assert set(
        Communication.objects.filter(pk__in=[first, second]).values_list("status", flat=True)
    ) == {S.CANCELLED}


def test_a_date_brought_forward_without_history_is_not_a_revert(delay):
    event, created = _slip(delay, "2027-03-01", "2027-02-01")
    assert reverted_events(change_event=event) == []
    assert len(created) == 1


def test_an_approved_letter_is_not_withdrawn_but_the_revert_is_logged(
    delay, rights_manager, project_manager, admin_a
):
    _, [draft] = _slip(delay, "2027-01-01", "2027-02-01")
    comm = Communication.objects.get(pk=draft)
    approval.communication_submit(actor=project_manager, communication=comm)
    with delay["commit"](execute=False):  # approved; the worker has not sent it yet
        approval.communication_approve(
            actor=admin_a, communication=Communication.objects.get(pk=draft)
        )
    _slip(delay, "2027-02-01", "2027-01-01")
    assert Communication.objects.get(pk=draft).status != S.CANCELLED
    assert AuditEvent.objects.filter(verb="communication.revert_after_approval").exists()


def test_a_territory_rule_fires_only_for_titles_for_sale_there(delay, imprint_a):
    delay["rule"].territory = "US"
    delay["rule"].save()
    _, created = _slip(delay, "2027-01-01", "2027-02-01")
    assert created == []  # Tides is for sale in GB and IE only
    delay["rule"].territory = "ie"
    delay["rule"].save()
    _, created = _slip(delay, "2027-02-01", "2027-04-01")
    assert len(created) == 1
