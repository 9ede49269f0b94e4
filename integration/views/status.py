"""Staff screens for status back from Exstream: the title timeline (``timeline``), outstanding
contributor actions (``actions``) and the customer-service report (``reports``). Thin: selectors
read, services write, the policy module decides."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.models import Imprint, Membership, User
from accounts.policy import Action, Category
from accounts.redirects import safe_next
from accounts.types import AuthedRequest
from integration.communications.reminders import contributor_action_remind
from integration.forms.status import (
    AssignForm,
    CsvUploadForm,
    ImprintCsvUploadForm,
    RecordResponseForm,
    WritebackRuleForm,
)
from integration.lib.csv import spreadsheet_safe
from integration.models import (
    CommunicationType,
    ContributorAction,
    CustomerServiceOutcome,
    Message,
    Work,
    WritebackRule,
)
from integration.selectors.status import (
    contributor_actions_for,
    customer_service_report,
    orphan_message_events,
)
from integration.selectors.timeline import (
    KINDS,
    timeline_filters_from,
    title_communication_outcomes,
    title_timeline,
)
from integration.status.contributor_actions import contributor_action_assign
from integration.status.customer_service import customer_service_import_csv
from integration.status.imports import STATUS_CSV_COLUMNS, message_status_import_csv
from integration.status.responses import contributor_action_record_response
from integration.status.writeback import writeback_rule_set

TIMELINE_PAGE = 50
BOARD_PAGE = 25


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV lines (streamable), every cell protected against spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    yield buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Any:
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


# --- timeline ------------------------------------------------------------------------------


def _work_for(request: AuthedRequest, work_id: int) -> Work:
    work = policy.for_user(request.user, Work.objects.all()).filter(pk=work_id).first()
    if work is None:
        raise Http404("No such title in your imprints.")
    return work


def timeline_context(request: AuthedRequest, work: Work) -> dict[str, Any]:
    filters, errors = timeline_filters_from(request.GET)
    page = title_timeline(
        user=request.user,
        work=work,
        filters=filters,
        cursor=request.GET.get("cursor", ""),
        limit=TIMELINE_PAGE,
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    # The newest page (no cursor, a cursor that was not ours, or "newer" back to the top)
    # carries the per-communication outcomes.
    first_page = not page.has_prev
    return {
        "work": work,
        "outcomes": (
            title_communication_outcomes(user=request.user, work=work) if first_page else []
        ),
        "types": CommunicationType.objects.order_by("name"),
        "timeline": page,
        "filters": filters,
        "filter_errors": errors,
        "query": query.urlencode(),
        "kinds": KINDS.items(),
        "statuses": Message.Status.choices,
        "is_first_page": first_page,
    }


@login_required
def title_timeline_view(request: AuthedRequest, work_id: int) -> HttpResponse:
    work = _work_for(request, work_id)
    context = timeline_context(request, work)
    template = "timeline/_timeline.html" if request.htmx else "timeline/title.html"
    return render(request, template, context)


@login_required
def title_timeline_export(request: AuthedRequest, work_id: int) -> HttpResponse:
    work = _work_for(request, work_id)
    filters, _ = timeline_filters_from(request.GET)
    page = title_timeline(user=request.user, work=work, filters=filters, limit=None)
    rows = (
        (
            e.at.isoformat(),
            e.kind_label,
            e.title,
            e.detail,
            e.status,
            e.channel,
            e.recipient,
            e.type,
        )
        for e in page.entries
    )
    header = ["at", "kind", "title", "detail", "status", "channel", "recipient", "type"]
    response: HttpResponse = csv_response(f"timeline-work-{work.pk}.csv", header, rows)
    return response


@login_required
def orphans(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.OPERATE)):
        raise PermissionDenied("Unmatched status events are for imprint admins.")
    page = Paginator(orphan_message_events(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "timeline/orphans.html", {"page": page, "query": ""})


# --- contributor actions -----------------------------------------------------------------


def _owners(user: User) -> Any:
    imprint_ids = policy.imprint_ids_for(user, Action.VIEW)
    roles = policy.ROLE_ACTIONS[Action.RECORD_RESPONSE]
    member_ids = Membership.objects.filter(imprint_id__in=imprint_ids, role__in=roles).values(
        "user_id"
    )
    return User.objects.filter(pk__in=member_ids, is_active=True).order_by("email")


@login_required
def board(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.VIEW)):
        raise PermissionDenied("You have no imprint.")
    imprint_id = _int(request.GET.get("imprint")) or (
        request.imprint.pk if request.imprint else None
    )
    state = request.GET.get("state", "")
    if state not in ContributorAction.State.values:
        state = ""
    owner_param = request.GET.get("owner", "")
    owner_id = request.user.pk if owner_param == "me" else _int(owner_param)
    actions = contributor_actions_for(
        user=request.user,
        imprint_id=imprint_id,
        owner_id=owner_id,
        state=state,
        due_before=_date(request.GET.get("due_before")),
        due_after=_date(request.GET.get("due_after")),
        open_only=not state,
    )
    page = Paginator(actions, BOARD_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "actions/board.html",
        {
            "page": page,
            "query": query.urlencode(),
            "imprints": policy.imprints_for(request.user),
            "owners": _owners(request.user),
            "states": ContributorAction.State.choices,
            "f": {
                "imprint": imprint_id,
                "state": state,
                "owner": owner_param,
                "due_before": request.GET.get("due_before", ""),
                "due_after": request.GET.get("due_after", ""),
            },
            "can_record": request.user.is_superuser
            or bool(policy.imprint_ids_for(request.user, Action.RECORD_RESPONSE)),
            "can_configure": request.user.is_superuser
            or bool(policy.imprint_ids_for(request.user, Action.CONFIGURE)),
            "can_operate": request.user.is_superuser
            or bool(policy.imprint_ids_for(request.user, Action.OPERATE)),
            # *Draft reminder* only where the person may draft contributor mail (a viewer
            # was offered the button and refused on clicking it)
            "remind_imprints": {
                i.pk
                for i in policy.imprints_for(request.user)
                if policy.can_draft(request.user, Category.CONTRIBUTOR, i.pk)
            },
        },
    )


def _action_for(request: AuthedRequest, pk: int) -> ContributorAction:
    action = contributor_actions_for(user=request.user).filter(pk=pk).first()
    if action is None:
        raise Http404("No such action in your imprints.")
    return action


@login_required
def action_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    return _render_detail(request, action, RecordResponseForm(), status=200)


def _render_detail(
    request: AuthedRequest, action: ContributorAction, form: RecordResponseForm, status: int
) -> HttpResponse:
    return render(
        request,
        "actions/detail.html",
        {
            "action": action,
            "state": action.display_state(),
            "form": form,
            "assign_form": AssignForm(
                owners=_owners(request.user), initial={"owner": action.owner_id}
            ),
            "can_record": policy.can(request.user, Action.RECORD_RESPONSE, action.imprint_id),
            "can_remind": policy.can_draft(request.user, Category.CONTRIBUTOR, action.imprint_id),
            "events": action.message.events.order_by("-occurred_at", "-id")[:50],
        },
        status=status,
    )


@login_required
@require_POST
def action_record(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    policy.require(request.user, Action.RECORD_RESPONSE, action.imprint_id)
    form = RecordResponseForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, action, form, status=400)
    try:
        contributor_action_record_response(
            actor=request.user,
            action=action,
            responded_on=form.cleaned_data["responded_on"],
            note=form.cleaned_data["note"],
            status=form.cleaned_data["status"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_detail(request, action, form, status=400)
    messages.success(request, f"Recorded for {action.recipient_name}.")
    return redirect("actions:detail", pk=action.pk)


@login_required
@require_POST
def action_assign(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    policy.require(request.user, Action.RECORD_RESPONSE, action.imprint_id)
    form = AssignForm(request.POST, owners=_owners(request.user))
    if form.is_valid():
        try:
            contributor_action_assign(
                actor=request.user, action=action, owner=form.cleaned_data["owner"]
            )
            messages.success(request, "Owner changed.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose someone from the list.")
    return redirect("actions:detail", pk=action.pk)


@login_required
@require_POST
def action_remind(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    if not policy.can_draft(request.user, Category.CONTRIBUTOR, action.imprint_id):
        raise PermissionDenied("You may not draft contributor communications in this imprint.")
    try:
        reminder = contributor_action_remind(actor=request.user, action=action)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("actions:detail", pk=action.pk)
    messages.success(
        request,
        format_html(
            'Drafted <a href="{}">“{}”</a>. Check it, then submit it as usual.',
            reverse("communications:detail", args=[reminder.pk]),
            reminder.name,
        ),
    )
    return redirect(safe_next(request, reverse("actions:detail", args=[action.pk])))


@login_required
def status_import(request: AuthedRequest) -> HttpResponse:
    if not (
        request.user.is_superuser or policy.imprint_ids_for(request.user, Action.RECORD_RESPONSE)
    ):
        raise PermissionDenied("Recording returned mail and responses needs a project manager.")
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = message_status_import_csv(
                actor=request.user, raw=upload.read(), filename=upload.name
            )
        except ValidationError as exc:
            problems = exc.messages
            status = 400
        else:
            applied = result.applied
            messages.success(
                request,
                f"{result.rows} rows: {applied.recorded} recorded, {applied.duplicates} already "
                f"known, {applied.moved} messages moved on.",
            )
            return redirect("actions:import")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "actions/import.html",
        {"form": form, "problems": problems, "columns": STATUS_CSV_COLUMNS},
        status=status,
    )


@login_required
def writeback_rules(request: AuthedRequest) -> HttpResponse:
    imprints = policy.imprints_for(request.user, Action.CONFIGURE)
    if not (request.user.is_superuser or imprints.exists()):
        raise PermissionDenied("Write-back rules are set by imprint admins.")
    form = WritebackRuleForm(request.POST or None, imprints=imprints)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                writeback_rule_set(
                    actor=request.user,
                    imprint_id=form.cleaned_data["imprint"].pk,
                    event_kind=form.cleaned_data["event_kind"],
                    mutation=form.cleaned_data["mutation"],
                    enabled=form.cleaned_data["enabled"],
                )
                messages.success(request, "Write-back rule saved.")
                return redirect("actions:writeback_rules")
            except ValidationError as exc:
                for fieldname, errs in exc.message_dict.items():
                    form.add_error(fieldname if fieldname in form.fields else None, errs)
        status = 400
    rules = WritebackRule.objects.filter(imprint__in=imprints).select_related("imprint")
    return render(
        request, "actions/writeback_rules.html", {"form": form, "rules": rules}, status=status
    )


# --- customer-service report -----------------------------------------------------------------


def _report_args(request: AuthedRequest) -> dict[str, Any]:
    issue = request.GET.get("issue_type", "")
    return {
        "imprint_id": _int(request.GET.get("imprint"))
        or (request.imprint.pk if request.imprint else None),
        "issue_type": issue if issue in CustomerServiceOutcome.IssueType.values else "",
        "date_from": _date(request.GET.get("date_from")),
        "date_to": _date(request.GET.get("date_to")),
    }


def _require_viewer(request: AuthedRequest) -> None:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.VIEW)):
        raise PermissionDenied("You have no imprint.")


@login_required
def customer_service(request: AuthedRequest) -> HttpResponse:
    _require_viewer(request)
    args = _report_args(request)
    report = customer_service_report(user=request.user, **args)
    return render(
        request,
        "reports/customer_service.html",
        {
            "report": report,
            "f": args,
            "query": request.GET.urlencode(),
            "imprints": policy.imprints_for(request.user),
            "issue_types": CustomerServiceOutcome.IssueType.choices,
            "can_import": request.user.is_superuser
            or bool(policy.imprint_ids_for(request.user, Action.IMPORT)),
        },
    )


@login_required
def customer_service_export(request: AuthedRequest) -> HttpResponse:
    _require_viewer(request)
    report = customer_service_report(user=request.user, **_report_args(request))
    header = ["title", "issue_type", *[f"{m:%Y-%m}" for m in report.months], "total"]
    rows = ([r.title, r.issue_label, *r.counts, r.total] for r in report.rows)
    response: HttpResponse = csv_response("customer-service-outcomes.csv", header, rows)
    return response


@login_required
def customer_service_import(request: AuthedRequest) -> HttpResponse:
    imprints = policy.imprints_for(request.user, Action.IMPORT)
    if not (request.user.is_superuser or imprints.exists()):
        raise PermissionDenied("Importing outcomes needs an imprint admin, marketing or royalties.")
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = ImprintCsvUploadForm(
        request.POST or None, request.FILES or None, imprints=imprints, initial=initial
    )
    problems: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        imprint: Imprint = form.cleaned_data["imprint"]
        upload = form.cleaned_data["file"]
        try:
            created, known = customer_service_import_csv(
                actor=request.user, imprint_id=imprint.pk, raw=upload.read(), filename=upload.name
            )
        except ValidationError as exc:
            problems = exc.messages
            status = 400
        else:
            messages.success(request, f"{created} outcomes imported, {known} already known.")
            return redirect("reports:customer_service")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reports/customer_service_import.html",
        {"form": form, "problems": problems},
        status=status,
    )
