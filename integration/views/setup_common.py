"""What the setup screens share: the kinds of setup object, who may see and configure them,
and pagination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts import policy
from accounts.models import Imprint
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.forms import setup as setup_forms
from integration.models import (
    Audience,
    CommunicationTemplate,
    ComplianceRule,
    TriggerRule,
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


def require_staff(request: AuthedRequest) -> None:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, Action.VIEW)):
        raise PermissionDenied("Setup is for the staff of an imprint.")


def visible_objects(request: AuthedRequest, model: type[Model]) -> QuerySet[Any]:
    qs = model._default_manager.all()
    if request.user.is_superuser:
        return qs
    ids = policy.imprint_ids_for(request.user, Action.VIEW)
    if model is CommunicationTemplate:
        return qs.filter(Q(imprint_id__in=ids) | Q(imprint__isnull=True))
    return qs.filter(imprint_id__in=ids)


def configurable_imprints(request: AuthedRequest) -> QuerySet[Imprint]:
    return policy.imprints_for(request.user, Action.CONFIGURE)


def can_configure(request: AuthedRequest, obj: Any) -> bool:
    return policy.can(request.user, Action.CONFIGURE, obj)


def get_visible(request: AuthedRequest, model: type[Model], pk: int) -> Any:
    """The object if the user may see its imprint; 404 otherwise (never reveal it exists)."""
    return get_object_or_404(visible_objects(request, model), pk=pk)


def paginate(request: AuthedRequest, qs: QuerySet[Any]) -> tuple[Any, str]:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()
