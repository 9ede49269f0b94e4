"""REST API of the statement setup (flow 3): statement rules and payee profiles per imprint,
configured by imprint admins like the other setup objects (CONFIGURE in the imprint; every save
and delete audited through ``setup_object_save``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import serializers

from accounts import policy
from accounts.api import PolicyModelSerializer, PolicyRelatedField
from accounts.models import Imprint
from integration.api.setup import SetupViewSet
from integration.models import Contact, PayeeProfile, StatementRule


class StatementRuleSerializer(PolicyModelSerializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())

    class Meta:
        model = StatementRule
        fields = [
            "id",
            "imprint",
            "name",
            "author_group",
            "territory_code",
            "currency",
            "minimum_payment",
            "withholding_rate",
            "note",
            "active",
        ]
        validators: list[Any] = []

    def validate_withholding_rate(self, value: Any) -> Any:
        if value is not None and not 0 <= value < 1:
            raise serializers.ValidationError("A fraction from 0 to below 1 (0.2 is 20%).")
        return value

    def validate_minimum_payment(self, value: Any) -> Any:
        if value is not None and value < 0:
            raise serializers.ValidationError("A minimum payment cannot be negative.")
        return value


class PayeeContactField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A payee: a contact who contributes to, or is paid royalties by, one of the caller's
    imprints (Consonance's contacts are shared; nobody picks another imprint's people)."""

    def get_queryset(self) -> QuerySet[Contact]:
        request = self.context.get("request")
        imprints = policy.visible(getattr(request, "user", None), Imprint.objects.all())
        return (
            Contact.objects.filter(withdrawn_at__isnull=True)
            .filter(
                Q(contributions__work__imprint__in=imprints) | Q(royaltyline__imprint__in=imprints)
            )
            .distinct()
        )


class PayeeProfileSerializer(PolicyModelSerializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())
    contact = PayeeContactField(style={"base_template": "input.html"})

    class Meta:
        model = PayeeProfile
        fields = ["id", "imprint", "contact", "channel", "author_group"]
        validators: list[Any] = []


class StatementRuleViewSet(SetupViewSet):
    serializer_class = StatementRuleSerializer


class PayeeProfileViewSet(SetupViewSet):
    serializer_class = PayeeProfileSerializer
