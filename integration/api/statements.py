"""REST API of royalty statements (flow 3): prepare an import's statements (POST) and read
them (GET). Thin: the service decides who may (403) and refuses bad input (400); another
imprint's import is a 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.api import PolicyPermission
from integration.communications.statements import royalty_statements_prepare
from integration.models import RoyaltyImport, RoyaltyStatement


class RoyaltyStatementSerializer(serializers.ModelSerializer):
    payee = serializers.CharField(source="payee.name", read_only=True)
    payee_contact_id = serializers.IntegerField(source="payee.consonance_id", read_only=True)

    class Meta:
        model = RoyaltyStatement
        fields = [
            "id",
            "payee",
            "payee_contact_id",
            "period_start",
            "period_end",
            "currency",
            "line_count",
            "work_ids",
            "earned",
            "brought_forward",
            "withheld",
            "payable",
            "carried_forward",
            "outcome",
            "channel",
            "author_group",
            "rules",
            "notes",
        ]
        read_only_fields = fields


@extend_schema(request=None, responses=RoyaltyStatementSerializer(many=True))
@api_view(["GET", "POST"])
@permission_classes([PolicyPermission])
def royalty_import_statements(request: Request, pk: int) -> Response:
    """GET: the import's statements. POST: prepare them (once; again returns them)."""
    record = get_object_or_404(policy.visible(request.user, RoyaltyImport.objects.all()), pk=pk)
    mine = RoyaltyStatement.objects.filter(royalty_import=record)
    code: int = status.HTTP_200_OK
    if request.method == "POST":
        had = mine.exists()
        royalty_statements_prepare(actor=request.user, royalty_import=record)
        code = status.HTTP_200_OK if had else status.HTTP_201_CREATED
    statements = mine.select_related("payee").order_by("payee__name", "currency")
    return Response(RoyaltyStatementSerializer(statements, many=True).data, status=code)
