from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from accounts import policy
from accounts.types import AuthedRequest
from integration.selectors.operations import queue_summary, worker_state


def _require_operator(request: AuthedRequest) -> None:
    if not (
        request.user.is_superuser or policy.imprint_ids_for(request.user, policy.Action.OPERATE)
    ):
        raise PermissionDenied("Operations is for imprint admins.")


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    _require_operator(request)
    context = {"worker": worker_state(), "queue": queue_summary()}
    template = "operations/_status.html" if request.htmx else "operations/index.html"
    return render(request, template, context)
