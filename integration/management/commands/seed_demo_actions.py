"""Contributor correspondence for the demo's actions board, sent the way staff send it.

For Harbour Lights the project manager drafts three contributor communications through the real
services (compose, submit, approval by the imprint admin — four eyes — and dispatch to the
sandbox Exstream over HTTP); then one contributor's reply is recorded by hand. The board then
shows actions that are outstanding (a review request, due in the default window), overdue (a
manuscript request whose contract delivery date has passed) and answered.

Background work (compose, dispatch) runs inline for this command, as in the tests, so the board
is filled when it returns even with no worker running. Idempotent: it does nothing once the
imprint has contributor actions.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.demo import require_demo_environment
from accounts.models import Imprint, Membership, Role, User
from integration.communications.approval import communication_approve, communication_submit
from integration.communications.create import communication_create
from integration.management.inline import tasks_inline
from integration.models import (
    Audience,
    Communication,
    CommunicationType,
    ContributorAction,
    DeliveryDate,
    Work,
)
from integration.status.responses import contributor_action_record_response

IMPRINT = "harbour"
# (type code, audience name, which work: "overdue" needs a past manuscript date)
SENDS = [
    ("contributor-request", "Authors of the title", "overdue"),
    ("review-request", "Authors of the title", "any"),
    ("cover-copy-confirmation", "All contributors of the title", "any"),
]


def _member(imprint: Imprint, role: str) -> User | None:
    membership = (
        Membership.objects.filter(imprint=imprint, role=role)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    return membership.user if membership else None


class Command(BaseCommand):
    help = "Send demo contributor requests through the real services so the actions board has work."

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_environment("seed_demo_actions")
        imprint = Imprint.objects.filter(code=IMPRINT).first()
        if imprint is None:
            self.stdout.write("No Harbour Lights imprint; run seed_demo first.")
            return
        if ContributorAction.objects.filter(imprint=imprint).exists():
            self.stdout.write(f"{imprint}: the actions board already has actions.")
            return
        drafter = _member(imprint, Role.PROJECT_MANAGER)
        approver = _member(imprint, Role.IMPRINT_ADMIN)
        works = list(Work.objects.filter(imprint=imprint, contributions__isnull=False).distinct())
        works.sort(key=lambda w: w.pk)
        if drafter is None or approver is None or not works:
            self.stdout.write(f"{imprint}: skipped (no project manager, admin or titles yet).")
            return
        today = timezone.localdate()
        overdue_first = sorted(
            works,
            key=lambda w: min(
                (
                    d.effective_due
                    for d in DeliveryDate.objects.filter(
                        contract__work=w, deliverable_type__icontains="manuscript"
                    )
                    if d.effective_due
                ),
                default=today,
            ),
        )
        used: set[int] = set()
        sent: list[Communication] = []
        with tasks_inline():
            for code, audience_name, which in SENDS:
                pool = overdue_first if which == "overdue" else works
                # a title of its own where there are enough, else one already written about
                work = next((w for w in pool if w.pk not in used), pool[0])
                used.add(work.pk)
                sent.append(self._send(imprint, drafter, approver, code, audience_name, work))
            answered = (
                ContributorAction.objects.filter(communication=sent[-1]).order_by("pk").first()
            )
            if answered is not None:
                contributor_action_record_response(
                    actor=drafter,
                    action=answered,
                    responded_on=today,
                    note="Cover copy approved by e-mail.",
                )
        states = [
            str(ContributorAction.State(a.display_state()).label).lower()
            for a in ContributorAction.objects.filter(imprint=imprint)
        ]
        self.stdout.write(
            f"{imprint}: {len(sent)} contributor communications sent; actions board: "
            + ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
            + "."
        )

    def _send(
        self,
        imprint: Imprint,
        drafter: User,
        approver: User,
        code: str,
        audience_name: str,
        work: Work,
    ) -> Communication:
        communication = communication_create(
            actor=drafter,
            imprint=imprint,
            communication_type=CommunicationType.objects.get(code=code),
            audience=Audience.objects.get(imprint=imprint, name=audience_name),
            work=work,
        )
        # (re-read, not refresh_from_db: the status field is a protected state machine)
        communication = Communication.objects.get(pk=communication.pk)
        communication_submit(actor=drafter, communication=communication)
        communication = Communication.objects.get(pk=communication.pk)
        communication_approve(actor=approver, communication=communication)
        communication = Communication.objects.get(pk=communication.pk)
        if communication.status != Communication.Status.SENT:
            self.stdout.write(
                self.style.WARNING(
                    f"{communication.name}: {communication.get_status_display()} "
                    "(expected it sent; see Operations)."
                )
            )
        return communication
