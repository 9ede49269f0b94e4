"""REST API: draft the partner catalogue-update notices of a period (flow 7). Thin: the service
decides who may, and refuses bad input with readable reasons (400) or the role (403)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import PolicyPermission, PolicyRelatedField
from accounts.models import Imprint
from integration.communications.partner_notices import partner_notices_draft
from integration.models import Audience


class PartnerNoticesSerializer(serializers.Serializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())
    audience = PolicyRelatedField(queryset=Audience.objects.all())
    period_start = serializers.DateField()
    period_end = serializers.DateField()


@extend_schema(
    request=PartnerNoticesSerializer,
    responses=inline_serializer(
        "PartnerNoticesResult",
        {
            "created": serializers.ListField(child=serializers.IntegerField()),
            "existing": serializers.ListField(child=serializers.IntegerField()),
            "unchanged_titles": serializers.IntegerField(),
        },
    ),
)
@api_view(["POST"])
@permission_classes([PolicyPermission])
def partner_notices(request: Request) -> Response:
    """One metadata change notice per title changed in the period (old → new values), to the
    partner audience; existing drafts for the same audience, title and period are reused."""
    body = PartnerNoticesSerializer(data=request.data, context={"request": request})
    body.is_valid(raise_exception=True)
    result = partner_notices_draft(actor=request.user, **body.validated_data)
    return Response(
        {
            "created": [c.pk for c in result.created],
            "existing": [c.pk for c in result.existing],
            "unchanged_titles": result.unchanged_titles,
        },
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )
