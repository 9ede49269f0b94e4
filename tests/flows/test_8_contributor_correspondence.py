"""Flow 8, contributor correspondence, as Harbour Lights' project manager lives it.

The Northern Orchard's contributors come from Consonance: Ada Okafor (author) and Ben Byrne
(translator, whose mailbox no longer exists); the contract's cover copy was due three days ago.
The project manager sends proof approval requests to both and a cover copy confirmation to the
author; each becomes an outstanding action. Ada answers the proofs, Ben's request bounces and
shows as returned mail, and the cover copy goes overdue: the project manager drafts a reminder
to Ada alone, which is approved and sent in its turn; her answer to it answers the cover copy
request."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integration.models import Audience, Communication, ContributorAction
from sandbox.consonance import store
from sandbox.models import SandboxContact, SandboxContract
from tests.factories import AudienceFactory
from tests.flows.steps_b import (
    ISO,
    TITLE,
    api,
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
A = ContributorAction.State
BEN_BOUNCES = "ben.byrne.bounce@authors.example"
ADA = "ada.okafor0@authors.example"


def _in_consonance(cover_copy_due: datetime.date) -> None:
    ben = SandboxContact.objects.get(pk=1001)
    ben.data["emails"] = [{"email": BEN_BOUNCES}]
    ben.save()
    contract = SandboxContract.objects.get(pk=500000)
    contract.data["deliveryDates"].append(
        {
            "id": 5000009,
            "contractId": 500000,
            "dateDue": cover_copy_due.isoformat(),
            "deliverableType": "Cover copy",
            "deliveryRequirement": "Approved cover copy",
            "percentageOfTotal": None,
            "slippedDate": None,
            "actualDate": None,
            "note": None,
        }
    )
    store.save_contract(contract)


def _actions(user, **query):
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return get(user, f"/api/v1/contributor-actions/?{params}")["results"]


def test_requests_become_actions_answered_overdue_reminded_and_returned(
    flow,  # noqa: F811
    imprint_a,
    project_manager,
    admin_a,
    viewer,
    outsider,
    login,
):
    today = timezone.localdate()
    _in_consonance(cover_copy_due=today - datetime.timedelta(days=3))
    sync(full=True)
    orchard = title("The Northern Orchard")

    designs("Proof approval", "Cover copy confirmation", "Contributor request")
    template(
        imprint=imprint_a,
        code="proof-approval",
        design="Proof approval",
        fields={**TITLE, "proofLink": "campaign.code", "respondByDate": "action.due_date"},
        transforms={"respondByDate": ISO},
    )
    template(
        imprint=imprint_a,
        code="cover-copy-confirmation",
        design="Cover copy confirmation",
        fields={**TITLE, "coverCopy": "work.blurb"},
    )
    template(
        imprint=imprint_a,
        code="contributor-request",
        design="Contributor request",
        fields={**TITLE, "requestDetails": "contract.name", "dueDate": "action.due_date"},
        transforms={"dueDate": ISO},
    )
    everyone = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.CONTRIBUTORS, name="Contributors"
    )
    authors = AudienceFactory.create(
        imprint=imprint_a,
        kind=Audience.Kind.CONTRIBUTORS,
        name="Authors",
        contributor_roles=["A01"],
    )

    # --- the project manager sends the two requests (an admin approves) ---------------------
    proofs = draft(
        project_manager,
        imprint=imprint_a.pk,
        communication_type="proof-approval",
        audience=everyone.pk,
        work=orchard.pk,
        name="Second proofs: The Northern Orchard",
        campaign={"name": "Second proofs", "code": "https://proofs.harbour.test/orchard-2"},
    )
    cover = draft(
        project_manager,
        imprint=imprint_a.pk,
        communication_type="cover-copy-confirmation",
        audience=authors.pk,
        work=orchard.pk,
        name="Cover copy: The Northern Orchard",
    )
    assert proofs.recipient_count == 2 and cover.recipient_count == 1
    for comm in (proofs, cover):
        assert comm.blocking_count == 0, list(comm.messages.values_list("findings", flat=True))
        preview(project_manager, comm)
        assert four_eyes(project_manager, admin_a, comm).status == S.SENT

    # --- they are outstanding actions on the board ------------------------------------------
    rows = _actions(project_manager, work=orchard.pk)
    assert len(rows) == 3
    by = {(r["communication_type"], r["recipient_name"]): r for r in rows}
    cover_row = by[("cover-copy-confirmation", "Ada Okafor")]
    assert cover_row["state"] == A.OVERDUE  # the contract's cover copy was due three days ago
    assert cover_row["due_on"] == (today - datetime.timedelta(days=3)).isoformat()
    assert by[("proof-approval", "Ada Okafor")]["state"] == A.AWAITING
    assert _actions(outsider, work=orchard.pk) == []

    # --- statuses come back: Ben's request bounces -------------------------------------------
    statuses_back()
    # Exstream's e-mail event NDLV: the mailbox is unavailable (returned mail for an e-mail)
    assert statuses(proofs) == {ADA: "opened", BEN_BOUNCES: "not_delivered"}
    ben_row = next(
        r for r in _actions(project_manager, work=orchard.pk) if "Ben" in r["recipient_name"]
    )
    assert ben_row["state"] == A.UNDELIVERABLE and ben_row["message_status"] == "not_delivered"
    board = login(project_manager).get("/actions/").content.decode()
    assert "Ben Byrne" in board and "Undeliverable" in board

    # --- Ada answers the proofs; the project manager records it ------------------------------
    ada_proofs = by[("proof-approval", "Ada Okafor")]
    url = f"/api/v1/contributor-actions/{ada_proofs['id']}/response/"
    answer = {"responded_on": today.isoformat(), "note": "Proofs approved with two fixes"}
    post(viewer, url, answer, status=403)
    post(project_manager, url, answer)
    answered = _actions(project_manager, work=orchard.pk, state="responded")
    assert [r["recipient_name"] for r in answered] == ["Ada Okafor"]
    assert answered[0]["response_note"] == "Proofs approved with two fixes"

    # --- the overdue cover copy: a reminder to Ada alone, approved and sent ------------------
    overdue = _actions(project_manager, work=orchard.pk, state="overdue")
    assert [r["id"] for r in overdue] == [cover_row["id"]]
    remind = f"/api/v1/contributor-actions/{cover_row['id']}/remind/"
    post(viewer, remind, status=403)
    reminder_id = post(project_manager, remind, status=201)["reminder"]
    reminder = Communication.objects.get(pk=reminder_id)
    assert reminder.recipient_count == 1 and reminder.blocking_count == 0
    assert reminder.messages.get().recipient_email == ADA
    assert reminder.messages.get().driver_data["dueDate"] == cover_row["due_on"]
    assert four_eyes(project_manager, admin_a, reminder).status == S.SENT
    statuses_back()
    assert statuses(reminder) == {ADA: "opened"}
    row = next(r for r in _actions(project_manager, work=orchard.pk) if r["id"] == cover_row["id"])
    assert row["reminder"] == reminder.pk and row["reminder_count"] == 1
    assert row["state"] == A.OVERDUE  # still waiting for the answer
    # the reminder belongs to the action it chases: it opens no second one
    assert not ContributorAction.objects.filter(communication=reminder).exists()
    assert [r["id"] for r in _actions(project_manager, work=orchard.pk, state="overdue")] == [
        cover_row["id"]
    ]
    # Ada answers the reminder: the cover copy request it chased is answered
    answer = {"message_key": str(reminder.messages.get().key), "status": "responded"}
    post(project_manager, "/api/v1/message-status/", {**answer, "date": today.isoformat()}, 201)
    row = next(r for r in _actions(project_manager, work=orchard.pk) if r["id"] == cover_row["id"])
    assert row["state"] == A.RESPONDED
    # answering a responded action needs no reminder
    post(project_manager, f"/api/v1/contributor-actions/{ada_proofs['id']}/remind/", status=400)

    # --- the title's timeline tells the story; the returned mail is there --------------------
    page = get(project_manager, f"/api/v1/titles/{orchard.pk}/timeline/?page_size=300")
    text = " ".join(str(r) for r in page["results"])
    assert "not delivered" in text.lower() and "Ben Byrne" in text
    assert "responded" in text.lower()
    assert api(project_manager).get(f"/titles/{orchard.pk}/timeline/").status_code in (200, 302)
