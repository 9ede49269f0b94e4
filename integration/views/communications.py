"""Communications screens: list, new, detail (with compose progress, preview, approvals,
outbox chunks), actions and the approvals queue. Thin: services decide and audit; the policy
narrows every queryset (another imprint's communication is a 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action, Category
from accounts.types import AuthedRequest
from integration.communications.approval import (
    approve_refusal,
    cancel_refusal,
    communication_approve,
    communication_cancel,
    communication_reject,
    communication_submit,
)
from integration.communications.chunks import current_outbox_items, outbox_items
from integration.communications.create import communication_create, communication_recompose
from integration.communications.grant import submit_refusal
from integration.communications.preview import communication_preview
from integration.communications.replay import communication_replay
from integration.communications.stalls import (
    communication_compose_restart,
    compose_restart_refusal,
    compose_stalled_minutes,
)
from integration.forms.communications import CommunicationForm, FilterForm, RejectForm
from integration.models import Communication, Message, Work
from integration.selectors.communications import (
    approvals_for,
    category_label,
    communications_for,
    contracts_for_drafting,
    draftable_types,
    incomplete_types,
    with_failure_counts,
)
from integration.setup.templates import template_resolve

PAGE_SIZE = 25
S = Communication.Status


def _get(request: AuthedRequest, pk: int) -> Communication:
    return get_object_or_404(communications_for(user=request.user), pk=pk)


@dataclass
class ActionState:
    name: str
    label: str
    allowed: bool
    reason: str = ""
    danger: bool = False


def available_actions(user: Any, c: Communication) -> list[ActionState]:
    """Every action with whether this user may take it now, and why not."""
    out: list[ActionState] = []
    category = c.category
    drafter = policy.can_draft(user, category, c)
    not_drafter = (
        f"Only someone who drafts {category_label(category)} communications in this imprint "
        "may do this."
    )
    if c.status in (S.DRAFT, S.REJECTED, S.COMPOSING):
        refusal = submit_refusal(c)
        out.append(
            ActionState(
                "submit",
                "Submit for approval",
                drafter and refusal is None,
                refusal or ("" if drafter else not_drafter),
            )
        )
        out.append(
            ActionState(
                "recompose",
                "Recompose from current data",
                drafter and c.status != S.COMPOSING,
                "It is composing now."
                if c.status == S.COMPOSING
                else ""
                if drafter
                else not_drafter,
            )
        )
    if c.status in (S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.QUEUED):
        can_preview = policy.can(user, Action.PREVIEW, c)
        out.append(
            ActionState(
                "preview",
                "Preview a sample",
                can_preview and c.recipient_count > 0,
                "Previewing needs a drafting or approving role here."
                if not can_preview
                else ""
                if c.recipient_count > 0
                else "There are no recipients to preview.",
            )
        )
    if c.status == S.SUBMITTED:
        refusal = approve_refusal(user, c)
        out.append(ActionState("approve", "Approve and send", refusal is None, refusal or ""))
        out.append(
            ActionState(
                "reject",
                "Reject",
                policy.approval_refusal(user, category, c, author_ids=c.author_ids()) is None,
                refusal or "",
                danger=True,
            )
        )
    cancel = cancel_refusal(user, c)
    if c.status in (S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.QUEUED):
        out.append(ActionState("cancel", "Cancel", cancel is None, cancel or "", danger=True))
    if c.status in (S.PARTIALLY_FAILED, S.FAILED, S.SENDING):
        dead = current_outbox_items(c).filter(status="dead").exists()
        operator = policy.can(user, Action.OPERATE, c)
        if dead:
            out.append(
                ActionState(
                    "replay",
                    "Replay failed chunks",
                    operator,
                    "" if operator else "Replaying dead letters is for imprint admins.",
                )
            )
    return out


@login_required
def communication_list(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.VIEW)):
        raise PermissionDenied("Communications are for the staff of an imprint.")
    form = FilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {
            "status": form.cleaned_data.get("status") or "",
            "type_id": form.cleaned_data["communication_type"].pk
            if form.cleaned_data.get("communication_type")
            else None,
            "work_id": form.cleaned_data.get("work"),
            "q": form.cleaned_data.get("q") or "",
        }
    qs = communications_for(user=request.user, imprint=request.imprint, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_failure_counts(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    can_draft = request.user.is_superuser or bool(
        policy.imprint_ids_for(request.user, Action.DRAFT)
    )
    # the weekly partner notices need a partner drafting role (others were linked to a refusal)
    can_draft_partner = any(
        policy.can_draft(request.user, Category.PARTNER, i)
        for i in policy.imprints_for(request.user)
    )
    return render(
        request,
        "communications/list.html",
        {
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "can_draft": can_draft,
            "can_draft_partner": can_draft_partner,
        },
    )


@login_required
def contract_options(request: AuthedRequest) -> HttpResponse:
    """The contract <option>s for the title chosen on the new-communication form (htmx)."""
    raw = request.GET.get("work", "")
    contracts = contracts_for_drafting(
        user=request.user, work_id=int(raw) if raw.isdigit() else None
    )
    return render(request, "communications/_contract_options.html", {"contracts": contracts[:200]})


@login_required
def communication_new(request: AuthedRequest) -> HttpResponse:
    imprints = policy.imprints_for(request.user, Action.DRAFT)
    if request.imprint is not None:
        imprints = imprints.filter(pk=request.imprint.pk)
    ids = set(imprints.values_list("pk", flat=True))
    if not ids:
        raise PermissionDenied("Drafting communications needs a drafting role in an imprint.")
    types = draftable_types(request.user, ids)
    initial: dict[str, Any] = {}
    work = None
    raw_work = request.GET.get("work", "")
    if raw_work.isdigit():
        work = (
            policy.for_user(request.user, Work.objects.all(), Action.VIEW)
            .filter(pk=int(raw_work), imprint_id__in=ids)
            .first()
        )
        if work is None:
            raise Http404("No such title in the imprints where you draft.")
        initial = {"work": work.pk, "imprint": work.imprint_id}
    elif len(ids) == 1:
        initial = {"imprint": next(iter(ids))}
    form = CommunicationForm(request.POST or None, initial=initial, imprints=imprints, types=types)
    incomplete = incomplete_types(ids)
    form.fields["communication_type"].label_from_instance = (  # type: ignore[attr-defined]
        lambda t: f"{t} — template incomplete: {incomplete[t.pk]}" if t.pk in incomplete else str(t)
    )
    resolution = None
    if form.is_valid():
        data = form.cleaned_data
        if request.POST.get("check"):
            resolution = template_resolve(
                communication_type=data["communication_type"],
                imprint=data["imprint"],
                territory_code=(data["territory_code"] or data["audience"].territory_code).upper(),
                language=data["language"],
                on_date=timezone.localdate(),
            )
        else:
            try:
                communication = communication_create(
                    actor=request.user,
                    imprint=data["imprint"],
                    communication_type=data["communication_type"],
                    audience=data["audience"],
                    work=data["work"],
                    contract=data["contract"],
                    royalty_import=data.get("royalty_import"),
                    name=data["name"],
                    territory_code=data["territory_code"],
                    language=data["language"],
                    channels=data["channels"] or None,
                    offer=data["offer"],
                    campaign=data["campaign"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    target = field if field in form.fields else None
                    for error in errors:
                        form.add_error(target, error)
            except PermissionDenied as exc:
                form.add_error("communication_type", str(exc))
            else:
                messages.success(request, f"“{communication}” is composing.")
                return redirect("communications:detail", pk=communication.pk)
    return render(
        request,
        "communications/form.html",
        {"form": form, "work": work, "resolution": resolution},
    )


def _detail_context(request: AuthedRequest, c: Communication) -> dict[str, Any]:
    findings: dict[tuple[str, str], int] = {}
    for row in (
        Message.objects.filter(communication=c)
        .exclude(findings=[])
        .values_list("findings", flat=True)[:2000]
    ):
        for f in row:
            key = (f.get("severity", ""), f.get("rule", ""))
            findings[key] = findings.get(key, 0) + 1
    chunks = list(outbox_items(c).prefetch_related("attempt_rows"))
    message_page = Paginator(
        Message.objects.filter(communication=c).order_by("sequence"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    with_failure_counts([c])
    return {
        "c": c,
        "actions": available_actions(request.user, c),
        "findings": sorted(findings.items(), key=lambda kv: (kv[0][0] != "blocking", -kv[1])),
        "previews": c.previews.select_related("message").order_by("message__sequence"),
        "approvals": c.approvals.select_related("decided_by"),
        "chunks": chunks,
        "chunk_counts": dict(
            Message.objects.filter(communication=c)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        ),
        "message_page": message_page,
        "reject_form": RejectForm(),
        "composing": c.status == S.COMPOSING,
        **_compose_state(request.user, c),
    }


def _compose_state(user: Any, c: Communication) -> dict[str, Any]:
    """For the progress fragment: minutes without progress when stalled, and whether this
    user may restart composing."""
    stalled = compose_stalled_minutes(c)
    return {
        "sweep_minutes": settings.COMMUNICATION_COMPOSE_SWEEP_MINUTES,
        "stalled_minutes": stalled,
        "can_restart": stalled is not None and compose_restart_refusal(user, c) is None,
    }


@login_required
def communication_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    c = _get(request, pk)
    return render(request, "communications/detail.html", _detail_context(request, c))


@login_required
def communication_progress(request: AuthedRequest, pk: int) -> HttpResponse:
    """The compose progress fragment, polled by htmx while composing."""
    c = _get(request, pk)
    response = render(
        request, "communications/_progress.html", {"c": c, **_compose_state(request.user, c)}
    )
    if c.status != S.COMPOSING and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def _act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    c = _get(request, pk)
    try:
        if action == "submit":
            communication_submit(actor=request.user, communication=c)
            messages.success(request, "Submitted; approvers have been told.")
        elif action == "approve":
            communication_approve(
                actor=request.user, communication=c, comment=request.POST.get("comment", "")
            )
            messages.success(request, "Approved; it is queued for Exstream.")
        elif action == "reject":
            communication_reject(
                actor=request.user, communication=c, comment=request.POST.get("comment", "")
            )
            messages.success(request, "Rejected; the drafter sees your comment.")
        elif action == "cancel":
            communication_cancel(actor=request.user, communication=c)
            messages.success(request, "Cancelled; nothing will be sent.")
        elif action == "recompose":
            communication_recompose(actor=request.user, communication=c)
            messages.success(request, "Recomposing from current data.")
        elif action == "preview":
            previews = communication_preview(actor=request.user, communication=c)
            failed = sum(1 for p in previews if p.error)
            if failed:
                messages.error(request, f"{failed} of {len(previews)} previews failed; see below.")
            else:
                messages.success(request, f"Rendered {len(previews)} previews through Exstream.")
        elif action == "restart-compose":
            communication_compose_restart(actor=request.user, communication=c)
            messages.success(request, "Composing restarted from the first recipient.")
        elif action == "replay":
            n = communication_replay(actor=request.user, communication=c)
            messages.success(request, f"Replaying {n} failed chunk(s).")
        else:
            raise Http404("No such action.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("communications:detail", pk=c.pk)


@login_required
@require_POST
def communication_action(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    return _act(request, pk, action)


@login_required
def approvals(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.APPROVE)):
        raise PermissionDenied("The approvals queue is for people who approve communications.")
    qs = approvals_for(user=request.user, imprint=request.imprint)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "communications/approvals.html", {"page": page, "query": ""})
