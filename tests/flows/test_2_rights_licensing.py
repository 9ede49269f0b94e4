"""Flow 2, rights and licensing, as Harbour Lights' rights managers live it.

The Northern Orchard's contract with Ada Okafor licenses translation rights; the title has a
second contract (Ben Byrne's, audio rights). From Consonance: the contract falls due for review
in 30 days. A rights manager drafts a permission letter to the licensee about that contract; the
daily trigger run drafts the licence renewal. Each is previewed, approved by the other rights
manager (never the one who drafted or submitted it), sent and delivered; the licensee's answers
are recorded. Delivery and answers are written back to that contract in Consonance — and to no
other — and the title's timeline holds the whole rights record."""

from __future__ import annotations

import copy
import datetime

import pytest
from django.utils import timezone

from integration.communications.triggered import triggers_run_due
from integration.models import (
    Audience,
    AudienceMember,
    Communication,
    Contract,
    TriggerRule,
    WritebackRecord,
    WritebackRule,
)
from integration.status.writeback import writeback_rule_set
from sandbox.consonance import store
from sandbox.models import SandboxContract
from tests.factories import AudienceFactory, TriggerRuleFactory, communication_type
from tests.flows.steps_b import (
    ISO,
    TITLE,
    designs,
    draft,
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
W = WritebackRecord.Status
K = WritebackRule.EventKind
LICENSEE = "rights@editions-maree.test"


def _contracts_in_consonance(review: datetime.date) -> None:
    """Ada Okafor's contract (500000) is due for review; Ben Byrne's (500099) is added."""
    ada = SandboxContract.objects.get(pk=500000)
    ada.data["reviewDate"] = review.isoformat()
    store.save_contract(ada)
    ben = copy.deepcopy(ada.data)
    ben.update(
        id=500099,
        contractName="The Northern Orchard — Ben Byrne",
        reviewDate=None,
        licensedRights=[{"id": 5000990, "rightType": "Audio", "territory": "GB", "authorCut": 50}],
        deliveryDates=[],
        gratisCopies=[],
    )
    store.save_contract(SandboxContract(id=500099, work_id=ada.work_id, data=ben))


def _description(contract_id: int) -> str:
    return str(SandboxContract.objects.get(pk=contract_id).data.get("description") or "")


def test_permission_letter_and_licence_renewal_written_back_to_that_contract(
    flow,  # noqa: F811
    imprint_a,
    rights_manager,
    second_rights_manager,
    admin_a,
    viewer,
    outsider,
):
    today = timezone.localdate()
    review = today + datetime.timedelta(days=30)
    _contracts_in_consonance(review)
    sync(full=True)
    orchard = title("The Northern Orchard")
    ada = Contract.objects.get(consonance_id=500000)
    assert ada.review_date == review
    assert [(r.right_type, r.territory) for r in ada.licensed_rights.all()] == [
        ("Translation", "WORLD")
    ]
    assert Contract.objects.filter(work=orchard).count() == 2

    # --- the imprint admin: templates, the licensee list, write-back and the renewal rule ----
    designs("Permission letter", "Licence renewal")
    template(
        imprint=imprint_a,
        code="permission-letter",
        design="Permission letter",
        fields={**TITLE, "materialDescription": "licensed_rights.all"},
        transforms={"materialDescription": [{"op": "join", "key": "right_type"}]},
        channels=("print", "email"),
        optional=("permissionFee",),  # gratis permission: no fee
    )
    template(
        imprint=imprint_a,
        code="licence-renewal",
        design="Licence renewal",
        fields={
            **TITLE,
            "licenceReference": "contract.name",
            "renewalDate": "contract.review_date",
        },
        transforms={"renewalDate": ISO},
        channels=("print", "email"),
    )
    licensees = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Licensee: Éditions Marée"
    )
    AudienceMember.objects.create(
        audience=licensees,
        row_number=1,
        email=LICENSEE,
        name="Éditions Marée",
        country="FR",
        consent=True,
        channel_preference="email",
    )
    for kind in (K.RIGHTS_NOTICE_DELIVERED, K.RIGHTS_RESPONSE_RECORDED):
        writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=kind)
    renewal_rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Licence renewal 30 days before review",
        event=TriggerRule.Event.CONTRACT_REVIEW,
        days_before=30,
        communication_type=communication_type("licence-renewal"),
        audience=licensees,
    )

    # --- a rights manager drafts the permission letter about Ada's contract ------------------
    body = {
        "imprint": imprint_a.pk,
        "communication_type": "permission-letter",
        "audience": licensees.pk,
        "work": orchard.pk,
        "contract": ada.pk,
        "name": "Permission: The Northern Orchard, French translation",
    }
    post(viewer, "/api/v1/communications/", body, status=403)
    post(outsider, "/api/v1/communications/", body, status=400)  # not their imprint's title
    letter = draft(rights_manager, **body)
    findings = list(letter.messages.values_list("findings", flat=True))
    assert letter.status == S.DRAFT and letter.blocking_count == 0, findings
    assert letter.messages.get().driver_data["materialDescription"] == "Translation"
    preview(rights_manager, letter)
    letter = four_eyes(rights_manager, second_rights_manager, letter)
    assert letter.status == S.SENT

    # --- the daily trigger run drafts the licence renewal; four eyes; sent --------------------
    [renewal_id] = triggers_run_due(today=today)
    renewal = Communication.objects.get(pk=renewal_id)
    assert renewal.trigger_rule == renewal_rule and renewal.contract == ada
    assert renewal.messages.get().driver_data["renewalDate"] == review.isoformat()
    assert triggers_run_due(today=today) == []  # once per contract and date
    preview(second_rights_manager, renewal)
    renewal = four_eyes(second_rights_manager, rights_manager, renewal)
    assert renewal.status == S.SENT and renewal.approved_by == rights_manager

    # --- statuses come back; the delivery is written to Ada's contract ------------------------
    statuses_back()
    assert statuses(letter) == {LICENSEE: "opened"} and statuses(renewal) == {LICENSEE: "opened"}
    delivered = WritebackRecord.objects.filter(event_kind=K.RIGHTS_NOTICE_DELIVERED)
    assert sorted(delivered.values_list("status", flat=True)) == [W.WRITTEN, W.WRITTEN]

    # --- the licensee answers both; a rights manager records it ------------------------------
    for comm, note in ((letter, "Permission granted"), (renewal, "Renewal agreed to 2029")):
        key = str(comm.messages.get().key)
        entry = {"message_key": key, "status": "responded", "date": today.isoformat()}
        post(outsider, "/api/v1/message-status/", {**entry, "note": note}, status=404)
        post(rights_manager, "/api/v1/message-status/", {**entry, "note": note}, status=201)
    statuses_back()
    answered = WritebackRecord.objects.filter(event_kind=K.RIGHTS_RESPONSE_RECORDED)
    assert sorted(answered.values_list("status", flat=True)) == [W.WRITTEN, W.WRITTEN]

    # --- Consonance: Ada's contract says it all; Ben's contract is untouched -----------------
    written = _description(500000)
    lines = [line for line in written.splitlines() if "via Colophon" in line]
    assert len(lines) == 4, written
    assert sum("delivered to Éditions Marée" in line for line in lines) == 2
    assert any("answered permission letter" in ln and "Permission granted" in ln for ln in lines)
    assert any("answered licence renewal" in ln and "Renewal agreed" in ln for ln in lines)
    assert all("Translation (WORLD)" in line for line in lines)
    assert _description(500099) == ""
    # written once each, however often statuses are polled again
    statuses_back()
    assert len([ln for ln in _description(500000).splitlines() if "via Colophon" in ln]) == 4

    # --- the title's timeline holds the rights record -----------------------------------------
    page = get(rights_manager, f"/api/v1/titles/{orchard.pk}/timeline/?page_size=300")
    kinds = {row["kind"] for row in page["results"]}
    assert {"communication", "approval", "message", "writeback"} <= kinds
    text = " ".join(str(row) for row in page["results"])
    assert "Permission letter or licence renewal delivered" in text
    assert "Rights notice answered" in text
    get(outsider, f"/api/v1/titles/{orchard.pk}/timeline/", status=404)
    listed = get(rights_manager, f"/api/v1/writebacks/?work={orchard.pk}")
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert len(rows) >= 4
