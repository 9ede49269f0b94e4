"""The partner notices screen (flow 7): marketing drafts the period's metadata change notices —
one per changed title, every change listed old → new — for a partner audience."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.models import Imprint
from accounts.policy import Category
from accounts.types import AuthedRequest
from integration.communications.partner_notices import partner_notices_draft
from integration.models import Audience
from integration.selectors.communications import audiences_to_choose


class PartnerNoticesForm(forms.Form):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())
    audience = forms.ModelChoiceField(
        queryset=Audience.objects.none(),
        help_text="The partners: retailers, wholesalers, libraries, distributors.",
    )
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, imprints: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["imprint"].queryset = imprints  # type: ignore[attr-defined]
        self.fields["audience"].queryset = audiences_to_choose(  # type: ignore[attr-defined]
            imprint_ids=imprints.values_list("pk", flat=True)
        )


@login_required
@require_http_methods(["GET", "POST"])
def partner_notices(request: AuthedRequest) -> HttpResponse:
    imprints = [
        i
        for i in policy.visible(request.user, Imprint.objects.order_by("name"))
        if policy.can_draft(request.user, Category.PARTNER, i)
    ]
    if not imprints:
        raise PermissionDenied("Partner notices need a drafting role for partner communications.")
    allowed = Imprint.objects.filter(pk__in=[i.pk for i in imprints]).order_by("name")
    today = timezone.localdate()
    form = PartnerNoticesForm(
        request.POST or None,
        imprints=allowed,
        initial={
            "imprint": imprints[0].pk,
            "period_start": today - datetime.timedelta(days=6),
            "period_end": today,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = partner_notices_draft(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                f"{len(result.created)} notice(s) drafted, {len(result.existing)} already "
                "drafted for this period; each is composed, previewed and approved as usual.",
            )
            return redirect("communications:list")
    return render(request, "communications/partner_notices.html", {"form": form})
