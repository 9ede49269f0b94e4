from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.types import AuthedRequest
from integration.delivery.outbox import outbox_cancel, outbox_replay
from integration.models import OutboxItem
from integration.selectors.operations import (
    outbox_counts_for,
    outbox_items_for,
    queue_summary,
    worker_state,
)


def _require_operator(request: AuthedRequest) -> None:
    if not (
        request.user.is_superuser or policy.imprint_ids_for(request.user, policy.Action.OPERATE)
    ):
        raise PermissionDenied("Operations is for imprint admins.")


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    _require_operator(request)
    context = {
        "worker": worker_state(),
        "queue": queue_summary(),
        "outbox_counts": outbox_counts_for(user=request.user),
    }
    template = "operations/_status.html" if request.htmx else "operations/index.html"
    return render(request, template, context)


@login_required
def outbox_list(request: AuthedRequest) -> HttpResponse:
    _require_operator(request)
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status and status not in OutboxItem.Status.values:
        status = ""
    if kind and kind not in OutboxItem.Kind.values:
        kind = ""
    items = outbox_items_for(user=request.user, status=status, kind=kind).prefetch_related(
        "attempt_rows"
    )
    page = Paginator(items, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "operations/outbox.html",
        {
            "page": page,
            "query": query.urlencode(),
            "status": status,
            "kind": kind,
            "statuses": OutboxItem.Status.choices,
            "kinds": OutboxItem.Kind.choices,
        },
    )


def _item_for_operator(request: AuthedRequest, pk: int) -> OutboxItem:
    item = outbox_items_for(user=request.user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such outbox item in your imprints.")
    return item


@login_required
@require_POST
def outbox_replay_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_operator(request)
    item = _item_for_operator(request, pk)
    try:
        outbox_replay(actor=request.user, item=item)
        messages.success(request, f"Replaying {item.external_id}.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("operations:outbox") + "?status=dead")


@login_required
@require_POST
def outbox_cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_operator(request)
    item = _item_for_operator(request, pk)
    try:
        outbox_cancel(actor=request.user, item=item)
        messages.success(request, f"Cancelled {item.external_id}; it will not be sent.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("operations:outbox") + "?status=dead")
