"""``GET /api/v1/exstream-communications/``: the synced Exstream catalogue, read-only.

Exstream communications are shared by every imprint (no imprint of their own), so the policy
question is "may this person view anything at all": staff with the view permission in at least
one imprint (the same rule as the Exstream screen). Filters: ``domain`` (default: the
production domain), ``q`` (name contains), ``channel`` (print, email, sms), ``active``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request

from accounts import policy
from accounts.api import Pagination, PolicyPermission
from integration.models import ExstreamCommunication
from integration.selectors.exstream import exstream_communications


class ExstreamCommunicationSerializer(serializers.ModelSerializer[ExstreamCommunication]):
    required_fields = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ExstreamCommunication
        fields = [
            "id",
            "domain",
            "communication_id",
            "name",
            "version",
            "communication_set_id",
            "prod_dsn",
            "queues",
            "channels",
            "driver_fields",
            "required_fields",
            "active",
            "synced_at",
        ]
        read_only_fields = fields


class CanViewSomeImprint(PolicyPermission):
    message = "You need the view permission in an imprint to read the Exstream catalogue."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return super().has_permission(request, view) and bool(
            user.is_superuser or policy.imprint_ids_for(user, policy.Action.VIEW)
        )

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return True  # shared reference data: has_permission already decided


@extend_schema(
    parameters=[
        OpenApiParameter("domain", str, description="Exstream domain; default production."),
        OpenApiParameter("q", str, description="Name contains."),
        OpenApiParameter("channel", str, description="print, email or sms."),
        OpenApiParameter("active", bool, description="false lists retired ones too."),
    ]
)
class ExstreamCommunicationViewSet(viewsets.ReadOnlyModelViewSet[ExstreamCommunication]):
    permission_classes = [CanViewSomeImprint]
    pagination_class = Pagination
    serializer_class = ExstreamCommunicationSerializer
    queryset = ExstreamCommunication.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return ExstreamCommunication.objects.none()
        params = self.request.query_params if self.action == "list" else {}
        include_inactive = str(params.get("active", "")).lower() in ("false", "0", "all")
        qs = exstream_communications(
            domain=params.get("domain") or None, include_inactive=include_inactive
        )
        if self.action != "list":
            # one communication by id, whatever its domain
            qs = ExstreamCommunication.objects.all()
        if params.get("q"):
            qs = qs.filter(name__icontains=params["q"].strip())
        channel = str(params.get("channel", "")).strip()
        if channel:
            # JSON containment is not on SQLite; the catalogue is small (tens of rows).
            ids = [c.pk for c in qs if channel in (c.channels or [])]
            qs = qs.filter(pk__in=ids)
        return qs.order_by("name", "domain")
