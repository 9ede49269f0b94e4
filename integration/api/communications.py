"""REST API of Communications: list / create / detail, and the workflow actions (preview,
submit, approve, reject, cancel, replay). Thin: services decide, audit and refuse with
readable reasons (403 for policy, 400 for state). Another imprint's communication is a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.api import (
    Pagination,
    PolicyModelSerializer,
    PolicyPermission,
    PolicyRelatedField,
    query_id,
)
from accounts.models import Imprint
from accounts.policy import Action
from integration.communications.approval import (
    communication_approve,
    communication_cancel,
    communication_reject,
    communication_submit,
)
from integration.communications.chunks import outbox_items
from integration.communications.create import (
    campaign_reminder_keys_problem,
    communication_create,
)
from integration.communications.preview import communication_preview
from integration.communications.replay import communication_replay
from integration.models import (
    Audience,
    Channel,
    Communication,
    CommunicationType,
    Contract,
    Message,
    MessagePreview,
    OutboxItem,
    Product,
    RoyaltyImport,
    Work,
)
from integration.selectors.communications import communications_for

MESSAGES_PAGE = 50


class CommunicationSerializer(PolicyModelSerializer):
    communication_type: serializers.SlugRelatedField[CommunicationType] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True)
    )
    status = serializers.CharField(read_only=True, help_text="Communication.Status value.")
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Communication
        fields = [
            "id",
            "name",
            "imprint",
            "communication_type",
            "status",
            "status_label",
            "work",
            "contract",
            "audience",
            "template",
            "channels",
            "territory_code",
            "language",
            "recipient_count",
            "blocking_count",
            "warning_count",
            "compose_done",
            "compose_total",
            "compose_error",
            "payload_hash",
            "approved_hash",
            "auto_approved",
            "submitted_by",
            "approved_by",
            "rejection_comment",
            "void_reason",
            "trigger_rule",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageSerializer(PolicyModelSerializer):
    status = serializers.CharField(read_only=True, help_text="Message.Status value.")

    class Meta:
        model = Message
        fields = [
            "id",
            "key",
            "sequence",
            "recipient_key",
            "recipient_name",
            "recipient_email",
            "recipient_country",
            "channel",
            "driver_data",
            "payload_hash",
            "findings",
            "blocking",
            "status",
            "status_at",
            "status_detail",
            "exstream_job_id",
            "chunk",
        ]
        read_only_fields = fields


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    outcome = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    error = serializers.CharField()


class ChunkSerializer(PolicyModelSerializer):
    status = serializers.CharField(read_only=True, help_text="OutboxItem.Status value.")
    attempts_made = AttemptSerializer(source="attempt_rows", many=True, read_only=True)

    class Meta:
        model = OutboxItem
        fields = [
            "id",
            "external_id",
            "status",
            "attempts",
            "payload",
            "result",
            "last_error",
            "dead_reason",
            "attempts_made",
        ]
        read_only_fields = fields


class ApprovalSerializer(serializers.Serializer):
    decision = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True)
    payload_hash = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommunicationDetailSerializer(CommunicationSerializer):
    template_explanation = serializers.CharField(read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    chunks = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()

    class Meta(CommunicationSerializer.Meta):
        fields = [
            *CommunicationSerializer.Meta.fields,
            "template_explanation",
            "approvals",
            "chunks",
            "messages",
        ]
        read_only_fields = fields

    def get_chunks(self, obj: Communication) -> list[dict[str, Any]]:
        items = outbox_items(obj).prefetch_related("attempt_rows")
        return list(ChunkSerializer(items, many=True).data)

    def get_messages(self, obj: Communication) -> dict[str, Any]:
        request = self.context.get("request")
        number = request.query_params.get("page", 1) if request is not None else 1
        page = Paginator(
            Message.objects.filter(communication=obj).order_by("sequence"), MESSAGES_PAGE
        ).get_page(number)
        return {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": MessageSerializer(page.object_list, many=True).data,
        }


@extend_schema_field(
    {
        "type": "object",
        "description": "The campaign's names and values (free keys besides these). "
        "`reminder_for_action` and `due_on` are read-only: only a contributor action's "
        "reminder (`POST /api/v1/contributor-actions/{id}/remind/`) sets them, and a request "
        "that sends either is refused (400, naming `campaign`).",
        "properties": {
            "name": {"type": "string"},
            "code": {"type": "string"},
            "link": {"type": "string", "format": "uri"},
            "reminder_for_action": {"type": "integer", "readOnly": True},
            "due_on": {"type": "string", "format": "date", "readOnly": True},
        },
        "additionalProperties": True,
    }
)
class CampaignField(serializers.DictField):
    """A communication's ``campaign``: a free object, except the keys only a reminder sets."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value: dict[str, Any] = super().to_internal_value(data)
        if problem := campaign_reminder_keys_problem(value):
            raise serializers.ValidationError(problem)
        return value


class CreateSerializer(serializers.Serializer):
    """Relations are narrowed by the policy (``PolicyRelatedField``): another imprint's
    imprint, audience, title, contract or royalty import is "not found"."""

    imprint = PolicyRelatedField(queryset=Imprint.objects.all())
    communication_type = serializers.SlugRelatedField(
        slug_field="code", queryset=CommunicationType.objects.all()
    )
    audience = PolicyRelatedField(queryset=Audience.objects.all())
    work = PolicyRelatedField(queryset=Work.objects.all(), required=False, allow_null=True)
    product = PolicyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True)
    contract = PolicyRelatedField(queryset=Contract.objects.all(), required=False, allow_null=True)
    royalty_import = PolicyRelatedField(
        queryset=RoyaltyImport.objects.all(), required=False, allow_null=True
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    territory_code = serializers.CharField(required=False, allow_blank=True, max_length=10)
    language = serializers.CharField(required=False, allow_blank=True, max_length=10)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False
    )
    offer = serializers.DictField(required=False)
    campaign = CampaignField(required=False)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class PreviewSerializer(PolicyModelSerializer):
    message = MessageSerializer(read_only=True)

    class Meta:
        model = MessagePreview
        fields = ["id", "reason", "payload_hash", "outputs", "error", "created_at", "message"]
        read_only_fields = fields


class CommunicationPermission(PolicyPermission):
    """Reading and acting need VIEW in the imprint (others get 404 from the queryset); the
    services then apply the category rules and four eyes and answer 403 with the reason."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return policy.can(request.user, Action.VIEW, obj)


class StateError(exceptions.APIException):
    """The communication is not in a state that allows this (400, as documented)."""

    status_code = 400
    default_code = "invalid_state"


def _approval_state_problem(communication: Communication) -> str | None:
    """The state part of ``approve_refusal`` (same words), to tell it from a role refusal."""
    if communication.status != Communication.Status.SUBMITTED:
        return f"It is {communication.get_status_display().lower()}, not awaiting approval."
    if communication.blocking_count:
        return f"{communication.blocking_count} recipient(s) have blocking findings."
    return None


@extend_schema(
    parameters=[
        OpenApiParameter("status", str),
        OpenApiParameter("type", str, description="Communication type code."),
        OpenApiParameter("imprint", int),
        OpenApiParameter("work", int, description="The title (work id)."),
        OpenApiParameter("title", int, description="Same as work."),
    ]
)
class CommunicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [CommunicationPermission]
    pagination_class = Pagination
    queryset = Communication.objects.none()

    def get_queryset(self) -> QuerySet[Communication]:
        # The list's filters narrow the list only: on one communication (and its messages)
        # "?status=failed" means the messages' status, not the communication's.
        params = self.request.query_params if self.action == "list" else QueryDict()
        imprint = query_id(params, "imprint")
        work = query_id(params, "work") or query_id(params, "title")
        qs = communications_for(
            user=self.request.user,
            status=params.get("status", ""),
            type_code=params.get("type", ""),
            work_id=work,
        )
        if imprint is not None:
            qs = qs.filter(imprint_id=imprint)
        return qs

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return CreateSerializer
        if self.action == "retrieve":
            return CommunicationDetailSerializer
        return CommunicationSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        communication = communication_create(actor=request.user, **data)
        out = CommunicationDetailSerializer(
            Communication.objects.get(pk=communication.pk), context={"request": request}
        )
        return Response(out.data, status=status.HTTP_201_CREATED)

    def _reply(self, communication: Communication) -> Response:
        fresh = Communication.objects.get(pk=communication.pk)
        return Response(
            CommunicationDetailSerializer(fresh, context={"request": self.request}).data
        )

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "CommunicationPreviews", {"previews": PreviewSerializer(many=True)}
        ),
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        previews = communication_preview(actor=request.user, communication=self.get_object())
        return Response({"previews": PreviewSerializer(previews, many=True).data})

    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return self._reply(
            communication_submit(actor=request.user, communication=self.get_object())
        )

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        communication = self.get_object()
        try:
            approved = communication_approve(
                actor=request.user,
                communication=communication,
                comment=body.validated_data["comment"],
            )
        except DjangoPermissionDenied as exc:
            # The service refuses both who (403) and when (the state); a state error is a 400,
            # as for reject and every other transition.
            fresh = Communication.objects.get(pk=communication.pk)
            if str(exc) == _approval_state_problem(fresh):
                raise StateError(str(exc)) from exc
            raise
        return self._reply(approved)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reply(
            communication_reject(
                actor=request.user,
                communication=self.get_object(),
                comment=body.validated_data["comment"],
            )
        )

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._reply(
            communication_cancel(actor=request.user, communication=self.get_object())
        )

    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        communication = self.get_object()
        communication_replay(actor=request.user, communication=communication)
        return self._reply(communication)

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="Page number (paginated as every list)."),
            OpenApiParameter("page_size", int),
            OpenApiParameter(
                "status",
                str,
                description="Only messages in this status, e.g. failed, delivered, bounced.",
                enum=[value for value, _label in Message.Status.choices],
            ),
            OpenApiParameter("channel", str, description="print, email, sms or web."),
        ],
        responses=inline_serializer(
            "PaginatedCommunicationMessageList",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": MessageSerializer(many=True),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, pk: str | None = None) -> Response:
        """The communication's messages, one per recipient, in order; filter by ``status``
        (``?status=failed`` lists the failures with their reasons in ``status_detail``)."""
        communication = self.get_object()
        qs = Message.objects.filter(communication=communication).order_by("sequence")
        wanted = request.query_params.get("status", "").strip()
        if wanted:
            if wanted not in Message.Status.values:
                known = ", ".join(Message.Status.values)
                raise ValidationError(
                    {"status": [f"Unknown status {wanted!r}; use one of {known}."]}
                )
            qs = qs.filter(status=wanted)
        channel = request.query_params.get("channel", "").strip()
        if channel:
            qs = qs.filter(channel=channel)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)
