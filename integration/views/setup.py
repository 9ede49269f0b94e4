"""The Setup area: imprint admins configure; other staff of the imprint may look; outsiders get
404 for another imprint's objects. Views are thin: forms validate, services save and audit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.models import Imprint
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms import setup as setup_forms
from integration.models import (
    Audience,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    FieldMapping,
    ImprintTypeSetting,
    TriggerRule,
    Work,
)
from integration.setup.audiences import (
    audience_count,
    audience_export_csv,
    audience_list_upload,
    audience_sample,
)
from integration.setup.context import FIELDS, build_context
from integration.setup.mappings import (
    build_driver_data,
    mapping_delete,
    mapping_problems,
    mapping_save,
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

PAGE_SIZE = 25


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str
    plural: str
    model: type[Model]
    form: type[setup_forms.ImprintScopedForm]
    columns: tuple[tuple[str, str], ...]  # (attribute, heading)


KINDS: dict[str, Kind] = {
    "templates": Kind(
        "templates",
        "template",
        "Templates",
        CommunicationTemplate,
        setup_forms.TemplateForm,
        (
            ("communication_type", "Type"),
            ("exstream_communication", "Exstream communication"),
            ("territory_code", "Territory"),
            ("language", "Language"),
            ("get_status_display", "Status"),
            ("effective_from", "From"),
        ),
    ),
    "audiences": Kind(
        "audiences",
        "audience",
        "Audiences",
        Audience,
        setup_forms.AudienceForm,
        (("get_kind_display", "Source"), ("territory_code", "Territory")),
    ),
    "rules": Kind(
        "rules",
        "compliance rule",
        "Compliance rules",
        ComplianceRule,
        setup_forms.ComplianceRuleForm,
        (
            ("get_kind_display", "Rule"),
            ("get_severity_display", "Severity"),
            ("territory_code", "Territory"),
            ("active", "Active"),
        ),
    ),
    "triggers": Kind(
        "triggers",
        "trigger rule",
        "Trigger rules",
        TriggerRule,
        setup_forms.TriggerRuleForm,
        (
            ("get_event_display", "When"),
            ("communication_type", "Draft"),
            ("audience", "For"),
            ("active", "Active"),
        ),
    ),
}


def _require_staff(request: AuthedRequest) -> None:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.VIEW)):
        raise PermissionDenied("Setup is for the staff of an imprint.")


def _visible(request: AuthedRequest, model: type[Model]) -> QuerySet[Any]:
    qs = model._default_manager.all()
    if request.user.is_superuser:
        return qs
    ids = policy.imprint_ids_for(request.user, Action.VIEW)
    if model is CommunicationTemplate:
        return qs.filter(Q(imprint_id__in=ids) | Q(imprint__isnull=True))
    return qs.filter(imprint_id__in=ids)


def _configurable_imprints(request: AuthedRequest) -> QuerySet[Imprint]:
    return policy.imprints_for(request.user, Action.CONFIGURE)


def _can_configure(request: AuthedRequest, obj: Any) -> bool:
    return policy.can(request.user, Action.CONFIGURE, obj)


def _get(request: AuthedRequest, model: type[Model], pk: int) -> Any:
    """The object if the user may see its imprint; 404 otherwise (never reveal it exists)."""
    return get_object_or_404(_visible(request, model), pk=pk)


def _paginate(request: AuthedRequest, qs: QuerySet[Any]) -> tuple[Any, str]:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    _require_staff(request)
    sections = []
    for kind in KINDS.values():
        qs = _visible(request, kind.model)
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


# --- Communication types -----------------------------------------------------------------------


@login_required
def types(request: AuthedRequest) -> HttpResponse:
    _require_staff(request)
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
            "can_configure": imprint is not None and _can_configure(request, imprint),
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


# --- Generic lists and forms ------------------------------------------------------------------


def _kind(slug: str) -> Kind:
    if slug not in KINDS:
        raise Http404("No such setup area.")
    return KINDS[slug]


@login_required
def object_list(request: AuthedRequest, kind: str) -> HttpResponse:
    _require_staff(request)
    k = _kind(kind)
    imprints = policy.imprints_for(request.user, Action.VIEW)
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = setup_forms.FilterForm(request.GET or initial, imprints=imprints)
    qs = _visible(request, k.model)
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
    page, query = _paginate(request, qs)
    rows = [
        {
            "obj": obj,
            "cells": [_cell(obj, attr) for attr, _ in k.columns],
            "can_edit": _can_configure(request, obj),
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
            "can_create": bool(_configurable_imprints(request).exists()),
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
    kwargs: dict[str, Any] = {"imprints": _configurable_imprints(request)}
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
    if not (request.user.is_superuser or _configurable_imprints(request).exists()):
        raise PermissionDenied("Only imprint admins configure setup.")
    configurable = list(_configurable_imprints(request).values_list("pk", flat=True)[:2])
    initial: dict[str, Any] = {}
    if request.imprint:
        initial = {"imprint": request.imprint.pk}
    elif len(configurable) == 1:  # the only imprint this admin configures: no need to ask
        initial = {"imprint": configurable[0]}
    form = k.form(request.POST or None, initial=initial, **_form_kwargs(request, k))
    if request.method == "POST" and form.is_valid():
        try:
            obj = _save_form(request, form, None)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created the {k.label} {obj}.")
            return redirect(_detail_url(k, obj))
    return render(request, "setup/form.html", {"kind": k, "form": form, "obj": None})


def _detail_url(k: Kind, obj: Any) -> Any:
    from django.urls import reverse

    if k.slug == "templates":
        return reverse("setup:template_detail", args=[obj.pk])
    if k.slug == "audiences":
        return reverse("setup:audience_detail", args=[obj.pk])
    return reverse("setup:list", args=[k.slug])


@login_required
def object_edit(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    k = _kind(kind)
    obj = _get(request, k.model, pk)
    policy.require(request.user, Action.CONFIGURE, obj)
    before = setup_object_snapshot(obj)
    form = k.form(request.POST or None, instance=obj, **_form_kwargs(request, k))
    if request.method == "POST" and form.is_valid():
        try:
            obj = _save_form(request, form, before)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved the {k.label} {obj}.")
            return redirect(_detail_url(k, obj))
    return render(request, "setup/form.html", {"kind": k, "form": form, "obj": obj})


@login_required
def object_delete(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    k = _kind(kind)
    obj = _get(request, k.model, pk)
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


# --- Templates and mappings ----------------------------------------------------------------------


@login_required
def template_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    template = _get(request, CommunicationTemplate, pk)
    mappings = template.mappings.all()
    return render(
        request,
        "setup/template_detail.html",
        {
            "template": template,
            "mappings": mappings,
            "problems": mapping_problems(template),
            "can_configure": _can_configure(request, template),
            "try_form": setup_forms.TryForm(),
            "driver_fields": template.exstream_communication.driver_fields,
        },
    )


@login_required
def mapping_form(request: AuthedRequest, pk: int, mapping_pk: int | None = None) -> HttpResponse:
    template = _get(request, CommunicationTemplate, pk)
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
    template = _get(request, CommunicationTemplate, pk)
    policy.require(request.user, Action.CONFIGURE, template)
    mapping = get_object_or_404(FieldMapping, pk=mapping_pk, template=template)
    mapping_delete(actor=request.user, mapping=mapping)
    messages.success(request, f"Removed the mapping for {mapping.driver_field}.")
    return redirect("setup:template_detail", pk=template.pk)


@login_required
def template_try(request: AuthedRequest, pk: int) -> HttpResponse:
    """'Try with title X': the driver JSON this template would send (sample values fill gaps)."""
    template = _get(request, CommunicationTemplate, pk)
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


@login_required
def resolve(request: AuthedRequest) -> HttpResponse:
    """Which template applies, and why."""
    _require_staff(request)
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


# --- Audiences ------------------------------------------------------------------------------------


@login_required
def audience_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    audience = _get(request, Audience, pk)
    return render(
        request,
        "setup/audience_detail.html",
        {
            "audience": audience,
            "count": audience_count(audience=audience),
            "sample": audience_sample(audience=audience, n=10),
            "upload_form": setup_forms.UploadForm(),
            "can_configure": _can_configure(request, audience),
            "can_import": policy.can(request.user, Action.IMPORT, audience)
            and _can_configure(request, audience),
        },
    )


@login_required
@require_POST
def audience_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    audience = _get(request, Audience, pk)
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
    audience = _get(request, Audience, pk)
    policy.require(request.user, Action.CONFIGURE, audience)
    response = StreamingHttpResponse(
        audience_export_csv(audience=audience), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}.csv"'
    return response


# --- Export / import ----------------------------------------------------------------------------


@login_required
def transfer(request: AuthedRequest) -> HttpResponse:
    imprints = _configurable_imprints(request)
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
