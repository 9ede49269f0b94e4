"""A title's launch plan (flow 5), linked from the title page: what the launch would send in a
territory, format by format (retailer notices by availability and sales rights, the advance
reader communication), with the cover, and the post-launch follow-ups scheduled from each
format's publication date. Marketing drafts the communications from here through the same
service as the REST API (``launch_communications_draft``)."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.models import Territory
from accounts.policy import Category
from accounts.types import AuthedRequest
from integration.catalogue.selectors import title_get
from integration.communications.launch import (
    ADVANCE_READER,
    RETAILER_NOTICE,
    launch_choices,
    launch_communications_draft,
)
from integration.models import Audience, CommunicationType, Work
from integration.selectors.communications import audiences_to_choose
from integration.selectors.launch import launch_follow_ups

DEFAULT_TERRITORY = "GB"


class TerritoryForm(forms.Form):
    """The territory as a code (GB, US, WORLD …). Known territories are suggested; any code is
    accepted, as the API accepts it, because Colophon's territory list may be incomplete."""

    territory = forms.RegexField(
        regex=r"^[A-Za-z0-9]{2,10}$",
        label="Territory",
        help_text="A country code (GB, US …) or a group (WORLD).",
        error_messages={"invalid": "A territory code: two to ten letters, e.g. GB."},
        widget=forms.TextInput(attrs={"list": "territory-codes", "size": 8}),
    )


class LaunchDraftForm(forms.Form):
    territory = forms.CharField(widget=forms.HiddenInput)
    retailer_audience = forms.ModelChoiceField(
        queryset=Audience.objects.none(),
        label="Retailers",
        help_text="Who gets the retailer notices (one per format chosen).",
    )
    reader_audience = forms.ModelChoiceField(
        queryset=Audience.objects.none(),
        required=False,
        label="Advance readers",
        empty_label="No advance reader communication",
        help_text="Who gets the reading copy, while a format is still forthcoming.",
    )
    link = forms.URLField(
        required=False,
        label="Reading copy link",
        assume_scheme="https",
        help_text="Where advance readers download the copy (the campaign's link); optional.",
    )

    def __init__(self, *args: Any, work: Work, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        audiences = audiences_to_choose(imprint_ids=[work.imprint_id])
        for name in ("retailer_audience", "reader_audience"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = audiences


def _may_draft(request: AuthedRequest, work: Work) -> bool:
    return all(
        policy.can_draft(request.user, c, work.imprint)
        for c in (Category.PARTNER, Category.MARKETING)
    )


def _cover(work: Work) -> Any:
    resources = list(work.supporting_resources.all())
    covers = [r for r in resources if r.is_cover] or [
        r for r in resources if (r.content_type or "").startswith("image/")
    ]
    return covers[0] if covers else None


def _territory(request: AuthedRequest) -> tuple[TerritoryForm, str]:
    raw = (request.GET.get("territory") or request.POST.get("territory") or "").strip().upper()
    form = TerritoryForm({"territory": raw or DEFAULT_TERRITORY})
    if form.is_valid():
        return form, str(form.cleaned_data["territory"]).upper()
    return form, ""


@login_required
@require_http_methods(["GET", "POST"])
def title_launch(request: AuthedRequest, pk: int) -> HttpResponse:
    work = title_get(request.user, pk)  # 404 for another imprint's title
    territory_form, territory = _territory(request)
    may_draft = _may_draft(request, work)
    draft_form = LaunchDraftForm(
        request.POST if request.method == "POST" else None,
        work=work,
        initial={"territory": territory},
    )
    status = 200
    if request.method == "POST":
        if not may_draft:
            raise PermissionDenied(
                "Drafting launch communications needs a drafting role for partner and "
                "marketing communications in this imprint."
            )
        if not territory:
            status = 400
        elif draft_form.is_valid():
            data = draft_form.cleaned_data
            link = data.get("link")
            try:
                result = launch_communications_draft(
                    actor=request.user,
                    work=work,
                    territory_code=territory,
                    retailer_audience=data["retailer_audience"],
                    reader_audience=data.get("reader_audience"),
                    campaign={"link": link} if link else None,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    draft_form.add_error(field if field in draft_form.fields else None, errors)
                status = 400
            else:
                messages.success(
                    request,
                    f"{len(result.created)} launch communication(s) drafted, "
                    f"{len(result.existing)} already drafted; each is composed, previewed and "
                    "approved as usual.",
                )
                url = reverse("titles:launch", args=[work.pk])
                return redirect(f"{url}?{urlencode({'territory': territory})}")
        else:
            status = 400
    plan = launch_choices(work=work, territory_code=territory) if territory else None
    names = dict(
        CommunicationType.objects.filter(code__in=[RETAILER_NOTICE, ADVANCE_READER]).values_list(
            "code", "name"
        )
    )
    types = {
        "retailer_notice": names.get(RETAILER_NOTICE),
        "advance_reader": names.get(ADVANCE_READER),
    }
    # The focus starts on the territory; after a refused draft, on the draft form.
    focused = draft_form if draft_form.is_bound else territory_form
    first = next(f for f in focused.fields.values() if not f.widget.is_hidden)
    first.widget.attrs["autofocus"] = True
    today = timezone.localdate()
    follow_ups = launch_follow_ups(work=work, today=today)
    for row in follow_ups:
        delta: datetime.timedelta = row["scheduled_for"] - row["publication_date"]
        row["days_after"] = delta.days
    launch_drafts = (
        work.communications.filter(
            communication_type__code__in=[RETAILER_NOTICE, ADVANCE_READER],
            trigger_key__startswith="launch:",
        )
        .select_related("communication_type")
        .order_by("-created_at")[:50]
    )
    return render(
        request,
        "titles/launch.html",
        {
            "work": work,
            "cover": _cover(work),
            "territory_form": territory_form,
            "territories": Territory.objects.order_by("kind", "code"),
            "territory": territory,
            "plan": plan,
            "type_names": types,
            "follow_ups": follow_ups,
            "may_draft": may_draft,
            "draft_form": draft_form,
            "drafts": launch_drafts,
        },
        status=status,
    )
