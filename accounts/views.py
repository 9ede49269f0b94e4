from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.forms import AuditFilterForm
from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from accounts.redirects import safe_next
from accounts.selectors import audit_events_for
from accounts.types import AuthedRequest


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("imprint")
        .order_by("imprint__name", "role")
    )
    return render(request, "accounts/home.html", {"memberships": memberships})


@login_required
@require_POST
def switch_imprint(request: AuthedRequest) -> HttpResponse:
    """Choose the imprint the screens narrow to; only the user's own imprints are accepted."""
    raw = request.POST.get("imprint", "")
    if raw == "":
        request.session.pop(SESSION_KEY, None)
        messages.info(request, "Showing all your imprints.")
    else:
        imprint = policy.imprints_for(request.user).filter(pk=raw if raw.isdigit() else -1).first()
        if imprint is None:
            raise PermissionDenied("You do not belong to that imprint.")
        request.session[SESSION_KEY] = imprint.pk
        messages.info(request, f"Now working in {imprint.name}.")
    return HttpResponseRedirect(safe_next(request, "/"))


@login_required
def audit_log(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, policy.Action.AUDIT)):
        raise PermissionDenied("The audit log is for imprint admins.")
    form = AuditFilterForm(
        request.GET or None, imprints=policy.imprints_for(request.user, policy.Action.AUDIT)
    )
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = audit_events_for(
        user=request.user,
        imprint_id=data["imprint"].pk if data.get("imprint") else None,
        actor=data.get("actor") or "",
        verb=data.get("verb") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "accounts/_audit_rows.html" if request.htmx else "accounts/audit_log.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})
