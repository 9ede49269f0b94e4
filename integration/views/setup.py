"""Setup screens: the overview, communication types, the generic list/create/edit/delete of
setup objects, template resolution, and export/import. Templates' mappings live in
``setup_templates``, audiences' recipient lists in ``setup_audiences``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms import setup as setup_forms
from integration.models import (
    CommunicationType,
    ComplianceRule,
    ImprintTypeSetting,
)
from integration.setup.mappings import (
    mapping_problems,
)
from integration.setup.templates import template_resolve
from integration.setup.transfer import (
    setup_export,
    setup_import,
    setup_object_delete,
    setup_object_save,
    setup_object_snapshot,
    type_auto_approval_set,
)
from integration.views.setup_common import (
    KINDS,
    Kind,
    can_configure,
    configurable_imprints,
    get_visible,
    paginate,
    require_staff,
    visible_objects,
)


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    require_staff(request)
    sections = []
    for kind in KINDS.values():
        qs = visible_objects(request, kind.model)
        if request.imprint is not None:
            qs = qs.filter(imprint=request.imprint)
        sections.append({"kind": kind, "count": qs.count()})
    return render(
        request,
        "setup/index.html",
        {
            "sections": sections,
            "type_count": CommunicationType.objects.count(),
            "can_configure": bool(
                request.user.is_superuser or policy.imprint_ids_for(request.user, Action.CONFIGURE)
            ),
        },
    )


@login_required
def types(request: AuthedRequest) -> HttpResponse:
    require_staff(request)
    imprint = request.imprint or policy.imprints_for(request.user, Action.VIEW).first()
    settings = {}
    if imprint is not None:
        settings = {
            s.communication_type_id: s
            for s in ImprintTypeSetting.objects.filter(imprint=imprint).select_related("updated_by")
        }
    rows = [{"type": t, "setting": settings.get(t.pk)} for t in CommunicationType.objects.all()]
    return render(
        request,
        "setup/types.html",
        {
            "rows": rows,
            "imprint": imprint,
            "can_configure": imprint is not None and can_configure(request, imprint),
        },
    )


@login_required
@require_POST
def type_auto_approval(request: AuthedRequest, pk: int) -> HttpResponse:
    ctype = get_object_or_404(CommunicationType, pk=pk)
    raw = request.POST.get("imprint", "")
    imprint = (
        policy.imprints_for(request.user, Action.VIEW)
        .filter(pk=int(raw) if raw.isdigit() else -1)
        .first()
    )
    if imprint is None:
        raise Http404("No such imprint.")
    policy.require(request.user, Action.CONFIGURE, imprint)
    wanted = request.POST.get("auto_approvable") == "on"
    type_auto_approval_set(
        actor=request.user, imprint=imprint, communication_type=ctype, auto_approvable=wanted
    )
    state = "no longer need approval" if wanted else "now need approval"
    messages.success(request, f"{ctype} drafts at {imprint} {state}.")
    return redirect("setup:types")


def _kind(slug: str) -> Kind:
    if slug not in KINDS:
        raise Http404("No such setup area.")
    return KINDS[slug]


@login_required
def object_list(request: AuthedRequest, kind: str) -> HttpResponse:
    require_staff(request)
    k = _kind(kind)
    imprints = policy.imprints_for(request.user, Action.VIEW)
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = setup_forms.FilterForm(request.GET or initial, imprints=imprints)
    qs = visible_objects(request, k.model)
    if form.is_valid():
        if form.cleaned_data.get("imprint"):
            imp = form.cleaned_data["imprint"]
            qs = (
                qs.filter(Q(imprint=imp) | Q(imprint__isnull=True))
                if k.slug == "templates"
                else qs.filter(imprint=imp)
            )
        if form.cleaned_data.get("q"):
            qs = qs.filter(name__icontains=form.cleaned_data["q"])
    qs = qs.select_related("imprint")
    page, query = paginate(request, qs)
    rows = [
        {
            "obj": obj,
            "cells": [_cell(obj, attr) for attr, _ in k.columns],
            "can_edit": can_configure(request, obj),
            "problems": mapping_problems(obj) if k.slug == "templates" else [],
        }
        for obj in page
    ]
    template = "setup/_rows.html" if request.htmx else "setup/list.html"
    return render(
        request,
        template,
        {
            "kind": k,
            "form": form,
            "page": page,
            "rows": rows,
            "query": query,
            "can_create": bool(configurable_imprints(request).exists()),
        },
    )


def _cell(obj: Any, attr: str) -> Any:
    value = getattr(obj, attr)
    value = value() if callable(value) else value
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return value if value not in (None, "") else "—"


def _form_kwargs(request: AuthedRequest, k: Kind) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"imprints": configurable_imprints(request)}
    if k.slug == "templates":
        kwargs["allow_global"] = request.user.is_superuser
    return kwargs


def _save_form(request: AuthedRequest, form: Any, before: dict[str, Any] | None) -> Any:
    instance = form.save(commit=False)
    m2m = {}
    if isinstance(instance, ComplianceRule):
        m2m["communication_types"] = list(form.cleaned_data.get("communication_types") or [])
    return setup_object_save(actor=request.user, instance=instance, m2m=m2m, before=before)


@login_required
def object_create(request: AuthedRequest, kind: str) -> HttpResponse:
    k = _kind(kind)
    if not (request.user.is_superuser or configurable_imprints(request).exists()):
        raise PermissionDenied("Only imprint admins configure setup.")
    configurable = list(configurable_imprints(request).values_list("pk", flat=True)[:2])
    initial: dict[str, Any] = {}
    if request.imprint:
        initial = {"imprint": request.imprint.pk}
    elif len(configurable) == 1:  # the only imprint this admin configures: no need to ask
        initial = {"imprint": configurable[0]}
    form = k.form(request.POST or None, initial=initial, **_form_kwargs(request, k))
    return _form_page(request, k, form, None, before=None)


def _form_page(
    request: AuthedRequest, k: Kind, form: Any, obj: Any, *, before: dict[str, Any] | None
) -> HttpResponse:
    """Show the setup form; on a valid POST save it (a refusal of the service above the
    form) and go to the saved object."""
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save_form(request, form, before)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            verb = "Created" if obj is None else "Saved"
            messages.success(request, f"{verb} the {k.label} {saved}.")
            return redirect(_detail_url(k, saved))
    return render(request, "setup/form.html", {"kind": k, "form": form, "obj": obj})


def _detail_url(k: Kind, obj: Any) -> Any:
    if k.slug == "templates":
        return reverse("setup:template_detail", args=[obj.pk])
    if k.slug == "audiences":
        return reverse("setup:audience_detail", args=[obj.pk])
    return reverse("setup:list", args=[k.slug])


@login_required
def object_edit(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    k = _kind(kind)
    obj = get_visible(request, k.model, pk)
    policy.require(request.user, Action.CONFIGURE, obj)
    before = setup_object_snapshot(obj)
    form = k.form(request.POST or None, instance=obj, **_form_kwargs(request, k))
    return _form_page(request, k, form, obj, before=before)


@login_required
def object_delete(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    k = _kind(kind)
    obj = get_visible(request, k.model, pk)
    policy.require(request.user, Action.CONFIGURE, obj)
    if request.method == "POST":
        try:
            setup_object_delete(actor=request.user, instance=obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_detail_url(k, obj))
        messages.success(request, f"Deleted the {k.label} {obj}.")
        return redirect("setup:list", kind=k.slug)
    return render(request, "setup/confirm_delete.html", {"kind": k, "obj": obj})


@login_required
def resolve(request: AuthedRequest) -> HttpResponse:
    """Which template applies, and why."""
    require_staff(request)
    imprints = policy.imprints_for(request.user, Action.VIEW)
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = setup_forms.ResolveForm(request.GET or None, initial=initial, imprints=imprints)
    resolution = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        resolution = template_resolve(
            communication_type=data["communication_type"],
            imprint=data.get("imprint"),
            territory_code=(data.get("territory_code") or "").upper(),
            language=data.get("language") or "",
            on_date=data.get("on_date") or timezone.localdate(),
        )
    return render(request, "setup/resolve.html", {"form": form, "resolution": resolution})


@login_required
def transfer(request: AuthedRequest) -> HttpResponse:
    imprints = configurable_imprints(request)
    if not (request.user.is_superuser or imprints.exists()):
        raise PermissionDenied("Only imprint admins move setups between environments.")
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = setup_forms.ImportForm(request.POST or None, request.FILES or None, initial=initial,
                                  imprints=imprints)  # fmt: skip
    problems: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        imprint = form.cleaned_data["imprint"]
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
            counts = setup_import(actor=request.user, imprint=imprint, data=data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            problems = ["The file is not JSON text."]
        except ValidationError as exc:
            problems = exc.messages
        else:
            summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
            messages.success(request, f"Imported into {imprint}: {summary}.")
            return redirect("setup:index")
        status = 400
    return render(
        request,
        "setup/transfer.html",
        {"form": form, "problems": problems, "imprints": imprints},
        status=status,
    )


@login_required
def export(request: AuthedRequest, imprint_pk: int) -> HttpResponse:
    imprint = get_object_or_404(policy.imprints_for(request.user, Action.VIEW), pk=imprint_pk)
    policy.require(request.user, Action.CONFIGURE, imprint)
    body = json.dumps(setup_export(imprint=imprint), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="setup-{imprint.code}.json"'
    return response
