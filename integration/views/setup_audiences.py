"""Audience screens: recipients, uploading a list, and a formula-safe CSV export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms import setup as setup_forms
from integration.models import (
    Audience,
)
from integration.setup.audiences import (
    audience_count,
    audience_export_csv,
    audience_list_upload,
    audience_sample,
)
from integration.views.setup_common import can_configure, get_visible


@login_required
def audience_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    audience = get_visible(request, Audience, pk)
    return render(
        request,
        "setup/audience_detail.html",
        {
            "audience": audience,
            "count": audience_count(audience=audience),
            "sample": audience_sample(audience=audience, n=10),
            "upload_form": setup_forms.UploadForm(),
            "can_configure": can_configure(request, audience),
            "can_import": policy.can(request.user, Action.IMPORT, audience)
            and can_configure(request, audience),
        },
    )


@login_required
@require_POST
def audience_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    audience = get_visible(request, Audience, pk)
    policy.require(request.user, Action.CONFIGURE, audience)
    form = setup_forms.UploadForm(request.POST, request.FILES)
    errors: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = audience_list_upload(
                actor=request.user, audience=audience, filename=upload.name, data=upload.read()
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"Loaded {rows} recipients from {upload.name}.")
            return redirect("setup:audience_detail", pk=audience.pk)
    else:
        errors = [str(e) for e in form.errors.get("file", [])]
    return render(
        request,
        "setup/audience_detail.html",
        {
            "audience": audience,
            "count": audience_count(audience=audience),
            "sample": audience_sample(audience=audience, n=10),
            "upload_form": form,
            "upload_errors": errors,
            "can_configure": True,
        },
        status=400,
    )


@login_required
def audience_export(request: AuthedRequest, pk: int) -> StreamingHttpResponse:
    audience = get_visible(request, Audience, pk)
    policy.require(request.user, Action.CONFIGURE, audience)
    response = StreamingHttpResponse(
        audience_export_csv(audience=audience), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}.csv"'
    return response
