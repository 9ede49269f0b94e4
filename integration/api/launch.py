"""REST API of a title's launch (flow 5): which communications each format gets in a
territory and the post-launch follow-ups scheduled (GET), and drafting them (POST). Thin: the
service decides and refuses (403 role, 400 bad input); another imprint's title is a 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.api import PolicyPermission, PolicyRelatedField
from integration.api.communications import CampaignField
from integration.communications.launch import launch_choices, launch_communications_draft
from integration.models import Audience, Work
from integration.selectors.launch import launch_follow_ups


class LaunchDraftSerializer(serializers.Serializer):
    territory = serializers.CharField(max_length=10)
    retailer_audience = PolicyRelatedField(queryset=Audience.objects.all())
    reader_audience = PolicyRelatedField(
        queryset=Audience.objects.all(), required=False, allow_null=True
    )
    campaign = CampaignField(required=False)


@extend_schema(
    methods=["GET"],
    parameters=[OpenApiParameter("territory", str, required=True)],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(methods=["POST"], request=LaunchDraftSerializer, responses=OpenApiTypes.OBJECT)
@api_view(["GET", "POST"])
@permission_classes([PolicyPermission])
def title_launch(request: Request, pk: int) -> Response:
    work = get_object_or_404(policy.visible(request.user, Work.objects.all()), pk=pk)
    if request.method == "GET":
        territory = request.query_params.get("territory", "").strip().upper()
        if not territory:
            raise ValidationError({"territory": ["Name the territory, e.g. ?territory=GB."]})
        plan = launch_choices(work=work, territory_code=territory)
        return Response(
            {
                **plan.as_dict(),
                "follow_ups": launch_follow_ups(work=work, today=timezone.localdate()),
            }
        )
    body = LaunchDraftSerializer(data=request.data, context={"request": request})
    body.is_valid(raise_exception=True)
    data = body.validated_data
    result = launch_communications_draft(
        actor=request.user,
        work=work,
        territory_code=data["territory"].strip().upper(),
        retailer_audience=data["retailer_audience"],
        reader_audience=data.get("reader_audience"),
        campaign=data.get("campaign"),
    )
    return Response(
        {
            **result.plan.as_dict(),
            "created": [c.pk for c in result.created],
            "existing": [c.pk for c in result.existing],
        },
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )
