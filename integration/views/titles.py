"""Titles: a Consonance work with its products (formats). List and page."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts import policy
from accounts.types import AuthedRequest
from integration.catalogue.selectors import (
    can_start_sync,
    season_choices,
    title_get,
    title_list,
    work_change_events,
)
from integration.models import Product
from integration.views.status import timeline_context

STATUS_CHOICES = [
    ("", "Any status"),
    ("02", "Forthcoming"),
    ("04", "Active"),
    ("05", "No longer our product"),
    ("06", "Out of stock indefinitely"),
    ("07", "Out of print"),
    ("11", "Withdrawn from sale"),
]


class TitleFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", help_text="Title, ISBN or contributor")
    imprint = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Publishing status")
    season = forms.ChoiceField(required=False)
    published_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Published from",
    )
    published_to = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Published to",
    )

    def __init__(self, *args: object, request: AuthedRequest, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        imprints = policy.imprints_for(request.user, policy.Action.VIEW)
        self.fields["imprint"].choices = [("", "All my imprints")] + [  # type: ignore[attr-defined]
            (i.pk, i.name) for i in imprints
        ]
        self.fields["season"].choices = [("", "Any season")] + [  # type: ignore[attr-defined]
            (s, s) for s in season_choices(request.user)
        ]


@login_required
def title_list_view(request: AuthedRequest) -> HttpResponse:
    form = TitleFilterForm(request.GET or None, request=request)
    data = form.cleaned_data if form.is_valid() else {}
    imprint_id = data.get("imprint") or (request.imprint.pk if request.imprint else None)
    published_from: datetime.date | None = data.get("published_from")
    qs = title_list(
        request.user,
        imprint_id=imprint_id,
        q=(data.get("q") or "").strip(),
        status=data.get("status") or "",
        season=data.get("season") or "",
        published_from=published_from,
        published_to=data.get("published_to"),
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "titles/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_sync": can_start_sync(request.user),
            "can_import": request.user.is_superuser
            or bool(policy.imprint_ids_for(request.user, policy.Action.IMPORT)),
        },
    )


@login_required
def title_detail_view(request: AuthedRequest, pk: int) -> HttpResponse:
    work = title_get(request.user, pk)
    products: list[Product] = list(work.products.all())
    covers = [r for r in work.supporting_resources.all() if r.is_cover]
    return render(
        request,
        "titles/detail.html",
        {
            "work": work,
            "products": products,
            "cover": covers[0] if covers else None,
            "events": work_change_events(work.pk)[:100],
            **timeline_context(request, work),
        },
    )
