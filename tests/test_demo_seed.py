"""The demo that `make run` seeds carries every persona's journey: every seeded template is
complete, the launch audiences have consenting recipients, and the project manager's board
has outstanding, overdue and answered actions, from which a reminder composes unblocked.

The demo is built as `make run` builds it (``tests.scenarios.build_demo``: the seeds, the
Exstream and Consonance syncs over real HTTP, seed_setup, the outcomes and the actions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.models import Imprint, User
from integration.communications.create import communication_create
from integration.communications.reminders import contributor_action_remind
from integration.delivery.gateway import ExstreamGateway
from integration.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    CommunicationType,
    ContributorAction,
    FieldMapping,
    RoyaltyImport,
    RoyaltyLine,
)
from integration.setup.audiences import audience_count, audience_recipients
from integration.setup.mappings import mapping_problems
from sandbox.models import ExstreamSandboxCommunication
from tests.scenarios import build_demo

pytestmark = pytest.mark.django_db(transaction=True)

A = ContributorAction.State


@pytest.fixture
def demo(sandbox, settings) -> Iterator[str]:
    cache.clear()
    ExstreamGateway._clients.clear()
    settings.CONSONANCE_PREFETCH = False  # the live server shares the test's SQLite connection
    out = build_demo()
    yield out
    cache.clear()
    ExstreamGateway._clients.clear()


def test_demo_carries_every_journey(demo):
    # Complete mappings: every seeded template of every demo imprint, after the real syncs.
    templates = list(CommunicationTemplate.objects.select_related("exstream_communication"))
    assert len(templates) >= 24 * 3
    incomplete = {f"{t.imprint_id} {t.name}": mapping_problems(t) for t in templates}
    assert {k: v for k, v in incomplete.items() if v} == {}
    permission = templates[[t.name for t in templates].index("Permission letter")]
    assert permission.mappings.get(driver_field="materialDescription").context_field == (
        "work.citation"
    )
    assert "materialDescription" in permission.required_driver_fields
    # Optional only where a recipient may genuinely lack the value; everything else required.
    for template in templates:
        mapped = set(template.mappings.values_list("driver_field", flat=True))
        sample = {f["name"] for f in template.exstream_communication.driver_fields}
        unmapped = sample - mapped - {template.customer_key_path}
        assert unmapped <= set(template.optional_driver_fields), template.name
    # ... and what a template leaves optional, its design (the sandbox Exstream's) accepts
    # blank: a recipient without a proof link or an order reference is sent, not refused.
    required_by_design = {
        c.name: {f["name"] for f in c.driver_fields if f.get("required", True)}
        for c in ExstreamSandboxCommunication.objects.all()
    }
    for template in templates:
        design = template.exstream_communication.name
        clash = set(template.optional_driver_fields) & required_by_design[design]
        assert not clash, f"{template.name}: optional here, required by {design}: {clash}"

    # Audiences with people, each with recorded consent.
    harbour = Imprint.objects.get(code="harbour")
    for name in ("Retailers and wholesalers", "Libraries", "Agents", "Book club members"):
        audience = Audience.objects.get(imprint=harbour, name=name)
        assert (audience_count(audience=audience) or 0) >= 5, name
        assert all(r.consent and r.email for r in audience_recipients(audience=audience)), name
    assert not Audience.objects.filter(kind=Audience.Kind.SEGMENT).exists()
    authors = Audience.objects.get(imprint=harbour, name="Authors of the title")
    assert all(r.consent is True for r in audience_recipients(audience=authors))
    marketing = User.objects.get(email="marketing@demo.colophon.test")
    to_authors = communication_create(
        actor=marketing,
        imprint=harbour,
        communication_type=CommunicationType.objects.get(code="launch-email"),
        audience=authors,
        work=harbour.works.order_by("pk").first(),
    )
    to_authors = Communication.objects.get(pk=to_authors.pk)
    assert to_authors.recipient_count >= 1 and to_authors.blocking_count == 0

    # The actions board: outstanding, overdue and answered, from real sends.
    actions = list(ContributorAction.objects.filter(imprint=harbour))
    states = {a.display_state() for a in actions}
    assert {A.AWAITING, A.OVERDUE, A.RESPONDED} <= states, demo
    assert all(a.communication.status == Communication.Status.SENT for a in actions)
    assert all(a.communication.approved_by_id != a.communication.submitted_by_id for a in actions)

    # A royalty period to send statements from, and statements compose for its payees.
    period = RoyaltyImport.objects.get(imprint=harbour, imported=True)
    line = RoyaltyLine.objects.filter(royalty_import=period).select_related("contract").first()
    assert line is not None
    # the seeded trigger drafted a statement per title, carrying the period it announces
    drafted = Communication.objects.filter(
        imprint=harbour, communication_type__code="royalty-statement", trigger_rule__isnull=False
    )
    assert drafted.exists()
    assert {(c.royalty_import_id, c.blocking_count) for c in drafted} == {(period.pk, 0)}
    royalties = User.objects.get(email="royalties@demo.colophon.test")
    statement = communication_create(
        actor=royalties,
        imprint=harbour,
        communication_type=CommunicationType.objects.get(code="royalty-statement"),
        audience=Audience.objects.get(imprint=harbour, name="Authors of the title"),
        work=line.contract.work,
        royalty_import=period,
    )
    statement = Communication.objects.get(pk=statement.pk)
    assert statement.recipient_count >= 1 and statement.blocking_count == 0
    assert statement.messages.first().driver_data["statementLines"]

    # A reminder drafted from the board composes with nothing blocking it.
    pm = User.objects.get(email="pm@demo.colophon.test")
    overdue = next(a for a in actions if a.display_state() == A.OVERDUE)
    reminder = contributor_action_remind(actor=pm, action=overdue)
    reminder = Communication.objects.get(pk=reminder.pk)
    assert reminder.status == Communication.Status.DRAFT
    assert reminder.recipient_count == 1 and reminder.blocking_count == 0
    details = reminder.messages.get().driver_data["requestDetails"]
    assert details.startswith("A reminder:")


def test_seeds_are_idempotent_and_repair_a_broken_mapping(demo):
    harbour = Imprint.objects.get(code="harbour")
    template = CommunicationTemplate.objects.get(imprint=harbour, name="Permission letter")
    FieldMapping.objects.filter(template=template, driver_field="materialDescription").delete()
    assert mapping_problems(template)
    members = Audience.objects.get(imprint=harbour, name="Book club members").members.count()
    actions = ContributorAction.objects.count()
    call_command("seed_setup", stdout=None)
    call_command("seed_demo_actions", stdout=None)
    assert mapping_problems(template) == []
    assert Audience.objects.get(imprint=harbour, name="Book club members").members.count() == (
        members
    )
    assert ContributorAction.objects.count() == actions
