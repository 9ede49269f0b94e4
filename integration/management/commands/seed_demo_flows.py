"""A finished example of each of the eight flows for the demo (Harbour Lights), sent the way
staff send them: drafted by a person (or by a trigger rule from a change the previous sync saw),
submitted by the drafter, approved by a different demo user with an approving role (four eyes),
dispatched through the outbox to the sandbox Exstream over HTTP, with the statuses polled back
as the worker's schedules do, answers recorded by hand and write-backs sent to Consonance.

Run after ``seed_sandbox_changes`` and a second ``sync_consonance`` (the stage change, the
slipped date, the price rise and the publication they make fire the seeded trigger rules), and
after ``seed_demo_actions`` and ``seed_demo_royalties`` (whose actions and statement drafts it
finishes). Which title shows which flow: docs/flows.md, "In the demo".

Background work runs inline, as in the other demo seeds. Idempotent: each example is sent once
(found again by its name, its trigger rule or its period), and polling statuses again changes
nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.demo import require_demo_environment
from accounts.models import Imprint, Membership, Role, User
from integration.communications.approval import communication_approve, communication_submit
from integration.communications.create import communication_create
from integration.communications.launch import launch_communications_draft
from integration.communications.partner_notices import partner_notices_draft_weekly
from integration.communications.reminders import contributor_action_remind
from integration.delivery.job_controls import exstream_step_release
from integration.delivery.outbox import outbox_dispatch
from integration.lib.http import ExternalServiceError
from integration.management.inline import tasks_inline
from integration.models import (
    Audience,
    Communication,
    CommunicationType,
    Contract,
    ContributorAction,
    ExstreamJob,
    Message,
    TriggerRule,
    Work,
    WritebackRule,
)
from integration.setup.audiences import audience_list_upload
from integration.status.apply import message_status_record
from integration.status.customer_service import customer_service_import_csv
from integration.status.polling import exstream_email_events_pull, exstream_poll_open_jobs
from integration.status.writeback import writeback_rule_set

IMPRINT = "harbour"
S = Communication.Status
LICENSEES = "Licensee: Éditions Marée"
LICENSEE_LIST = (
    b"email,name,country,consent,channel\n"
    b"rights@editions-maree.test,\xc3\x89ditions Mar\xc3\xa9e,FR,yes,email\n"
)
# the waiting customers' answers to the delay notice, as the contact centre records them
DELAY_OUTCOMES = ("accepted", "accepted", "cancelled", "no_response")
READING_COPY = "https://readers.example.test/early/northern-orchard"


def _member(imprint: Imprint, role: str, *, besides: User | None = None) -> User | None:
    qs = Membership.objects.filter(imprint=imprint, role=role).select_related("user")
    if besides is not None:
        qs = qs.exclude(user=besides)
    membership = qs.order_by("user__email").first()
    return membership.user if membership else None


def _fresh(comm: Communication) -> Communication:
    # re-read, not refresh_from_db: the status field is a protected state machine
    return Communication.objects.get(pk=comm.pk)


class Command(BaseCommand):
    help = "Send a finished example of each of the eight flows for the demo (Harbour Lights)."

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_environment("seed_demo_flows")
        imprint = Imprint.objects.filter(code=IMPRINT).first()
        if imprint is None:
            self.stdout.write("No Harbour Lights imprint; run seed_demo first.")
            return
        self.imprint = imprint
        people = {
            "marketing": _member(imprint, Role.MARKETING),
            "rights": _member(imprint, Role.RIGHTS_MANAGER),
            "royalties": _member(imprint, Role.ROYALTIES),
            "pm": _member(imprint, Role.PROJECT_MANAGER),
            "admin": _member(imprint, Role.IMPRINT_ADMIN),
        }
        rights = people["rights"]
        people["rights2"] = _member(imprint, Role.RIGHTS_MANAGER, besides=rights)
        missing = sorted(k for k, v in people.items() if v is None)
        works = list(Work.objects.filter(imprint=imprint).order_by("consonance_id", "pk"))
        if missing or not works:
            why = f"no demo user for {', '.join(missing)}" if missing else "no titles yet"
            self.stdout.write(f"{imprint}: skipped the flow examples ({why}).")
            return
        self.people: dict[str, User] = {k: v for k, v in people.items() if v is not None}
        self.today = timezone.localdate()
        # the forthcoming title the sandbox changes are about, and a published one
        self.changed = next((w for w in works if w.project_stage == "Approved"), works[0])
        # (chosen as seed_sandbox_changes chooses the title whose translator's mail bounces)
        self.published = next(
            (
                w
                for w in works
                if w.pk != self.changed.pk
                and w.contributions.exists()
                and not w.products.filter(publishing_status="02").exists()
            ),
            works[-1],
        )
        steps: list[tuple[str, Callable[[], list[Communication]]]] = [
            ("1 member marketing", self._member_marketing),
            ("2 rights and licensing", self._rights),
            ("3 royalty statements", self._royalty_statements),
            ("4 editorial milestones", self._milestones),
            ("5 launch", self._launch),
            ("6 customer service", self._customer_service),
            ("7 partner catalogue updates", self._partner_updates),
            ("8 contributor correspondence", self._contributors),
        ]
        report: list[str] = []
        with tasks_inline():
            for label, step in steps:
                try:
                    sent = step()
                except (
                    ExternalServiceError,
                    ObjectDoesNotExist,
                    PermissionDenied,
                    ValidationError,
                ) as exc:
                    # one flow's problem (a setup not seeded, a vendor down) leaves the others
                    self.stdout.write(self.style.ERROR(f"Flow {label}: not finished: {exc}"))
                    continue
                report.append(f"{label}: {len(sent)}")
            self._statuses_back()
            answered = self._rights_answers()
            if answered:
                self._statuses_back()
        self.stdout.write(f"{imprint}, communications sent per flow: " + "; ".join(report) + ".")

    # --- the common path ------------------------------------------------------------------------

    def _send(self, comm: Communication, *, drafter: str, approver: str) -> Communication:
        """Submitted by its drafter (or, for a trigger's draft, the person who takes it on),
        approved by a different demo user; the approval sends it through the outbox."""
        comm = _fresh(comm)
        if comm.status == S.DRAFT:
            communication_submit(actor=self.people[drafter], communication=comm)
            comm = _fresh(comm)
        if comm.status == S.SUBMITTED:
            communication_approve(actor=self.people[approver], communication=comm)
            comm = _fresh(comm)
        if comm.status != S.SENT:
            self.stdout.write(
                self.style.WARNING(
                    f"{comm.name}: {comm.get_status_display()} (expected it sent; see "
                    f"Operations){f' — {comm.compose_error}' if comm.compose_error else ''}."
                )
            )
        return comm

    def _draft(self, *, drafter: str, code: str, audience: str, name: str, **extra: Any) -> Any:
        existing = Communication.objects.filter(imprint=self.imprint, name=name).first()
        if existing is not None:
            return existing
        comm = communication_create(
            actor=self.people[drafter],
            imprint=self.imprint,
            communication_type=CommunicationType.objects.get(code=code),
            audience=Audience.objects.get(imprint=self.imprint, name=audience),
            name=name,
            **extra,
        )
        return _fresh(comm)

    def _triggered(self, rule_name: str, **filters: Any) -> list[Communication]:
        rule = TriggerRule.objects.filter(imprint=self.imprint, name=rule_name).first()
        if rule is None:
            return []
        return list(
            Communication.objects.filter(trigger_rule=rule, **filters)
            .exclude(status=S.CANCELLED)
            .order_by("pk")
        )

    # --- the eight flows ------------------------------------------------------------------------

    def _member_marketing(self) -> list[Communication]:
        """1: a launch announcement to the book club (a small, consenting list)."""
        work = self.published
        comm = self._draft(
            drafter="marketing",
            code="launch-announcement",
            audience="Book club members",
            name=f"Launch announcement: {work.title} to the book club",
            work=work,
        )
        return [self._send(comm, drafter="marketing", approver="admin")]

    def _rights(self) -> list[Communication]:
        """2: a permission letter about the title's contract to its licensee; delivery and the
        answer are written back to that contract (the answer: ``_rights_answers``)."""
        work = self.changed
        contract = Contract.objects.filter(work=work, withdrawn_at__isnull=True).order_by("pk")
        if not contract.exists():
            return []
        admin = self.people["admin"]
        for kind in (
            WritebackRule.EventKind.RIGHTS_NOTICE_DELIVERED,
            WritebackRule.EventKind.RIGHTS_RESPONSE_RECORDED,
        ):
            if not WritebackRule.objects.filter(imprint=self.imprint, event_kind=kind).exists():
                writeback_rule_set(actor=admin, imprint_id=self.imprint.pk, event_kind=kind)
        audience, _ = Audience.objects.get_or_create(
            imprint=self.imprint,
            name=LICENSEES,
            defaults={
                "kind": Audience.Kind.UPLOADED,
                "description": "The licensee of the title's licensed right (demo).",
            },
        )
        if not audience.members.exists():
            audience_list_upload(
                actor=admin, audience=audience, filename="licensee.csv", data=LICENSEE_LIST
            )
        comm = self._draft(
            drafter="rights",
            code="permission-letter",
            audience=LICENSEES,
            name=self._letter_name(),
            work=work,
            contract=contract.first(),
        )
        return [self._send(comm, drafter="rights", approver="rights2")]

    def _royalty_statements(self) -> list[Communication]:
        """3: the statement the royalty import's trigger drafted for the first title, sent to
        its payees and released from Exstream's hold, as on the Jobs screen."""
        drafts = self._triggered("Royalty statements when royalty lines arrive")
        if not drafts:
            return []
        comm = self._send(drafts[0], drafter="royalties", approver="admin")
        for job in ExstreamJob.objects.filter(external_id__startswith=f"colophon-comm-{comm.pk}-"):
            for _ in range(3):
                exstream_poll_open_jobs()
                job.refresh_from_db()
                if job.held_steps or job.terminal:
                    break
            for step in job.held_steps:
                exstream_step_release(actor=self.people["admin"], job=job, step_id=str(step["id"]))
        return [comm]

    def _milestones(self) -> list[Communication]:
        """4: the approval notice and the delay letter the sync's trigger rules drafted when
        the title was approved and its publication date slipped."""
        sent = []
        for rule in (
            "Approval notice when the title is approved",
            "Delay letter when publication date moves",
        ):
            drafts = self._triggered(rule, work=self.changed)
            if drafts:
                sent.append(self._send(drafts[0], drafter="pm", approver="admin"))
        return sent

    def _launch(self) -> list[Communication]:
        """5: the title's launch in GB: retailer notices per format and the advance reader
        communication (the follow-up is scheduled by the post-publication rule)."""
        drafts = launch_communications_draft(
            actor=self.people["marketing"],
            work=self.changed,
            territory_code="GB",
            retailer_audience=Audience.objects.get(
                imprint=self.imprint, name="Retailers and wholesalers"
            ),
            reader_audience=Audience.objects.get(imprint=self.imprint, name="Book club members"),
            campaign={"link": READING_COPY},
        )
        return [
            self._send(c, drafter="marketing", approver="admin")
            for c in [*drafts.created, *drafts.existing]
        ]

    def _customer_service(self) -> list[Communication]:
        """6: a delay notice to the customers waiting for the slipped format, and the contact
        centre's outcomes of it with their case references, imported for that title as staff
        import them (seed_demo_outcomes spreads others over the imprint's first formats, which
        need not include this title's)."""
        work = self.changed
        product = work.products.exclude(isbn13__isnull=True).order_by("pk").first()
        comm = self._draft(
            drafter="marketing",
            code="delay-notice",
            audience="Book club members",
            name=f"Delay notice: {work.title} to waiting customers",
            work=work,
            product=product,
            # the order reference the designs require (Colophon holds no order data)
            campaign={"code": f"ORD-{self.today:%Y%m%d}-DELAY"},
        )
        sent = self._send(comm, drafter="marketing", approver="admin")
        if product is not None and product.isbn13:
            self._delay_outcomes(product.isbn13, reference=work.consonance_id or work.pk)
        return [sent]

    def _delay_outcomes(self, isbn: str, *, reference: int) -> None:
        """What the waiting customers told the contact centre after the delay notice, one case
        each (a deterministic event id per row, so a rerun imports nothing twice)."""
        rows = ["isbn,issue_type,case_reference,outcome,date,note,event_id"]
        for n, outcome in enumerate(DELAY_OUTCOMES):
            rows.append(
                f"{isbn},delay,CS-DELAY-{reference}-{n + 1},{outcome},{self.today.isoformat()},"
                f"after the delay notice,demo-delay-notice-{reference}-{n + 1}"
            )
        customer_service_import_csv(
            actor=self.people["admin"],
            imprint_id=self.imprint.pk,
            raw=("\n".join(rows) + "\n").encode(),
            filename="demo-delay-outcomes.csv",
        )

    def _partner_updates(self) -> list[Communication]:
        """7: the weekly job's metadata change notices (old → new) and the release alert the
        publication drafted."""
        run = partner_notices_draft_weekly(today=self.today)
        notices = list(
            Communication.objects.filter(pk__in=[*run.created, *run.existing], work=self.changed)
        )
        alerts = self._triggered("Release alert when a title is published", work=self.changed)
        return [self._send(c, drafter="marketing", approver="admin") for c in notices + alerts]

    def _contributors(self) -> list[Communication]:
        """8: a reminder for the overdue action, and a review request to a title's contributors,
        one of whose address bounces (returned mail on the actions board)."""
        sent = []
        overdue = next(
            (
                a
                for a in ContributorAction.objects.filter(imprint=self.imprint).order_by("pk")
                if a.display_state() == ContributorAction.State.OVERDUE
            ),
            None,
        )
        if overdue is not None and overdue.reminder_id is None:
            reminder = contributor_action_remind(actor=self.people["pm"], action=overdue)
            sent.append(self._send(reminder, drafter="pm", approver="admin"))
        work = self.published
        # (a review request: the seeded proof approval template has no proof link to send)
        review = self._draft(
            drafter="pm",
            code="review-request",
            audience="All contributors of the title",
            name=f"Review request: {work.title}, all contributors",
            work=work,
        )
        sent.append(self._send(review, drafter="pm", approver="admin"))
        return sent

    # --- what comes back ------------------------------------------------------------------------

    def _statuses_back(self) -> None:
        """What the worker's schedules do: poll the open Exstream jobs until they finish (each
        read moves a sandbox job on), pull the e-mail events, send queued write-backs."""
        for _ in range(4):
            if not exstream_poll_open_jobs():
                break
        # the sandbox stamps a job's e-mail events a few seconds after it completes; the pull's
        # window ends a minute on (the next scheduled pull re-reads an overlap anyway)
        exstream_email_events_pull(now=timezone.now() + datetime.timedelta(minutes=1))
        outbox_dispatch(worker="demo")

    def _licensed_right(self) -> str:
        """The right the letter asks about: its contract's first licensed right as the
        contract lists it ("Translation (DE)"), so the letter, the answer and the write-back
        to that contract name the same right."""
        contract = (
            Contract.objects.filter(work=self.changed, withdrawn_at__isnull=True)
            .order_by("pk")
            .first()
        )
        right = contract.licensed_rights.order_by("pk").first() if contract else None
        if right is None:
            return ""
        return f"{right.right_type} ({right.territory})" if right.territory else right.right_type

    def _letter_name(self) -> str:
        right = self._licensed_right()
        return f"Permission letter: {self.changed.title}" + (f", {right}" if right else "")

    def _rights_answers(self) -> int:
        """The licensee's answer to the permission letter, recorded by the rights manager."""
        letter = Communication.objects.filter(
            imprint=self.imprint, name=self._letter_name()
        ).first()
        if letter is None:
            return 0
        answered = 0
        for message in Message.objects.filter(communication=letter).exclude(
            status=Message.Status.RESPONDED
        ):
            result = message_status_record(
                actor=self.people["rights"],
                message=message,
                status=Message.Status.RESPONDED,
                occurred_on=self.today,
                note=f"Permission granted: {self._licensed_right() or 'as asked'}.",
            )
            answered += int(bool(result.recorded))
        return answered
