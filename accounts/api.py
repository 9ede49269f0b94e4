"""API plumbing shared by every endpoint: policy permission, pagination, one error body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import JSONField, Model, QuerySet
from django.http import Http404
from rest_framework import exceptions, pagination, parsers, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.ids import id_param

if TYPE_CHECKING:
    from rest_framework.views import APIView


def contains_nul(value: Any) -> bool:
    """Whether parsed JSON holds a NUL character in any string or key (the escape
    ``\\u0000``). PostgreSQL stores no NUL in text or jsonb: such input could only ever end
    as a server error (or a row SQLite keeps and PostgreSQL refuses)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
            if any("\x00" in str(key) for key in node):
                return True
        elif isinstance(node, list):
            stack.extend(node)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body with a NUL character anywhere (a 400 that says so),
    so no free-form JSON field (an offer, a campaign, a mapping's transforms …) can carry one
    to the database. The default parser of the API (``REST_FRAMEWORK``)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise exceptions.ParseError(
                "The request contains a NUL character (\\u0000); remove it and try again."
            )
        return data


class PolicyPermission(permissions.BasePermission):
    """Authenticated, and — for object access — allowed by ``accounts.policy``.

    A view names the action for each HTTP method in ``policy_actions`` (default: GET/HEAD/OPTIONS
    need VIEW, anything else needs ``policy_write_action`` or CONFIGURE). Querysets are narrowed
    by the views themselves through ``policy.for_user``.
    """

    message = "You do not have access to this in its imprint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)

    def _action(self, request: Request, view: APIView) -> str:
        actions: dict[str, str] = getattr(view, "policy_actions", {})
        if request.method in actions:
            return actions[request.method]
        if request.method in permissions.SAFE_METHODS:
            return policy.Action.VIEW
        return getattr(view, "policy_write_action", policy.Action.CONFIGURE)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return policy.can(request.user, self._action(request, view), obj)


class PolicyRelatedField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A relation whose choices (the browsable API's drop-downs) and lookups (posted ids) are
    narrowed by ``policy.visible`` to what the caller may view: another imprint's objects are
    neither listed nor accepted ("Invalid pk … object does not exist")."""

    def get_queryset(self) -> QuerySet[Any] | None:
        queryset = super().get_queryset()
        if queryset is None:  # read-only relation: nothing to look up
            return None
        request = self.context.get("request")
        return policy.visible(getattr(request, "user", None), queryset)


_MT = TypeVar("_MT", bound=Model)


class StrictJSONField(serializers.JSONField):
    """A JSON model field that is not nullable refuses ``null`` however it arrives — also as the
    text ``null`` of a form-encoded body, which DRF parses after its own null check (that was a
    database IntegrityError, a 500, before)."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if value is None and not self.allow_null:
            self.fail("null")
        return value


class PolicyModelSerializer(serializers.ModelSerializer[_MT]):
    """The base of every model serializer of the API: relation fields go through the policy."""

    serializer_related_field = PolicyRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        JSONField: StrictJSONField,
    }


def query_id(params: Any, name: str) -> int | None:
    """The id in query parameter ``name``: None when absent or empty, a 400 naming the parameter
    when it is not an id (words, negative or huge numbers) — never a ValueError or OverflowError."""
    raw = str(params.get(name, "") or "").strip()
    if not raw:
        return None
    value = id_param(raw)
    if value is None:
        raise exceptions.ValidationError({name: ["Give an id (a whole number)."]})
    return value


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error has the same body: ``{"error": {"code", "message", "details"}}``."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    # Imported here: rest_framework.views reads these very settings at import time.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message, details = str(detail["detail"]), None
    elif isinstance(detail, dict | list):
        message, details = "The request is not valid; see details.", detail
    else:
        message, details = str(detail), None
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
