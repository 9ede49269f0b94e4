"""After `make run` (``tests.scenarios.build_demo``: the seeds, the syncs over real HTTP, the
sandbox changes and ``seed_demo_flows``), with no clicks, each of the eight flows has a finished
example on a title's timeline: drafted, approved by someone who did not draft, edit or submit it,
sent to the sandbox Exstream and back with a status beyond submitted. Rebuilding changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from accounts.models import Imprint, User
from integration.delivery.gateway import ExstreamGateway
from integration.models import (
    Communication,
    ContributorAction,
    CustomerServiceOutcome,
    Message,
    WritebackRecord,
    WritebackRule,
)
from integration.selectors.timeline import TimelineEntry, title_timeline
from sandbox.models import SandboxContract
from tests.scenarios import DEMO_COMMANDS, build_demo

pytestmark = pytest.mark.django_db(transaction=True)

S = Communication.Status
A = ContributorAction.State
BACK = {"delivered", "opened", "responded", "not_delivered", "bounced", "returned"}
REACHED = {"delivered", "opened", "responded"}
# flow -> the communication types that make its example
FLOWS: dict[int, set[str]] = {
    1: {"launch-announcement", "member-renewal-notice"},
    2: {"permission-letter", "licence-renewal", "rights-confirmation"},
    3: {"royalty-statement"},
    4: {"approval-notice", "publication-delay-letter"},
    5: {"retailer-notice", "advance-reader-communication"},
    6: {"delay-notice", "out-of-stock-notice", "format-substitution-notice", "revised-date-notice"},
    7: {"metadata-change-notice", "release-alert"},
    8: {"proof-approval", "contributor-request", "review-request", "cover-copy-confirmation"},
}


@pytest.fixture
def demo(sandbox, settings) -> Iterator[str]:
    cache.clear()
    ExstreamGateway._clients.clear()
    settings.CONSONANCE_PREFETCH = False  # the live server shares the test's SQLite connection
    out = build_demo()
    yield out
    cache.clear()
    ExstreamGateway._clients.clear()


def _timeline(user: User, comm: Communication) -> list[TimelineEntry]:
    assert comm.work is not None, comm.name
    return title_timeline(user=user, work=comm.work, limit=None).entries


def _finished_on_timeline(user: User, flow: int) -> list[Communication]:
    """The flow's sent communications whose title's timeline shows a status come back."""
    found = []
    sent = Communication.objects.filter(
        imprint__code="harbour", communication_type__code__in=FLOWS[flow], status=S.SENT
    ).select_related("work")
    for comm in sent:
        entries = _timeline(user, comm)
        back = {e.status for e in entries if e.kind == "message" and comm.name in e.title}
        if back & REACHED:
            found.append(comm)
    return found


def test_each_flow_has_a_finished_example_on_a_titles_timeline(demo):
    admin = User.objects.get(email="admin@demo.colophon.test")
    examples = {flow: _finished_on_timeline(admin, flow) for flow in FLOWS}
    assert all(examples.values()), ({f: len(c) for f, c in examples.items()}, demo)

    # 1: to the book club, every member consenting
    [launch] = [c for c in examples[1] if c.audience.name == "Book club members"]
    assert launch.audience.members.exclude(consent=True).count() == 0

    # 2: delivered and answered, both written back to the letter's own contract
    [letter] = examples[2]
    assert letter.contract is not None
    assert set(letter.messages.values_list("status", flat=True)) == {"responded"}
    kinds = (
        WritebackRule.EventKind.RIGHTS_NOTICE_DELIVERED,
        WritebackRule.EventKind.RIGHTS_RESPONSE_RECORDED,
    )
    written = WritebackRecord.objects.filter(work=letter.work, event_kind__in=kinds)
    assert {(w.event_kind, w.status) for w in written} == {
        (kind, WritebackRecord.Status.WRITTEN) for kind in kinds
    }
    # in Consonance: the letter's own contract holds a dated line for each
    description = SandboxContract.objects.get(pk=letter.contract.consonance_id).data["description"]
    assert len([ln for ln in description.splitlines() if "via Colophon" in ln]) == 2, description
    assert any(e.kind == "writeback" for e in _timeline(admin, letter))
    # the letter, the answer and the write-back name the same right: the contract's own
    right = letter.contract.licensed_rights.order_by("pk").first()
    assert right is not None
    named = f"{right.right_type} ({right.territory})" if right.territory else right.right_type
    assert letter.name.endswith(f", {named}"), (letter.name, named)
    assert all(named in w.summary for w in written), [w.summary for w in written]

    # 3: one message per payee of the royalty period, released and delivered
    [statement] = examples[3]
    assert statement.royalty_import is not None
    assert not statement.messages.exclude(status__in=BACK).exists()

    # 4: drafted by trigger rules from the changes the sync saw
    assert {c.communication_type.code for c in examples[4]} == {
        "approval-notice",
        "publication-delay-letter",
    }
    assert all(c.trigger_rule_id and c.change_event_id for c in examples[4])

    # 5: retailer notices and the advance reader communication; the follow-up scheduled
    assert {c.communication_type.code for c in examples[5]} == {
        "retailer-notice",
        "advance-reader-communication",
    }
    marketing = Client()
    marketing.force_login(User.objects.get(email="marketing@demo.colophon.test"))
    plan = marketing.get(f"/api/v1/titles/{examples[5][0].work_id}/launch/", {"territory": "GB"})
    assert plan.status_code == 200 and plan.json()["follow_ups"], plan.content

    # 6: the notice's title carries the contact centre's outcomes with case references
    [notice] = examples[6]
    outcomes = CustomerServiceOutcome.objects.filter(work=notice.work)
    assert outcomes.exists() and all(o.case_reference for o in outcomes)
    # among them, the waiting customers' answers to this notice, about its format
    assert notice.product is not None and notice.approved_at is not None
    answers = outcomes.filter(
        issue_type="delay",
        isbn13=notice.product.isbn13,
        occurred_at__date__gte=notice.approved_at.date(),
    )
    assert answers.exists(), list(outcomes.values_list("isbn13", "issue_type", "occurred_at"))

    # 7: the weekly job's notice (old → new) and the release alert a trigger drafted
    codes = {c.communication_type.code for c in examples[7]}
    assert codes == {"metadata-change-notice", "release-alert"}
    [change_notice] = [c for c in examples[7] if c.communication_type.code.startswith("metadata")]
    assert "→" in change_notice.messages.first().driver_data["changedFields"]
    assert change_notice.created_by is None  # drafted by the weekly job

    # 8: answered, overdue and reminded (the reminder sent), and returned mail
    harbour = Imprint.objects.get(code="harbour")
    actions = list(ContributorAction.objects.filter(imprint=harbour))
    states = {a.display_state() for a in actions}
    assert {A.RESPONDED, A.OVERDUE, A.UNDELIVERABLE} <= states, states
    chased = [a for a in actions if a.reminder_id]
    assert chased and all(a.reminder.status == S.SENT for a in chased)

    # four eyes everywhere: nobody approved a communication they drafted, edited or submitted
    approved = Communication.objects.filter(approved_by__isnull=False)
    assert approved.count() >= len(FLOWS)
    for comm in approved:
        assert comm.approved_by_id not in comm.author_ids(), comm.name
    # nothing left half-way: every demo send reached Exstream and came back
    sent_messages = Message.objects.filter(communication__status=S.SENT)
    assert not sent_messages.filter(status__in=["generated", "failed"]).exists()


def test_rebuilding_the_demo_duplicates_nothing(demo):
    communications = Communication.objects.count()
    messages = Message.objects.count()
    sent = Communication.objects.filter(status=S.SENT).count()
    before = dict(Message.objects.values_list("pk", "status"))
    for command in DEMO_COMMANDS[-3:]:
        call_command(*command, stdout=None)
    assert Communication.objects.count() == communications
    assert Message.objects.count() == messages
    assert Communication.objects.filter(status=S.SENT).count() == sent
    # polling again may only move a status on (a late "opened"), never back
    after = dict(Message.objects.values_list("pk", "status"))
    assert all(after[pk] in BACK for pk, status in before.items() if status in BACK)
