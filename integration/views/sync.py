"""The Sync screen: Consonance run history and live progress (htmx polling), Sync now."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.types import AuthedRequest
from integration.catalogue.selectors import can_start_sync, can_view_sync, sync_run_list
from integration.catalogue.sync import SyncAlreadyRunning, sync_run_start
from integration.connectors.consonance.client import base_url


@login_required
def sync_index(request: AuthedRequest) -> HttpResponse:
    if not can_view_sync(request.user):
        raise PermissionDenied("The sync screen is for staff of an imprint.")
    page = Paginator(sync_run_list(request.user), 20).get_page(request.GET.get("page"))
    active = any(run.is_active for run in page)
    context = {
        "page": page,
        "active": active,
        "can_start": can_start_sync(request.user),
        "using_sandbox": not settings.CONSONANCE_URL,
        "consonance_url": base_url(),
    }
    template = "sync/_runs.html" if request.htmx else "sync/index.html"
    return render(request, template, context)


@login_required
@require_POST
def sync_start(request: AuthedRequest) -> HttpResponse:
    if not can_start_sync(request.user):
        raise PermissionDenied("Starting a sync needs the imprint admin role.")
    full = request.POST.get("full") == "1"
    try:
        run = sync_run_start(actor=request.user, full=full)
    except SyncAlreadyRunning as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, f"Sync {run.pk} queued; progress appears below.")
    return redirect("sync:index")
