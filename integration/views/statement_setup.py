"""Statement setup screens (flow 3): statement rules and payee profiles per imprint, for
royalties staff and imprint admins (``Action.CONFIGURE_STATEMENTS``). Others get 403; another
imprint's rules and profiles are not found (404). Saving goes through
``integration/setup/statements.py``, the same services as the REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.models import Imprint
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms.statements import (
    PayeeProfileForm,
    StatementFilterForm,
    StatementRuleForm,
    focus_first_error,
)
from integration.models import PayeeProfile, StatementRule
from integration.setup.statements import (
    payee_contacts,
    payee_profile_delete,
    payee_profile_save,
    payee_profile_uses,
    statement_rule_delete,
    statement_rule_save,
)
from integration.setup.transfer import setup_object_snapshot
from integration.views.setup_common import paginate


def _imprints(request: AuthedRequest) -> QuerySet[Imprint]:
    """The imprints whose statements this person configures; 403 when there are none."""
    imprints = policy.imprints_for(request.user, Action.CONFIGURE_STATEMENTS).order_by("name")
    if not imprints.exists():
        raise PermissionDenied("Statement rules and payee profiles are for royalties staff.")
    return imprints


def _get(request: AuthedRequest, model: type[Any], pk: int) -> Any:
    """The object when its imprint is visible to the person (404 otherwise: never reveal that
    it exists), and 403 when they may see but not configure it."""
    obj = get_object_or_404(policy.for_user(request.user, model._default_manager.all()), pk=pk)
    policy.require(request.user, Action.CONFIGURE_STATEMENTS, obj)
    return obj


def _initial(request: AuthedRequest, imprints: QuerySet[Imprint]) -> dict[str, Any]:
    if request.imprint is not None and imprints.filter(pk=request.imprint.pk).exists():
        return {"imprint": request.imprint.pk}
    first = list(imprints.values_list("pk", flat=True)[:2])
    return {"imprint": first[0]} if len(first) == 1 else {}


def _filtered(
    request: AuthedRequest, qs: QuerySet[Any], imprints: QuerySet[Imprint], q_label: str
) -> tuple[StatementFilterForm, QuerySet[Any], str]:
    initial = {"imprint": request.imprint.pk} if request.imprint else {}
    form = StatementFilterForm(request.GET or initial, imprints=imprints, q_label=q_label)
    qs = policy.for_user(request.user, qs, Action.CONFIGURE_STATEMENTS)
    q = ""
    if form.is_valid():
        if form.cleaned_data.get("imprint"):
            qs = qs.filter(imprint=form.cleaned_data["imprint"])
        q = (form.cleaned_data.get("q") or "").strip()
    return form, qs, q


def _render_list(
    request: AuthedRequest, template: str, form: StatementFilterForm, qs: QuerySet[Any]
) -> HttpResponse:
    page, query = paginate(request, qs)
    for obj in page:
        rate = getattr(obj, "withholding_rate", None)
        # 0.2 is shown as 20%, 0.075 as 7.5%
        obj.withholding_percent = None if rate is None else format((rate * 100).normalize(), "f")
    partial = template.replace("/", "/_", 1) if request.htmx else template
    return render(request, partial, {"form": form, "page": page, "query": query})


@login_required
@require_http_methods(["GET"])
def rule_list(request: AuthedRequest) -> HttpResponse:
    imprints = _imprints(request)
    form, qs, q = _filtered(request, StatementRule.objects.all(), imprints, "Rule name")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(author_group__icontains=q))
    qs = qs.select_related("imprint").order_by("imprint__name", "name", "pk")
    return _render_list(request, "statements/rules.html", form, qs)


def _rule_form(request: AuthedRequest, rule: StatementRule | None) -> HttpResponse:
    imprints = _imprints(request)
    before = setup_object_snapshot(rule) if rule is not None else None
    form = StatementRuleForm(
        request.POST or None,
        instance=rule,
        imprints=imprints,
        initial=_initial(request, imprints) if rule is None else None,
    )
    return _submit(
        request,
        form,
        rule,
        save=lambda obj: statement_rule_save(actor=request.user, rule=obj, before=before),
        saved_message=lambda saved: f"the statement rule “{saved}”",
        done="statements:rules",
        template="statements/rule_form.html",
    )


def _submit(
    request: AuthedRequest,
    form: Any,
    obj: Any,
    *,
    save: Callable[[Any], Any],
    saved_message: Callable[[Any], str],
    done: str,
    template: str,
) -> HttpResponse:
    """Show ``form``; on a valid POST save through the service, or show its refusal next to
    the fields (400, focus on the first error)."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = save(form.save(commit=False))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                verb = "Saved" if obj is not None else "Created"
                messages.success(request, f"{verb} {saved_message(saved)}.")
                return redirect(done)
        status = 400
        focus_first_error(form)
    return render(request, template, {"form": form, "obj": obj}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: AuthedRequest) -> HttpResponse:
    return _rule_form(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _rule_form(request, _get(request, StatementRule, pk))


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = _get(request, StatementRule, pk)
    return _confirm_delete(
        request,
        rule,
        delete=lambda: statement_rule_delete(actor=request.user, rule=rule),
        deleted_message=f"Deleted the statement rule “{rule}”.",
        done="statements:rules",
        template="statements/rule_delete.html",
    )


def _confirm_delete(
    request: AuthedRequest,
    obj: Any,
    *,
    delete: Callable[[], None],
    deleted_message: str,
    done: str,
    template: str,
    context: Callable[[], dict[str, Any]] = dict,
) -> HttpResponse:
    """The confirmation step (GET, with ``context()``); on POST delete through the service."""
    if request.method == "POST":
        delete()
        messages.success(request, deleted_message)
        return redirect(done)
    return render(request, template, {"obj": obj, **context()})


@login_required
@require_http_methods(["GET"])
def payee_list(request: AuthedRequest) -> HttpResponse:
    imprints = _imprints(request)
    form, qs, q = _filtered(request, PayeeProfile.objects.all(), imprints, "Payee name")
    if q:
        qs = qs.filter(Q(contact__name__icontains=q) | Q(author_group__icontains=q))
    qs = qs.select_related("imprint", "contact").order_by("contact__name", "imprint__name", "pk")
    return _render_list(request, "statements/payees.html", form, qs)


def _payee_form(request: AuthedRequest, profile: PayeeProfile | None) -> HttpResponse:
    imprints = _imprints(request)
    before = setup_object_snapshot(profile) if profile is not None else None
    form = PayeeProfileForm(
        request.POST or None,
        instance=profile,
        imprints=imprints,
        contacts=payee_contacts(imprint_ids=imprints.values_list("pk", flat=True)),
        initial=_initial(request, imprints) if profile is None else None,
    )
    return _submit(
        request,
        form,
        profile,
        save=lambda obj: payee_profile_save(actor=request.user, profile=obj, before=before),
        saved_message=lambda saved: f"the payee profile of {saved.contact}",
        done="statements:payees",
        template="statements/payee_form.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def payee_create(request: AuthedRequest) -> HttpResponse:
    return _payee_form(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def payee_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _payee_form(request, _get(request, PayeeProfile, pk))


@login_required
@require_http_methods(["GET", "POST"])
def payee_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    profile = _get(request, PayeeProfile, pk)
    return _confirm_delete(
        request,
        profile,
        delete=lambda: payee_profile_delete(actor=request.user, profile=profile),
        deleted_message=f"Deleted the payee profile of {profile.contact}.",
        done="statements:payees",
        template="statements/payee_delete.html",
        context=lambda: {"uses": payee_profile_uses(profile=profile)},
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    """The service's errors next to their fields (the rest above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
