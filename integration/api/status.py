"""REST API for status back from Exstream: the title timeline, contributor actions, write-back
records and customer-service outcomes. Reading needs VIEW in the object's imprint; recording a
response needs RECORD_RESPONSE. Other imprints' objects are invisible (404)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.api import Pagination, PolicyModelSerializer, PolicyPermission
from accounts.ids import id_param
from accounts.policy import Action, Category
from integration.communications.reminders import contributor_action_remind
from integration.models import (
    ContributorAction,
    CustomerServiceOutcome,
    Message,
    Work,
    WritebackRecord,
)
from integration.selectors.status import (
    contributor_actions_for,
    customer_service_outcomes_for,
    writeback_records_for,
)
from integration.selectors.timeline import timeline_filters_from, title_timeline
from integration.status.apply import message_status_record
from integration.status.responses import contributor_action_record_response

HAND_STATUSES = [Message.Status.RESPONDED, Message.Status.RETURNED]


def _date_param(request: Request, name: str) -> datetime.date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise serializers.ValidationError({name: [f"'{raw}' is not a date (YYYY-MM-DD)."]}) from exc


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    value = id_param(raw)
    if value is None:
        raise serializers.ValidationError({name: ["Give a number."]})
    return value


# --- timeline --------------------------------------------------------------------------------


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    recipient = serializers.CharField()
    link = serializers.CharField()
    type = serializers.CharField()


@extend_schema(
    parameters=[
        OpenApiParameter(n, OpenApiTypes.STR)
        for n in ("type", "status", "channel", "recipient", "kind", "cursor")
    ]
    + [OpenApiParameter(n, OpenApiTypes.DATE) for n in ("date_from", "date_to")]
    + [OpenApiParameter("page_size", OpenApiTypes.INT)],
    responses=inline_serializer(
        "TitleTimelinePage",
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": TimelineEntrySerializer(many=True),
        },
    ),
)
@api_view(["GET"])
@permission_classes([PolicyPermission])
def title_timeline_api(request: Request, pk: int) -> Response:
    """The title's correspondence timeline, newest first; follow ``next`` for older entries
    and ``previous`` for newer ones. The cursor is opaque; one that is not ours reads as none
    (the newest page)."""
    work = policy.for_user(request.user, Work.objects.all()).filter(pk=pk).first()
    if work is None:
        raise Http404("No such title.")
    filters, errors = timeline_filters_from(request.query_params)
    if errors:
        raise serializers.ValidationError({k: [v] for k, v in errors.items()})
    size = min(max(_int_param(request, "page_size") or 50, 1), 500)
    page = title_timeline(
        user=request.user,
        work=work,
        filters=filters,
        cursor=request.query_params.get("cursor", ""),
        limit=size,
    )

    def link(cursor: str) -> str | None:
        if not cursor:
            return None
        query = request.query_params.copy()
        query["cursor"] = cursor
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return Response(
        {
            "next": link(page.next_cursor),
            "previous": link(page.prev_cursor),
            "results": TimelineEntrySerializer(page.entries, many=True).data,
        }
    )


# --- contributor actions ----------------------------------------------------------------------


class ContributorActionSerializer(PolicyModelSerializer):
    state = serializers.SerializerMethodField()
    owner = serializers.CharField(
        source="owner.email", read_only=True, default=None, allow_null=True
    )
    communication_type = serializers.CharField(source="communication.communication_type.code")
    message_key = serializers.UUIDField(source="message.key")
    message_status = serializers.CharField(source="message.status")

    class Meta:
        model = ContributorAction
        fields = [
            "id",
            "imprint",
            "work",
            "communication",
            "communication_type",
            "message_key",
            "message_status",
            "recipient_name",
            "owner",
            "state",
            "due_on",
            "due_source",
            "responded_on",
            "response_note",
            "reminder",
            "reminder_count",
            "created_at",
        ]

    def get_state(self, obj: ContributorAction) -> str:
        return obj.display_state(self.context.get("today"))


EARLIEST_STATUS_DATE = datetime.date(1970, 1, 1)


def _status_date(value: datetime.date) -> None:
    """A hand-entered status date: not in the future (as the CSV imports) and not absurdly old
    (a year-285 date cannot be shown as an RFC 3339 time)."""
    if value > timezone.localdate():
        raise serializers.ValidationError("The date is in the future.")
    if value < EARLIEST_STATUS_DATE:
        raise serializers.ValidationError(f"The date is before {EARLIEST_STATUS_DATE}.")


class RecordResponseSerializer(serializers.Serializer):
    responded_on = serializers.DateField(validators=[_status_date])
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    status = serializers.ChoiceField(choices=HAND_STATUSES, default=Message.Status.RESPONDED)


@extend_schema(
    parameters=[
        OpenApiParameter("imprint", OpenApiTypes.INT),
        OpenApiParameter("owner", OpenApiTypes.INT),
        OpenApiParameter("work", OpenApiTypes.INT),
        OpenApiParameter("state", OpenApiTypes.STR, enum=ContributorAction.State.values),
        OpenApiParameter("due_before", OpenApiTypes.DATE),
        OpenApiParameter("due_after", OpenApiTypes.DATE),
    ]
)
class ContributorActionViewSet(viewsets.ReadOnlyModelViewSet):
    """Outstanding contributor actions, most urgent first. ``POST {id}/response/`` records a
    response (or returned mail) by hand."""

    serializer_class = ContributorActionSerializer
    permission_classes = [PolicyPermission]
    pagination_class = Pagination
    policy_actions = {"POST": Action.RECORD_RESPONSE}
    queryset = ContributorAction.objects.none()

    def get_queryset(self) -> QuerySet[ContributorAction]:
        request = self.request
        state = request.query_params.get("state", "")
        if state and state not in ContributorAction.State.values:
            raise serializers.ValidationError(
                {"state": [f"Use one of {', '.join(ContributorAction.State.values)}."]}
            )
        return contributor_actions_for(
            user=request.user,
            imprint_id=_int_param(request, "imprint"),
            owner_id=_int_param(request, "owner"),
            work_id=_int_param(request, "work"),
            state=state,
            due_before=_date_param(request, "due_before"),
            due_after=_date_param(request, "due_after"),
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    @extend_schema(request=RecordResponseSerializer, responses=ContributorActionSerializer)
    @action(detail=True, methods=["post"], url_path="response")
    def record_response(self, request: Request, pk: str | None = None) -> Response:
        contributor_action = self.get_object()
        body = RecordResponseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            updated = contributor_action_record_response(
                actor=request.user,
                action=contributor_action,
                responded_on=body.validated_data["responded_on"],
                note=body.validated_data.get("note", ""),
                status=body.validated_data["status"],
            )
        except ValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        return Response(self.get_serializer(updated).data)

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "ReminderDrafted",
                {
                    "reminder": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "status": serializers.CharField(),
                },
            )
        },
    )
    @action(detail=True, methods=["post"], url_path="remind")
    def remind(self, request: Request, pk: str | None = None) -> Response:
        """Draft a reminder (a contributor request to this contributor only); it then goes
        through preview and approval as usual. Needs the right to draft contributor mail."""
        contributor_action = self.get_object()
        if not policy.can_draft(request.user, Category.CONTRIBUTOR, contributor_action.imprint_id):
            raise PermissionDenied("You may not draft contributor communications in this imprint.")
        try:
            reminder = contributor_action_remind(actor=request.user, action=contributor_action)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return Response(
            {"reminder": reminder.pk, "name": reminder.name, "status": reminder.status},
            status=201,
        )


# --- hand entry of message status -------------------------------------------------------------


class MessageStatusEntrySerializer(serializers.Serializer):
    message_key = serializers.UUIDField()
    status = serializers.ChoiceField(choices=HAND_STATUSES)
    date = serializers.DateField(validators=[_status_date])
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class MessageStatusResultSerializer(serializers.Serializer):
    message_key = serializers.UUIDField()
    status = serializers.CharField()
    recorded = serializers.BooleanField()


@extend_schema(request=MessageStatusEntrySerializer, responses=MessageStatusResultSerializer)
@api_view(["POST"])
@permission_classes([PolicyPermission])
def message_status_entry(request: Request) -> Response:
    """Record returned mail or a response for one message by hand (RECORD_RESPONSE in the
    message's imprint). Recording the same status and date again changes nothing."""
    body = MessageStatusEntrySerializer(data=request.data)
    body.is_valid(raise_exception=True)
    message = (
        policy.for_user(
            request.user,
            Message.objects.select_related("communication"),
            imprint_field="communication__imprint",
        )
        .filter(key=body.validated_data["message_key"])
        .first()
    )
    if message is None:
        raise Http404("No such message in your imprints.")
    try:
        result = message_status_record(
            actor=request.user,
            message=message,
            status=body.validated_data["status"],
            occurred_on=body.validated_data["date"],
            note=body.validated_data.get("note", ""),
        )
    except ValidationError as exc:
        raise serializers.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        ) from exc
    message.refresh_from_db(fields=["status"])
    return Response(
        {
            "message_key": str(message.key),
            "status": message.status,
            "recorded": bool(result.recorded),
        },
        status=201 if result.recorded else 200,
    )


# --- write-back records and customer-service outcomes -------------------------------------


class WritebackRecordSerializer(PolicyModelSerializer):
    client_mutation_id = serializers.CharField(read_only=True)

    class Meta:
        model = WritebackRecord
        fields = [
            "id",
            "imprint",
            "work",
            "event_kind",
            "status",
            "mutation",
            "mutation_input",
            "client_mutation_id",
            "reason",
            "summary",
            "result",
            "occurred_at",
            "created_at",
        ]


@extend_schema(
    parameters=[
        OpenApiParameter("work", OpenApiTypes.INT),
        OpenApiParameter("status", OpenApiTypes.STR, enum=WritebackRecord.Status.values),
        OpenApiParameter("event_kind", OpenApiTypes.STR),
    ]
)
class WritebackRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Business events for Consonance: written back, queued, failed, or kept in Colophon."""

    serializer_class = WritebackRecordSerializer
    permission_classes = [PolicyPermission]
    pagination_class = Pagination
    queryset = WritebackRecord.objects.none()

    def get_queryset(self) -> QuerySet[WritebackRecord]:
        qs = writeback_records_for(user=self.request.user)
        if work := _int_param(self.request, "work"):
            qs = qs.filter(work_id=work)
        if status := self.request.query_params.get("status"):
            qs = qs.filter(status=status)
        if kind := self.request.query_params.get("event_kind"):
            qs = qs.filter(event_kind=kind)
        return qs


class LinkedMessageSerializer(serializers.Serializer):
    """The message an outcome is linked to: its key (the customer key Colophon sent to
    Exstream) and its communication, by the id ``/api/v1/communications/{id}/`` takes."""

    key = serializers.UUIDField(read_only=True)
    communication = serializers.IntegerField(source="communication_id", read_only=True)
    communication_name = serializers.CharField(source="communication.name", read_only=True)


class CustomerServiceOutcomeSerializer(PolicyModelSerializer):
    communication_type = serializers.CharField(
        source="communication_type.code", read_only=True, default=None, allow_null=True
    )
    message = serializers.SerializerMethodField(
        help_text="The message the outcome is linked to (by its message key), or null when it "
        "is linked by ISBN only or the message is not in one of your imprints."
    )

    class Meta:
        model = CustomerServiceOutcome
        fields = [
            "id",
            "imprint",
            "work",
            "isbn13",
            "issue_type",
            "communication_type",
            "case_reference",
            "outcome",
            "occurred_at",
            "source",
            "source_event_id",
            "note",
            "message",
        ]

    @extend_schema_field(LinkedMessageSerializer(allow_null=True))
    def get_message(self, obj: CustomerServiceOutcome) -> dict[str, Any] | None:
        message = obj.message
        if message is None:
            return None
        # Ingestion never links another imprint's message, but the link is checked again
        # here: a message is shown only to who may view its communication.
        request = self.context.get("request")
        if not policy.can(getattr(request, "user", None), Action.VIEW, message.communication):
            return None
        return dict(LinkedMessageSerializer(message).data)


@extend_schema(
    parameters=[
        OpenApiParameter("imprint", OpenApiTypes.INT),
        OpenApiParameter("work", OpenApiTypes.INT),
        OpenApiParameter(
            "issue_type", OpenApiTypes.STR, enum=CustomerServiceOutcome.IssueType.values
        ),
        OpenApiParameter("date_from", OpenApiTypes.DATE),
        OpenApiParameter("date_to", OpenApiTypes.DATE),
    ]
)
class CustomerServiceOutcomeViewSet(viewsets.ReadOnlyModelViewSet):
    """Outcomes of delay, out-of-stock, format-substitution and revised-date notices."""

    serializer_class = CustomerServiceOutcomeSerializer
    permission_classes = [PolicyPermission]
    pagination_class = Pagination
    queryset = CustomerServiceOutcome.objects.none()

    def get_queryset(self) -> QuerySet[CustomerServiceOutcome]:
        issue = self.request.query_params.get("issue_type", "")
        if issue and issue not in CustomerServiceOutcome.IssueType.values:
            raise serializers.ValidationError({"issue_type": ["Unknown issue type."]})
        return customer_service_outcomes_for(
            user=self.request.user,
            imprint_id=_int_param(self.request, "imprint"),
            work_id=_int_param(self.request, "work"),
            issue_type=issue,
            date_from=_date_param(self.request, "date_from"),
            date_to=_date_param(self.request, "date_to"),
        ).select_related("communication_type", "message__communication")
