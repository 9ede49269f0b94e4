"""REST API of the Setup area. Thin: serializers shape, services validate, save and audit.

Reading needs VIEW in the object's imprint; writing needs CONFIGURE (imprint admins). Objects of
other imprints are invisible (404)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import policy
from accounts.api import (
    JSONParser,
    Pagination,
    PolicyModelSerializer,
    PolicyPermission,
    PolicyRelatedField,
    query_id,
)
from accounts.ids import id_param
from accounts.models import Imprint
from accounts.policy import Action
from integration.lib.uploads import CSV_MAX_BYTES, validate_upload
from integration.models import (
    Audience,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    FieldMapping,
    ImprintTypeSetting,
    TriggerRule,
    Work,
)
from integration.setup.audiences import audience_count, audience_list_upload, audience_sample
from integration.setup.context import build_context
from integration.setup.mappings import (
    build_driver_data,
    mapping_delete,
    mapping_problems,
    mapping_save,
)
from integration.setup.templates import TEMPLATE_FIELDS, template_resolve
from integration.setup.transfer import (
    setup_export,
    setup_import,
    setup_object_delete,
    setup_object_save,
    setup_object_snapshot,
    type_auto_approval_set,
)
from integration.setup.triggers import TRIGGER_RULE_FIELDS


class SetupPermission(PolicyPermission):
    """Defaults shared by every imprint: readable by any staff member, changed by superusers."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS and policy.imprint_id_of(obj) is None:
            return True
        return super().has_object_permission(request, view, obj)


def _visible_imprint_ids(user: Any) -> set[int]:
    return policy.imprint_ids_for(user, Action.VIEW)


class CommunicationTypeSerializer(PolicyModelSerializer):
    auto_approvable = serializers.SerializerMethodField()

    class Meta:
        model = CommunicationType
        fields = ["id", "code", "name", "category", "flow", "response_expected", "auto_approvable"]

    def get_auto_approvable(self, obj: CommunicationType) -> bool | None:
        settings: dict[int, bool] | None = self.context.get("auto_approvable")
        if settings is None:
            return None
        return settings.get(obj.pk, False)


class AutoApprovalSerializer(serializers.Serializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())
    auto_approvable = serializers.BooleanField()


class CommunicationTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """The seeded communication types. ``?imprint=<id>`` adds that imprint's auto-approval."""

    queryset = CommunicationType.objects.all()
    serializer_class = CommunicationTypeSerializer
    permission_classes = [SetupPermission]
    pagination_class = Pagination

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        raw = id_param(self.request.query_params.get("imprint", ""))
        if raw is not None and policy.can(self.request.user, Action.VIEW, raw):
            context["auto_approvable"] = dict(
                ImprintTypeSetting.objects.filter(imprint_id=raw).values_list(
                    "communication_type_id", "auto_approvable"
                )
            )
        return context

    @action(detail=True, methods=["post"], url_path="auto-approval")
    def auto_approval(self, request: Request, pk: str | None = None) -> Response:
        ctype = get_object_or_404(CommunicationType, pk=pk)  # global; the imprint is checked below
        body = AutoApprovalSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        imprint = body.validated_data["imprint"]
        if not policy.can(request.user, Action.VIEW, imprint):
            raise serializers.ValidationError({"imprint": ["No such imprint."]})
        policy.require(request.user, Action.CONFIGURE, imprint)
        setting = type_auto_approval_set(
            actor=request.user,
            imprint=imprint,
            communication_type=ctype,
            auto_approvable=body.validated_data["auto_approvable"],
        )
        return Response({"communication_type": ctype.code, "imprint": imprint.pk,
                         "auto_approvable": setting.auto_approvable})  # fmt: skip


class SetupViewSet(viewsets.ModelViewSet):
    """Shared behaviour: narrow to visible imprints, check CONFIGURE on the target imprint,
    save through the audited service."""

    permission_classes = [SetupPermission]
    pagination_class = Pagination
    global_allowed = False

    def get_queryset(self) -> QuerySet[Any]:
        model = self.get_serializer_class().Meta.model  # type: ignore[attr-defined]
        qs = model._default_manager.all()
        if self.request.user.is_superuser:
            return qs
        ids = _visible_imprint_ids(self.request.user)
        cond = Q(imprint_id__in=ids)
        if self.global_allowed:
            cond |= Q(imprint__isnull=True)
        qs = qs.filter(cond)
        imprint = query_id(self.request.query_params, "imprint")
        if imprint is not None:
            qs = qs.filter(imprint_id=imprint)
        return qs

    def _check_target(self, imprint: Imprint | None) -> None:
        if imprint is None:
            if not self.request.user.is_superuser:
                raise PermissionDenied("Defaults for every imprint are set by superusers.")
            return
        policy.require(self.request.user, Action.CONFIGURE, imprint)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._check_target(serializer.validated_data.get("imprint"))
        self._save(serializer, None)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        instance = serializer.instance
        before = setup_object_snapshot(instance)  # type: ignore[arg-type]
        if "imprint" in serializer.validated_data:
            self._check_target(serializer.validated_data["imprint"])
        self._save(serializer, before)

    def _save(self, serializer: serializers.BaseSerializer, before: dict[str, Any] | None) -> None:
        data = dict(serializer.validated_data)
        m2m = {}
        model = serializer.Meta.model  # type: ignore[attr-defined]
        for field in model._meta.many_to_many:
            if field.name in data:
                m2m[field.name] = data.pop(field.name)
        instance = serializer.instance or model()
        for key, value in data.items():
            setattr(instance, key, value)
        serializer.instance = setup_object_save(
            actor=self.request.user, instance=instance, m2m=m2m, before=before
        )

    def perform_destroy(self, instance: Any) -> None:
        setup_object_delete(actor=self.request.user, instance=instance)


class TemplateSerializer(PolicyModelSerializer):
    problems = serializers.SerializerMethodField()

    class Meta:
        model = CommunicationTemplate
        fields = ["id", *TEMPLATE_FIELDS, "problems"]
        validators: list[Any] = []

    def get_problems(self, obj: CommunicationTemplate) -> list[str]:
        return mapping_problems(obj)


class TryBody(serializers.Serializer):
    work = serializers.IntegerField(required=False)
    values = serializers.DictField(required=False, help_text="Context values to override.")


class TemplateViewSet(SetupViewSet):
    serializer_class = TemplateSerializer
    global_allowed = True

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().select_related("exstream_communication")

    @action(detail=False, methods=["get"])
    def resolve(self, request: Request) -> Response:
        """?communication_type=<code>&imprint=<id>&territory=GB&language=en&on=YYYY-MM-DD"""
        params = request.query_params
        ctype = CommunicationType.objects.filter(code=params.get("communication_type", "")).first()
        if ctype is None:
            raise serializers.ValidationError({"communication_type": ["Unknown type code."]})
        imprint = None
        imprint_id = query_id(params, "imprint")
        if imprint_id is not None:
            imprint = get_object_or_404(
                Imprint.objects.filter(pk__in=_visible_imprint_ids(request.user))
                if not request.user.is_superuser
                else Imprint.objects.all(),
                pk=imprint_id,
            )
        try:
            on_date = (
                datetime.date.fromisoformat(params["on"])
                if params.get("on")
                else timezone.localdate()
            )
        except ValueError as exc:
            raise serializers.ValidationError({"on": ["Use YYYY-MM-DD."]}) from exc
        resolution = template_resolve(
            communication_type=ctype,
            imprint=imprint,
            territory_code=params.get("territory", "").upper(),
            language=params.get("language", ""),
            on_date=on_date,
        )
        return Response(
            {
                "template": resolution.template.pk if resolution.template else None,
                "explanation": resolution.explanation,
                "candidates": [
                    {
                        "template": c.template.pk,
                        "name": str(c.template),
                        "level": c.level,
                        "verdict": c.verdict,
                        "reason": c.reason,
                    }
                    for c in resolution.candidates
                ],
            }
        )

    @extend_schema(
        request=TryBody,
        responses=inline_serializer(
            "TemplateTryResult",
            {
                "driver_data": serializers.DictField(),
                "problems": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    @action(detail=True, methods=["post"], url_path="try")
    def try_(self, request: Request, pk: str | None = None) -> Response:
        """Driver data for a title (``work``) or a given context; sample values fill gaps."""
        template = self.get_object()
        body = TryBody(data=request.data)
        body.is_valid(raise_exception=True)
        work = None
        if body.validated_data.get("work"):
            work = get_object_or_404(
                policy.for_user(request.user, Work.objects.all(), Action.VIEW),
                pk=body.validated_data["work"],
            )
        context = build_context(work=work, territory=template.territory_code or "GB", sample=True)
        context.update(body.validated_data.get("values") or {})
        driver, problems = build_driver_data(template=template, context=context)
        return Response({"driver_data": driver, "problems": problems})


class MappingSerializer(PolicyModelSerializer):
    class Meta:
        model = FieldMapping
        fields = ["id", "template", "driver_field", "context_field", "transforms", "required"]
        validators: list[Any] = []


class MappingViewSet(viewsets.ModelViewSet):
    serializer_class = MappingSerializer
    permission_classes = [SetupPermission]
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[FieldMapping]:
        qs = FieldMapping.objects.select_related("template", "template__exstream_communication")
        if not self.request.user.is_superuser:
            ids = _visible_imprint_ids(self.request.user)
            qs = qs.filter(Q(template__imprint_id__in=ids) | Q(template__imprint__isnull=True))
        template = query_id(self.request.query_params, "template")
        if template is not None:
            qs = qs.filter(template_id=template)
        return qs

    def _template(self, template: CommunicationTemplate) -> CommunicationTemplate:
        user = self.request.user
        if template.imprint_id is not None and not policy.can(user, Action.VIEW, template):
            raise serializers.ValidationError({"template": ["No such template."]})
        policy.require(user, Action.CONFIGURE, template)
        return template

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        template = self._template(data["template"])
        serializer.instance = mapping_save(
            actor=self.request.user,
            template=template,
            driver_field=data["driver_field"],
            context_field=data["context_field"],
            transforms=data.get("transforms") or [],
            required=data.get("required", False),
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        mapping = serializer.instance
        assert isinstance(mapping, FieldMapping)
        data = serializer.validated_data
        template = self._template(data.get("template", mapping.template))
        serializer.instance = mapping_save(
            actor=self.request.user,
            template=template,
            mapping=mapping,
            driver_field=data.get("driver_field", mapping.driver_field),
            context_field=data.get("context_field", mapping.context_field),
            transforms=data.get("transforms", mapping.transforms),
            required=data.get("required", mapping.required),
        )

    def perform_destroy(self, instance: FieldMapping) -> None:
        mapping_delete(actor=self.request.user, mapping=instance)


class AudienceSerializer(PolicyModelSerializer):
    class Meta:
        model = Audience
        fields = [
            "id",
            "imprint",
            *Audience.SETTINGS_FIELDS,
            "list_filename",
            "list_uploaded_at",
        ]
        read_only_fields = ["list_filename", "list_uploaded_at"]
        validators: list[Any] = []


class AudienceViewSet(SetupViewSet):
    serializer_class = AudienceSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        responses=inline_serializer(
            "AudienceRecipients",
            {
                "count": serializers.IntegerField(allow_null=True),
                "count_note": serializers.CharField(),
                "sample": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    @action(detail=True, methods=["get"])
    def recipients(self, request: Request, pk: str | None = None) -> Response:
        """The count (null for an Exstream segment: unknown until sent) and a sample."""
        audience = self.get_object()
        count = audience_count(audience=audience)
        return Response(
            {
                "count": count,
                "count_note": "Exstream resolves this segment when the communication is sent; "
                "the number of recipients is unknown until then."
                if count is None
                else "",
                "sample": [r.as_dict() for r in audience_sample(audience=audience, n=10)],
            }
        )

    @action(detail=True, methods=["post"])
    def upload(self, request: Request, pk: str | None = None) -> Response:
        audience = self.get_object()
        policy.require(request.user, Action.CONFIGURE, audience)
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Attach the CSV file as 'file'."]})
        try:
            validate_upload(upload, max_bytes=CSV_MAX_BYTES, extensions=(".csv",))
        except ValidationError as exc:
            raise serializers.ValidationError({"file": exc.messages}) from exc
        try:
            rows = audience_list_upload(
                actor=request.user,
                audience=audience,
                filename=upload.name or "",
                data=upload.read(),
            )
        except ValidationError as exc:
            raise serializers.ValidationError({"file": exc.messages}) from exc
        return Response({"rows": rows}, status=status.HTTP_201_CREATED)


class ComplianceRuleSerializer(PolicyModelSerializer):
    communication_types = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=CommunicationType.objects.all(), required=False
    )

    class Meta:
        model = ComplianceRule
        fields = ["id", "imprint", *ComplianceRule.SETTINGS_FIELDS]
        validators: list[Any] = []


class ComplianceRuleViewSet(SetupViewSet):
    serializer_class = ComplianceRuleSerializer


class TriggerRuleSerializer(PolicyModelSerializer):
    communication_type = serializers.SlugRelatedField(
        slug_field="code", queryset=CommunicationType.objects.all()
    )

    class Meta:
        model = TriggerRule
        fields = ["id", *TRIGGER_RULE_FIELDS]
        validators: list[Any] = []


class TriggerRuleViewSet(SetupViewSet):
    serializer_class = TriggerRuleSerializer


_TRANSFER_SCHEMA = extend_schema(
    parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Imprint id")],
    request=OpenApiTypes.OBJECT,
    responses=OpenApiTypes.OBJECT,
)


@extend_schema_view(retrieve=_TRANSFER_SCHEMA, update=_TRANSFER_SCHEMA)
class SetupTransferViewSet(viewsets.ViewSet):
    """GET /setup-transfer/<imprint id>/ exports; POST the same JSON back imports."""

    permission_classes = [SetupPermission]

    def _imprint(self, request: Request, pk: str | None) -> Imprint:
        qs = Imprint.objects.all()
        if not request.user.is_superuser:
            qs = qs.filter(pk__in=_visible_imprint_ids(request.user))
        imprint = get_object_or_404(qs, pk=id_param(pk) or -1)
        policy.require(request.user, Action.CONFIGURE, imprint)
        return imprint

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(setup_export(imprint=self._imprint(request, pk)))

    def update(self, request: Request, pk: str | None = None) -> Response:
        imprint = self._imprint(request, pk)
        try:
            counts = setup_import(actor=request.user, imprint=imprint, data=request.data)
        except ValidationError as exc:
            raise serializers.ValidationError({"setup": exc.messages}) from exc
        return Response({"imported": counts})
