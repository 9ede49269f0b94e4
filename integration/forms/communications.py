"""Forms of the Communications area."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import Imprint
from integration.models import (
    Audience,
    Channel,
    Communication,
    CommunicationType,
    Contract,
    RoyaltyImport,
    Work,
)


class JSONObjectField(forms.CharField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> dict[str, Any]:  # type: ignore[override]
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"This is not JSON: {exc}.") from exc
        if not isinstance(data, dict):
            raise forms.ValidationError('Use an object, e.g. {"code": "LIGHT20"}.')
        return data


class CommunicationForm(forms.Form):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())
    communication_type = forms.ModelChoiceField(
        queryset=CommunicationType.objects.none(), label="Type"
    )
    audience = forms.ModelChoiceField(queryset=Audience.objects.none())
    work = forms.ModelChoiceField(
        queryset=Work.objects.none(), required=False, label="Title", help_text="What it is about."
    )
    contract = forms.ModelChoiceField(
        queryset=Contract.objects.none(),
        required=False,
        help_text="For rights and contract letters (its title is used when none is chosen).",
    )
    royalty_import = forms.ModelChoiceField(
        queryset=RoyaltyImport.objects.none(),
        required=False,
        label="Royalty period",
        help_text="For royalty statements: the imported royalty lines, per payee.",
    )
    name = forms.CharField(
        max_length=300, required=False, help_text="Leave empty for '<type>: <title>'."
    )
    territory_code = forms.CharField(
        max_length=10,
        required=False,
        label="Territory",
        help_text="A country code such as GB; empty: the audience's territory.",
    )
    language = forms.CharField(
        max_length=10,
        required=False,
        help_text="e.g. en or fr, to pick a template in that language; empty: any.",
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Empty: the template's channels.",
    )
    offer = JSONObjectField(help_text='Optional, e.g. {"code": "LIGHT20", "description": "…"}.')
    campaign = JSONObjectField(help_text='Optional, e.g. {"name": "Autumn launches"}.')

    def __init__(
        self,
        *args: Any,
        imprints: QuerySet[Imprint],
        types: QuerySet[CommunicationType],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        ids = list(imprints.values_list("pk", flat=True))
        self.fields["imprint"].queryset = imprints  # type: ignore[attr-defined]
        self.fields["communication_type"].queryset = types  # type: ignore[attr-defined]
        audience = self.fields["audience"]
        audience.queryset = (  # type: ignore[attr-defined]
            Audience.objects.filter(imprint_id__in=ids).select_related("imprint").order_by("name")
        )
        if len(ids) > 1:  # name the imprint when the list mixes several
            audience.label_from_instance = (  # type: ignore[attr-defined]
                lambda a: f"{a.name} ({a.imprint})"
            )
        self.fields["work"].queryset = Work.objects.filter(  # type: ignore[attr-defined]
            imprint_id__in=ids, withdrawn_at__isnull=True
        ).order_by("title")
        self.fields["contract"].queryset = Contract.objects.filter(  # type: ignore[attr-defined]
            imprint_id__in=ids, withdrawn_at__isnull=True
        ).order_by("name")
        self.fields["royalty_import"].queryset = RoyaltyImport.objects.filter(  # type: ignore[attr-defined]
            imprint_id__in=ids
        ).order_by("-created_at")


class FilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *Communication.Status.choices])
    communication_type = forms.ModelChoiceField(
        queryset=CommunicationType.objects.all(), required=False, label="Type"
    )
    work = forms.IntegerField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(required=False, label="Name contains")


class RejectForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why, so the drafter can fix it."
    )
