"""Template screens: a template with its driver-field mappings, mapping edits, and trying the
template with a title's data.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms import setup as setup_forms
from integration.models import (
    CommunicationTemplate,
    FieldMapping,
    Work,
)
from integration.setup.context import FIELDS, build_context
from integration.setup.mappings import (
    build_driver_data,
    mapping_delete,
    mapping_problems,
    mapping_save,
)
from integration.views.setup_common import can_configure, get_visible


@login_required
def template_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    template = get_visible(request, CommunicationTemplate, pk)
    mappings = template.mappings.all()
    return render(
        request,
        "setup/template_detail.html",
        {
            "template": template,
            "mappings": mappings,
            "problems": mapping_problems(template),
            "can_configure": can_configure(request, template),
            "try_form": setup_forms.TryForm(),
            "driver_fields": template.exstream_communication.driver_fields,
        },
    )


@login_required
def mapping_form(request: AuthedRequest, pk: int, mapping_pk: int | None = None) -> HttpResponse:
    template = get_visible(request, CommunicationTemplate, pk)
    policy.require(request.user, Action.CONFIGURE, template)
    mapping = (
        get_object_or_404(FieldMapping, pk=mapping_pk, template=template) if mapping_pk else None
    )
    form = setup_forms.MappingForm(request.POST or None, instance=mapping, template=template)
    if request.method == "POST" and form.is_valid():
        try:
            mapping_save(
                actor=request.user,
                template=template,
                mapping=mapping,
                driver_field=form.cleaned_data["driver_field"],
                context_field=form.cleaned_data["context_field"],
                transforms=form.cleaned_data["transforms"],
                required=form.cleaned_data["required"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Mapping saved.")
            return redirect("setup:template_detail", pk=template.pk)
    return render(
        request,
        "setup/mapping_form.html",
        {"template": template, "form": form, "mapping": mapping, "fields": FIELDS},
    )


@login_required
@require_POST
def mapping_remove(request: AuthedRequest, pk: int, mapping_pk: int) -> HttpResponse:
    template = get_visible(request, CommunicationTemplate, pk)
    policy.require(request.user, Action.CONFIGURE, template)
    mapping = get_object_or_404(FieldMapping, pk=mapping_pk, template=template)
    mapping_delete(actor=request.user, mapping=mapping)
    messages.success(request, f"Removed the mapping for {mapping.driver_field}.")
    return redirect("setup:template_detail", pk=template.pk)


@login_required
def template_try(request: AuthedRequest, pk: int) -> HttpResponse:
    """'Try with title X': the driver JSON this template would send (sample values fill gaps)."""
    template = get_visible(request, CommunicationTemplate, pk)
    form = setup_forms.TryForm(request.GET or None)
    work = None
    matches: list[Work] = []
    if form.is_valid():
        works = policy.for_user(request.user, Work.objects.all(), Action.VIEW)
        if template.imprint_id:
            works = works.filter(imprint_id=template.imprint_id)
        if form.cleaned_data.get("work"):
            work = works.filter(pk=form.cleaned_data["work"]).first()
        elif form.cleaned_data.get("title"):
            text = form.cleaned_data["title"]
            matches = list(
                works.filter(Q(title__icontains=text) | Q(products__isbn13=text)).distinct()[:10]
            )
            if len(matches) == 1:
                work = matches[0]
    context = build_context(work=work, territory=template.territory_code or "GB", sample=True)
    driver, problems = build_driver_data(template=template, context=context)
    return render(
        request,
        # htmx swaps the fragment in place; without JavaScript it is a page of its own
        "setup/_try.html" if request.htmx else "setup/try.html",
        {
            "template": template,
            "work": work,
            "matches": matches,
            "driver_json": json.dumps(driver, indent=2, ensure_ascii=False),
            "problems": problems,
            "searched": form.cleaned_data.get("title", "") if form.is_valid() else "",
        },
    )
