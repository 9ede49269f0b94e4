"""REST API of the statement setup (flow 3): statement rules and payee profiles per imprint,
configured by royalties staff and imprint admins (``Action.CONFIGURE_STATEMENTS`` in the imprint).
Thin: the services of ``integration/setup/statements.py`` check, validate, save and audit — the
same path as the staff screens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from accounts import policy
from accounts.api import PolicyModelSerializer, PolicyRelatedField
from accounts.models import Imprint
from accounts.policy import Action
from integration.api.setup import SetupViewSet
from integration.models import Contact, PayeeProfile, StatementRule
from integration.setup.statements import (
    STATEMENT_RULE_FIELDS,
    payee_contacts,
    payee_profile_delete,
    payee_profile_save,
    statement_rule_delete,
    statement_rule_save,
)
from integration.setup.transfer import setup_object_snapshot


class StatementRuleSerializer(PolicyModelSerializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())

    class Meta:
        model = StatementRule
        fields = ["id", *STATEMENT_RULE_FIELDS]
        validators: list[Any] = []


class PayeeContactField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A payee: a contact who contributes to, or is paid royalties by, one of the caller's
    imprints (Consonance's contacts are shared; nobody picks another imprint's people)."""

    def get_queryset(self) -> QuerySet[Contact]:
        request = self.context.get("request")
        imprints = policy.visible(getattr(request, "user", None), Imprint.objects.all())
        return payee_contacts(imprint_ids=imprints.values_list("pk", flat=True))


class PayeeProfileSerializer(PolicyModelSerializer):
    imprint = PolicyRelatedField(queryset=Imprint.objects.all())
    contact = PayeeContactField(style={"base_template": "input.html"})

    class Meta:
        model = PayeeProfile
        fields = ["id", "imprint", "contact", "channel", "author_group"]
        validators: list[Any] = []


class _StatementSetupViewSet(SetupViewSet):
    """Writes need CONFIGURE_STATEMENTS (royalties staff, imprint admins) on the object; the
    services check the target imprint (old and new) and do the work."""

    policy_write_action = Action.CONFIGURE_STATEMENTS

    def _apply(self, serializer: serializers.BaseSerializer, instance: Any) -> Any:
        for key, value in serializer.validated_data.items():
            setattr(instance, key, value)
        return instance


class StatementRuleViewSet(_StatementSetupViewSet):
    serializer_class = StatementRuleSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        rule = self._apply(serializer, StatementRule())
        serializer.instance = statement_rule_save(actor=self.request.user, rule=rule)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        before = setup_object_snapshot(serializer.instance)  # type: ignore[arg-type]
        rule = self._apply(serializer, serializer.instance)
        statement_rule_save(actor=self.request.user, rule=rule, before=before)

    def perform_destroy(self, instance: Any) -> None:
        statement_rule_delete(actor=self.request.user, rule=instance)


class PayeeProfileViewSet(_StatementSetupViewSet):
    serializer_class = PayeeProfileSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        profile = self._apply(serializer, PayeeProfile())
        serializer.instance = payee_profile_save(actor=self.request.user, profile=profile)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        before = setup_object_snapshot(serializer.instance)  # type: ignore[arg-type]
        profile = self._apply(serializer, serializer.instance)
        payee_profile_save(actor=self.request.user, profile=profile, before=before)

    def perform_destroy(self, instance: Any) -> None:
        payee_profile_delete(actor=self.request.user, profile=instance)
