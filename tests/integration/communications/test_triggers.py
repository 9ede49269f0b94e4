"""Trigger rules create drafts from change events and due dates, once; auto-approvable types
are submitted and approved by the system unless blocking findings stop them."""

from __future__ import annotations

import datetime

import pytest

from accounts.models import AuditEvent
from integration.communications.triggered import triggers_process_change_events, triggers_run_due
from integration.models import (
    Approval,
    Audience,
    ChangeEvent,
    Communication,
    ComplianceRule,
    ImprintTypeSetting,
    TriggerRule,
)
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ContractFactory,
    DeliveryDateFactory,
    FieldMappingFactory,
    TriggerRuleFactory,
    communication_type,
)
from tests.scenarios import add_members

S = Communication.Status


@pytest.fixture
def editorial(imprint_a, rights_setup):
    template = CommunicationTemplateFactory(
        imprint=imprint_a, communication_type=communication_type("approval-notice")
    )
    FieldMappingFactory(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    FieldMappingFactory(template=template, driver_field="workTitle", context_field="work.title")
    audience = AudienceFactory(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Team")
    add_members(audience, 2)
    rule = TriggerRuleFactory.create(
        imprint=imprint_a, audience=audience, match_value="Approved", name="Stage approved"
    )
    return rule


def _event(imprint, work, new="Approved"):
    return ChangeEvent.objects.create(
        imprint=imprint, kind=ChangeEvent.Kind.PROJECT_STAGE, work=work, new_value=new
    )


def test_change_event_creates_one_draft(
    editorial, rights_setup, imprint_a, django_capture_on_commit_callbacks
):
    ev = _event(imprint_a, rights_setup.work)
    other = _event(imprint_a, rights_setup.work, new="Draft")
    with django_capture_on_commit_callbacks(execute=True):
        created = triggers_process_change_events(change_event_ids=[ev.pk, other.pk])
    assert len(created) == 1
    comm = Communication.objects.get(pk=created[0])
    assert comm.status == S.DRAFT and comm.recipient_count == 2
    assert comm.created_by is None and comm.trigger_rule == editorial and comm.change_event == ev
    assert AuditEvent.objects.filter(
        verb="communication.created", actor_label=f"trigger:{editorial.pk}", work_id=comm.work_id
    ).exists()
    assert ChangeEvent.objects.filter(triggers_evaluated=True).count() == 2
    # again: nothing new (evaluated events are skipped; the key is unique anyway)
    ChangeEvent.objects.filter(pk=ev.pk).update(triggers_evaluated=False)
    assert triggers_process_change_events(change_event_ids=[ev.pk]) == []
    assert Communication.objects.count() == 1


def test_auto_approvable_type_is_approved_by_the_system(
    editorial, rights_setup, imprint_a, exstream, django_capture_on_commit_callbacks
):
    ImprintTypeSetting.objects.create(
        imprint=imprint_a, communication_type=editorial.communication_type, auto_approvable=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = triggers_process_change_events(
            change_event_ids=[_event(imprint_a, rights_setup.work).pk]
        )
    comm = Communication.objects.get(pk=created[0])
    assert comm.auto_approved and comm.approved_by is None
    assert comm.status == S.SENT
    assert comm.approvals.get().decision == Approval.Decision.APPROVED
    assert AuditEvent.objects.filter(verb="communication.auto_approved").exists()
    assert len(exstream.submissions) == 1


def test_blocking_findings_stop_auto_approval(
    editorial, rights_setup, imprint_a, exstream, django_capture_on_commit_callbacks
):
    ImprintTypeSetting.objects.create(
        imprint=imprint_a, communication_type=editorial.communication_type, auto_approvable=True
    )
    ComplianceRuleFactory(imprint=imprint_a, kind=ComplianceRule.Kind.CONSENT_REQUIRED)
    editorial.audience.members.update(consent=False)
    with django_capture_on_commit_callbacks(execute=True):
        created = triggers_process_change_events(
            change_event_ids=[_event(imprint_a, rights_setup.work).pk]
        )
    comm = Communication.objects.get(pk=created[0])
    assert comm.status == S.DRAFT and not comm.auto_approved
    assert AuditEvent.objects.filter(verb="communication.auto_approval_withheld").exists()
    assert exstream.submissions == []


def test_due_dates_create_one_draft_per_rule_subject_and_date(
    editorial, rights_setup, imprint_a, django_capture_on_commit_callbacks
):
    contract = ContractFactory(work=rights_setup.work, imprint=imprint_a)
    DeliveryDateFactory(contract=contract, due=datetime.date(2026, 12, 15))
    rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        audience=editorial.audience,
        event=TriggerRule.Event.DELIVERY_DUE,
        days_before=14,
        name="Proofs due",
    )
    today = datetime.date(2026, 12, 1)
    with django_capture_on_commit_callbacks(execute=True):
        first = triggers_run_due(today=today)
        again = triggers_run_due(today=today)
    assert len(first) == 1 and again == []
    comm = Communication.objects.get()
    assert comm.trigger_rule == rule and comm.contract == contract
    assert comm.trigger_key.startswith(f"due:{rule.pk}:deliverydate:")
    assert triggers_run_due(today=today + datetime.timedelta(days=1)) == []


def test_trigger_without_template_is_audited_not_crashing(imprint_a, rights_setup):
    audience = AudienceFactory(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Nobody")
    rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        audience=audience,
        communication_type=communication_type("publication-delay-letter"),
    )
    assert (
        triggers_process_change_events(change_event_ids=[_event(imprint_a, rights_setup.work).pk])
        == []
    )
    assert AuditEvent.objects.filter(verb="trigger.draft_refused", target_id=str(rule.pk)).exists()
