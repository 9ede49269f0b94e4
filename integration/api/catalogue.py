"""API: titles (a work with its products) and Consonance sync runs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import Pagination, PolicyModelSerializer, PolicyPermission, query_id
from integration.catalogue.selectors import (
    can_start_sync,
    can_view_sync,
    sync_run_list,
    title_get,
    title_list,
    work_change_events,
)
from integration.catalogue.sync import SyncAlreadyRunning, sync_run_start
from integration.models import (
    ChangeEvent,
    Contract,
    Contribution,
    Price,
    Product,
    SyncRun,
    Work,
)


class PriceSerializer(PolicyModelSerializer[Price]):
    class Meta:
        model = Price
        fields = [
            "amount",
            "currency",
            "price_type",
            "qualifier",
            "territory",
            "effective_from",
            "effective_to",
        ]


class ProductSerializer(PolicyModelSerializer[Product]):
    prices = PriceSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "consonance_id",
            "isbn13",
            "full_title",
            "product_form",
            "product_form_description",
            "publication_date",
            "publishing_status",
            "availability",
            "for_sale_territories",
            "not_for_sale_territories",
            "withdrawn_at",
            "prices",
        ]


class ContributionSerializer(PolicyModelSerializer[Contribution]):
    name = serializers.CharField(source="contact.name")
    contact_consonance_id = serializers.IntegerField(source="contact.consonance_id")

    class Meta:
        model = Contribution
        fields = ["name", "contact_consonance_id", "role", "role_description", "sequence"]


class ContractSerializer(PolicyModelSerializer[Contract]):
    # The publisher's own client record in Consonance (not a contributor).
    client = serializers.CharField(source="client_name", default="")
    licensed_rights = serializers.SerializerMethodField()
    delivery_dates = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = [
            "id",
            "consonance_id",
            "name",
            "client",
            "signed_date",
            "term_months",
            "terminated_date",
            "licensed_rights",
            "delivery_dates",
        ]

    def get_licensed_rights(self, obj: Contract) -> list[dict[str, Any]]:
        return [
            {
                "right_type": r.right_type,
                "territory": r.territory,
                "author_cut": str(r.author_cut) if r.author_cut is not None else None,
                "ended_at": r.ended_at,
            }
            for r in obj.licensed_rights.all()
        ]

    def get_delivery_dates(self, obj: Contract) -> list[dict[str, Any]]:
        return [
            {"deliverable_type": d.deliverable_type, "due": d.due, "slipped": d.slipped}
            for d in obj.delivery_dates.all()
        ]


class ChangeEventSerializer(PolicyModelSerializer[ChangeEvent]):
    product_isbn13 = serializers.CharField(source="product.isbn13", default=None)

    class Meta:
        model = ChangeEvent
        fields = [
            "id",
            "created_at",
            "kind",
            "field",
            "old_value",
            "new_value",
            "source",
            "product_id",
            "product_isbn13",
            "contract_id",
        ]


class TitleSerializer(PolicyModelSerializer[Work]):
    imprint = serializers.SerializerMethodField()
    products = ProductSerializer(many=True, read_only=True)

    class Meta:
        model = Work
        fields = [
            "id",
            "consonance_id",
            "title",
            "subtitle",
            "imprint",
            "project_stage",
            "season",
            "marketing_tier",
            "audience",
            "contributor_list",
            "source",
            "synced_at",
            "withdrawn_at",
            "products",
        ]

    def get_imprint(self, obj: Work) -> dict[str, Any]:
        return {"id": obj.imprint_id, "name": obj.imprint.name, "code": obj.imprint.code}


class TitleDetailSerializer(TitleSerializer):
    contributions = ContributionSerializer(many=True, read_only=True)
    contracts = ContractSerializer(many=True, read_only=True)
    change_events = serializers.SerializerMethodField()

    class Meta(TitleSerializer.Meta):
        fields = [*TitleSerializer.Meta.fields, "contributions", "contracts", "change_events"]

    def get_change_events(self, obj: Work) -> list[dict[str, Any]]:
        events = work_change_events(obj.pk)[:50]
        return list(ChangeEventSerializer(events, many=True).data)


@extend_schema(
    parameters=[
        OpenApiParameter("q", str, description="Search: title, subtitle, contributor or ISBN."),
        OpenApiParameter("search", str, description="Same as q."),
        OpenApiParameter("imprint", int),
        OpenApiParameter("status", str, description="Publishing status (ONIX list 64)."),
        OpenApiParameter("season", str),
        OpenApiParameter("published_from", OpenApiTypes.DATE),
        OpenApiParameter("published_to", OpenApiTypes.DATE),
    ]
)
class TitleViewSet(viewsets.ReadOnlyModelViewSet[Work]):
    """Titles the caller may view. Search with ``q`` (or ``search``): title, subtitle,
    contributor or ISBN (with or without hyphens). Filters: ``imprint``, ``status`` (ONIX list
    64), ``season``, ``published_from`` / ``published_to``."""

    permission_classes = [PolicyPermission]
    pagination_class = Pagination
    serializer_class = TitleSerializer
    queryset = Work.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Work.objects.none()
        params = self.request.query_params
        return title_list(
            self.request.user,
            imprint_id=query_id(params, "imprint"),
            q=(params.get("q") or params.get("search") or "").strip(),
            status=params.get("status", ""),
            season=params.get("season", ""),
            published_from=serializers.DateField().to_internal_value(params["published_from"])
            if params.get("published_from")
            else None,
            published_to=serializers.DateField().to_internal_value(params["published_to"])
            if params.get("published_to")
            else None,
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        work = title_get(request.user, int(kwargs["pk"]))  # the router allows digits only
        return Response(TitleDetailSerializer(work).data)


class SyncRunSerializer(PolicyModelSerializer[SyncRun]):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "kind",
            "status",
            "phase",
            "since",
            "cursor",
            "pages",
            "seen",
            "created",
            "updated",
            "unchanged",
            "failed",
            "withdrawn",
            "errors",
            "message",
            "filename",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "products_source",
            "source_reason",
            "warnings",
        ]
        read_only_fields = fields


class SyncRunStartSerializer(serializers.Serializer[Any]):
    full = serializers.BooleanField(default=False)
    since = serializers.DateField(required=False, allow_null=True)


class SyncRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SyncRun]
):
    """Consonance sync runs. POST starts (or resumes) a sync: imprint admins only."""

    permission_classes = [PolicyPermission]
    pagination_class = Pagination
    serializer_class = SyncRunSerializer
    queryset = SyncRun.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return SyncRun.objects.none()
        if not can_view_sync(self.request.user):
            raise PermissionDenied("Sync runs are visible to staff of an imprint.")
        return sync_run_list(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not can_start_sync(request.user):
            raise PermissionDenied("Starting a sync needs the imprint admin role.")
        data = SyncRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = sync_run_start(
                actor=request.user,
                full=data.validated_data["full"],
                since=data.validated_data.get("since"),
            )
        except SyncAlreadyRunning as exc:
            return Response(
                {"error": {"code": "sync_running", "message": str(exc), "details": None}},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
