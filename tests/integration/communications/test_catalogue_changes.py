"""A real sync from the sandbox Consonance: its change events draft trigger communications and
void the approval of what awaits sending about the changed title."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from accounts.models import Role
from integration.communications import approval, create
from integration.models import Audience, ChangeEvent, Communication, TriggerRule, Work
from sandbox.consonance import store
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    FieldMappingFactory,
    TriggerRuleFactory,
    communication_type,
    member,
)
from tests.scenarios import add_members

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status


def test_sync_changes_void_approval_and_fire_triggers(sandbox, run_sync, exstream):
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )
    run_sync()
    assert not ChangeEvent.objects.filter(triggers_evaluated=False).exists()
    work = Work.objects.get(consonance_id=10001)
    imprint = work.imprint
    drafter = member(Role.RIGHTS_MANAGER, imprint, "rm@sync.test")
    audience = AudienceFactory.create(imprint=imprint, kind=Audience.Kind.UPLOADED, name="Agents")
    add_members(audience, 2)
    letter = CommunicationTemplateFactory.create(
        imprint=imprint, communication_type=communication_type("rights-confirmation")
    )
    FieldMappingFactory.create(
        template=letter, driver_field="workTitle", context_field="work.title"
    )
    FieldMappingFactory.create(
        template=letter, driver_field="recipientName", context_field="recipient.name"
    )
    FieldMappingFactory.create(
        template=letter, driver_field="isbn", context_field="work.project_stage"
    )
    notice = CommunicationTemplateFactory.create(
        imprint=imprint, communication_type=communication_type("approval-notice")
    )
    FieldMappingFactory.create(
        template=notice, driver_field="workTitle", context_field="work.title"
    )
    TriggerRuleFactory.create(
        imprint=imprint,
        audience=audience,
        event=TriggerRule.Event.PROJECT_STAGE,
        match_value="Production",
        name="Into production",
    )
    comm = create.communication_create(
        actor=drafter,
        imprint=imprint,
        communication_type=communication_type("rights-confirmation"),
        audience=audience,
        work=work,
    )
    comm = approval.communication_submit(
        actor=drafter, communication=Communication.objects.get(pk=comm.pk)
    )
    assert comm.status == S.SUBMITTED

    # Consonance: the title moves into production (the letter quotes the stage)
    assert work.project_stage != "Production"
    store.change_stage(10001, stage="Production")
    run_sync()

    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT
    assert work.title in comm.void_reason and "changed in Consonance" in comm.void_reason
    drafted = Communication.objects.exclude(pk=comm.pk).get()
    assert drafted.trigger_rule is not None and drafted.work == work
    assert drafted.change_event.kind == "project_stage"
    assert not ChangeEvent.objects.filter(triggers_evaluated=False).exists()
