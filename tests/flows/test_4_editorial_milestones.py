"""Flow 4, editorial and production milestones, as a project manager at Harbour Lights lives it.

The Northern Orchard (for sale in GB and IE only) goes into Production and its manuscript's
delivery date slips, both in Consonance. The next sync drafts an approval notice (through the
imprint's GB rule; the US rule and Northwind's rule do not fire) and a publication delay letter
to the title's contributors. The notice is previewed, approved by the imprint admin (not the
project manager who submitted it), sent and delivered. The slip is reverted in Consonance before
anyone approved the letter: the draft is withdrawn, audited and shown on the title's timeline.
When the date slips again, a new letter goes out with the original and new dates."""

from __future__ import annotations

import datetime

import pytest

from accounts.models import AuditEvent
from integration.models import Audience, ChangeEvent, Communication, TriggerRule
from sandbox.consonance import store
from sandbox.models import SandboxContract, SandboxProduct
from tests.factories import AudienceFactory, TriggerRuleFactory, communication_type
from tests.flows.steps_b import (
    ISO,
    TITLE,
    designs,
    draft,  # noqa: F401  (kept for symmetry with the other flows)
    flow,  # noqa: F401  (fixture)
    four_eyes,
    get,
    post,
    preview,
    statuses,
    statuses_back,
    sync,
    template,
    title,
)

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status
ORCHARD = 10000  # the sandbox's "The Northern Orchard" (Harbour Lights), contract 500000


def _gb_and_ie_only(work_id: int) -> None:
    for product in SandboxProduct.objects.filter(work_id=work_id):
        product.data["forSaleCountryCodes"] = ["GB", "IE"]
        store.save_product(product)


def _set_manuscript(slipped: str | None) -> None:
    contract = SandboxContract.objects.get(pk=500000)
    contract.data["deliveryDates"][0]["slippedDate"] = slipped
    store.save_contract(contract)


def _trigger_drafts(rule: TriggerRule) -> list[Communication]:
    return list(Communication.objects.filter(trigger_rule=rule).order_by("pk"))


def test_stage_change_and_slip_draft_per_imprint_and_territory_and_a_revert_withdraws(
    flow,  # noqa: F811
    imprint_a,
    imprint_b,
    project_manager,
    admin_a,
    outsider,
):
    # --- data arrives from Consonance ---------------------------------------------------------
    _gb_and_ie_only(ORCHARD)
    sync(full=True)
    orchard = title("The Northern Orchard")
    assert orchard.imprint == imprint_a and orchard.project_stage == "Acquisition"

    # --- the imprint admin sets up the designs, templates and trigger rules -------------------
    designs("Approval notice", "Publication delay letter")
    template(
        imprint=imprint_a,
        code="approval-notice",
        design="Approval notice",
        fields={**TITLE, "approvedItem": "work.project_stage"},
    )
    template(
        imprint=imprint_a,
        code="publication-delay-letter",
        design="Publication delay letter",
        fields={
            **TITLE,
            "originalDate": "delivery.original_date",
            "newDate": "delivery.slipped_date",
        },
        transforms={"originalDate": ISO, "newDate": ISO},
    )
    contributors = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.CONTRIBUTORS, name="The title's contributors"
    )
    us_team = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.CONTRIBUTORS, name="US contributors"
    )

    def rule(**body):
        data = post(
            admin_a,
            "/api/v1/triggers/",
            {"imprint": imprint_a.pk, "active": True, **body},
            status=201,
        )
        return TriggerRule.objects.get(pk=data["id"])

    gb_stage = rule(
        name="GB: approval notice on Production",
        event="project_stage",
        match_value="production",
        territory="GB",
        communication_type="approval-notice",
        audience=contributors.pk,
    )
    us_stage = rule(
        name="US: approval notice on Production",
        event="project_stage",
        match_value="Production",
        territory="US",
        communication_type="approval-notice",
        audience=us_team.pk,
    )
    gb_slip = rule(
        name="GB: delay letter when a delivery slips",
        event="delivery_date_slipped",
        territory="GB",
        communication_type="publication-delay-letter",
        audience=contributors.pk,
    )
    northwind = TriggerRuleFactory.create(
        imprint=imprint_b,
        event=TriggerRule.Event.PROJECT_STAGE,
        match_value="Production",
        communication_type=communication_type("approval-notice"),
    )
    # the outsider cannot add a rule to Harbour Lights
    post(
        outsider,
        "/api/v1/triggers/",
        {
            "imprint": imprint_a.pk,
            "name": "Sneaky",
            "event": "project_stage",
            "communication_type": "approval-notice",
            "audience": contributors.pk,
        },
        status=400,
    )

    # --- Consonance: the title goes into Production, and the manuscript slips a month ---------
    store.change_stage(ORCHARD, stage="Production")
    original = SandboxContract.objects.get(pk=500000).data["deliveryDates"][0]["dateDue"]
    slipped = (datetime.date.fromisoformat(original) + datetime.timedelta(days=30)).isoformat()
    _set_manuscript(slipped)
    sync()
    assert ChangeEvent.objects.filter(work=orchard, kind="project_stage").exists()
    assert ChangeEvent.objects.filter(work=orchard, kind="delivery_date_slipped").exists()

    # per imprint and territory: only the GB rules of Harbour Lights drafted
    assert _trigger_drafts(us_stage) == [] and _trigger_drafts(northwind) == []
    [notice] = _trigger_drafts(gb_stage)
    [letter] = _trigger_drafts(gb_slip)
    assert notice.work == orchard and notice.communication_type.code == "approval-notice"
    assert letter.contract.consonance_id == 500000
    for comm in (notice, letter):
        assert comm.status == S.DRAFT and comm.blocking_count == 0, comm.compose_error
        assert comm.recipient_count == 2  # Ada Okafor and Ben Byrne
    first = letter.messages.first().driver_data
    assert first["originalDate"] == original and first["newDate"] == slipped
    assert notice.messages.first().driver_data["approvedItem"] == "Production"

    # --- the approval notice: previewed, four eyes, sent, delivered ---------------------------
    preview(project_manager, notice)
    notice = four_eyes(project_manager, admin_a, notice)
    assert notice.status == S.SENT and notice.approved_by == admin_a
    statuses_back()
    assert set(statuses(notice).values()) == {"opened"}, statuses(notice)

    # --- the slip is reverted in Consonance before anyone approved the letter -----------------
    _set_manuscript(None)
    sync()
    letter = Communication.objects.get(pk=letter.pk)
    assert letter.status == S.CANCELLED
    assert "Withdrawn" in letter.void_reason and original in letter.void_reason
    assert _trigger_drafts(gb_slip) == [letter]  # the revert itself drafts nothing
    withdrawn = AuditEvent.objects.get(verb="communication.withdrawn")
    assert withdrawn.work_id == orchard.pk and withdrawn.actor_label == f"trigger:{gb_slip.pk}"
    page = get(project_manager, f"/api/v1/titles/{orchard.pk}/timeline/?page_size=200")
    texts = " ".join(str(row) for row in page["results"])
    assert "Withdrew a draft" in texts
    assert f"/communications/{letter.pk}/" in texts or letter.name in texts
    detail = post(project_manager, f"/api/v1/communications/{letter.pk}/submit/", status=400)
    assert detail  # a withdrawn draft cannot be submitted

    # --- it slips again: a new letter, approved and sent -------------------------------------
    _set_manuscript(slipped)
    sync()
    letters = _trigger_drafts(gb_slip)
    assert len(letters) == 2
    again = letters[-1]
    assert again.status == S.DRAFT and again.blocking_count == 0
    again = four_eyes(project_manager, admin_a, again)
    assert again.status == S.SENT
    statuses_back()
    assert set(statuses(again).values()) == {"opened"}
    # the title's timeline holds the whole milestone story
    page = get(admin_a, f"/api/v1/titles/{orchard.pk}/timeline/?page_size=200")
    kinds = {row["kind"] for row in page["results"]}
    assert {"change", "communication", "approval", "message", "audit"} <= kinds
