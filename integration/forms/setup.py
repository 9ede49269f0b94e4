"""Forms of the Setup area. Lists are typed as comma-separated text; JSON as JSON."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.api import contains_nul
from accounts.models import Imprint
from accounts.policy import Category
from integration.lib.uploads import CSV_MAX_BYTES, SETUP_JSON_MAX_BYTES, validate_upload
from integration.models import (
    Audience,
    Channel,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    ExstreamCommunication,
    FieldMapping,
    TriggerRule,
)
from integration.setup.audiences import reminder_audience_ids
from integration.setup.context import FIELDS
from integration.setup.templates import TEMPLATE_FIELDS
from integration.setup.triggers import TRIGGER_RULE_FIELDS

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class CommaListField(forms.CharField):
    """'A01, B01' <-> ["A01", "B01"]; ``to_int`` for weekdays."""

    def __init__(self, *args: Any, to_int: bool = False, upper: bool = False, **kwargs: Any):
        self.to_int = to_int
        self.upper = upper
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[Any]:  # type: ignore[override]
        text = super().to_python(value) or ""
        items = [v.strip() for v in text.split(",") if v.strip()]
        if self.upper:
            items = [v.upper() for v in items]
        if self.to_int:
            try:
                return [int(v) for v in items]
            except ValueError as exc:
                raise forms.ValidationError("Use whole numbers separated by commas.") from exc
        return items


class ImprintScopedForm(forms.ModelForm):
    """The imprint choice is limited to imprints the user configures."""

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], allow_global: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints
        field.required = not allow_global
        if allow_global:
            field.empty_label = "Every imprint (default)"


class TemplateForm(ImprintScopedForm):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    exstream_communication = forms.ModelChoiceField(
        queryset=ExstreamCommunication.objects.filter(active=True).order_by("name"),
        help_text="From the synced Exstream catalogue; only designs approved in production can "
        "be bound (any can be previewed from the Exstream screen).",
    )
    optional_driver_fields = CommaListField(
        help_text="Driver-sample fields this design does not require, comma-separated."
    )

    class Meta:
        model = CommunicationTemplate
        fields = TEMPLATE_FIELDS
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "effective_to": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "locale": forms.Select(choices=[(x, x) for x in ("en-GB", "en-US", "fr-FR", "de-DE")]),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class AudienceForm(ImprintScopedForm):
    contributor_roles = CommaListField(
        upper=True, help_text="ONIX list 17 codes, comma-separated (A01, B01); empty: all."
    )
    organisation_types = CommaListField(
        help_text="agency, licensee, retailer, wholesaler, library, distributor"
    )

    class Meta:
        model = Audience
        fields = ["imprint", *Audience.SETTINGS_FIELDS]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class ComplianceRuleForm(ImprintScopedForm):
    categories = forms.MultipleChoiceField(
        choices=[(c.value, c.value.replace("_", " ").capitalize()) for c in Category],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every category.",
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every channel (for 'channel not allowed': the forbidden ones).",
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="For a sending window: the days sending is allowed.",
    )

    class Meta:
        model = ComplianceRule
        fields = ["imprint", *ComplianceRule.SETTINGS_FIELDS]
        help_texts = {
            "communication_types": "Hold Ctrl (⌘ on a Mac) to pick several; none: every type.",
            "required_field": "For 'a driver field (clause) must be filled': its name, "
            "e.g. clause4.",
            "start_hour": "For a sending window: the first hour sending is allowed (0–23).",
            "end_hour": "The hour sending stops (1–24), after the start hour.",
        }


class TriggerRuleForm(ImprintScopedForm):
    class Meta:
        model = TriggerRule
        fields = TRIGGER_RULE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        imprint_field = self.fields["imprint"]
        assert isinstance(imprint_field, forms.ModelChoiceField)
        audience = self.fields["audience"]
        assert isinstance(audience, forms.ModelChoiceField)
        # not the one-person lists made for a single reminder (they belong to it)
        audience.queryset = (
            Audience.objects.filter(imprint__in=imprint_field.queryset)  # type: ignore[arg-type]
            .exclude(pk__in=reminder_audience_ids())
            .select_related("imprint")
        )
        audience.label_from_instance = lambda obj: f"{obj.name} ({obj.imprint})"  # type: ignore[method-assign,assignment]


# The common ways to shape a value, as a person would pick them; anything else (a lookup
# table, a default, a locale) goes in "More steps" as a list of steps.
TRANSFORM_PRESETS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "": ("As it is", []),
    "date-long": ("Date, long (5 March 2026)", [{"op": "date", "style": "long"}]),
    "date-short": ("Date, short (05/03/2026)", [{"op": "date", "style": "short"}]),
    "date-iso": ("Date, ISO (2026-03-05)", [{"op": "date", "style": "iso"}]),
    "money": ("Money (£16.99)", [{"op": "money"}]),
    "upper": ("UPPER CASE", [{"op": "upper"}]),
    "lower": ("lower case", [{"op": "lower"}]),
    "title": ("Title Case", [{"op": "title"}]),
    "join-and": (
        "A list as a phrase (A, B and C)",
        [{"op": "join", "separator": ", ", "last_separator": " and "}],
    ),
    "join-territory": ("Territories, joined", [{"op": "join", "key": "territory"}]),
    "join-right": ("Rights, joined", [{"op": "join", "key": "right_type"}]),
    "join-lines": ("A list, one per line", [{"op": "join", "separator": "\n"}]),
}


def preset_for(steps: Any) -> str | None:
    for key, (_label, preset) in TRANSFORM_PRESETS.items():
        if steps == preset or (not steps and not preset):
            return key
    return None


class MappingForm(forms.ModelForm):
    context_field = forms.ChoiceField(
        choices=[(f.key, f"{f.label} ({f.key})") for f in FIELDS],
        label="From",
        help_text="The Colophon value that fills the driver field.",
    )
    shape = forms.ChoiceField(
        choices=[(k, label) for k, (label, _steps) in TRANSFORM_PRESETS.items()],
        required=False,
        label="Shown as",
        help_text="How the value is written into the driver field.",
    )
    transforms = forms.CharField(
        required=False,
        label="More steps (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only for what the list above does not offer (a lookup table, a default, "
        'another locale), as steps such as [{"op": "default", "value": "—"}]. When filled, '
        "these steps are used instead of “Shown as”.",
    )

    class Meta:
        model = FieldMapping
        fields = ["driver_field", "context_field", "shape", "transforms", "required"]

    def __init__(self, *args: Any, template: CommunicationTemplate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [f["name"] for f in template.exstream_communication.driver_fields]
        required = set(template.exstream_communication.required_fields)
        if names:
            self.fields["driver_field"] = forms.ChoiceField(
                choices=[
                    (
                        n,
                        f"{n} (required)" if n in required else n,
                    )
                    for n in names
                ],
                help_text=f"Driver fields of {template.exstream_communication.name}.",
            )
        if self.instance.pk and not self.is_bound:
            preset = preset_for(self.instance.transforms)
            if preset is not None:
                self.initial["shape"] = preset
            else:
                self.initial["transforms"] = json.dumps(self.instance.transforms)

    def clean_transforms(self) -> list[Any] | None:
        text = (self.cleaned_data.get("transforms") or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                "These steps cannot be read. Write a list of steps in square brackets, "
                'e.g. [{"op": "default", "value": "—"}], or leave the box empty.'
            ) from exc
        if not isinstance(value, list):
            raise forms.ValidationError("Write the steps as a list, in square brackets.")
        if contains_nul(value):
            raise forms.ValidationError("The steps contain a NUL character (\\u0000); remove it.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("transforms") is None:
            data["transforms"] = list(TRANSFORM_PRESETS.get(data.get("shape") or "", ("", []))[1])
        return data


class TryForm(forms.Form):
    work = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(
        required=False, label="Try with title", help_text="Type part of a title or an ISBN."
    )


class ResolveForm(forms.Form):
    communication_type = forms.ModelChoiceField(queryset=CommunicationType.objects.all())
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none(), required=False)
    territory_code = forms.CharField(max_length=10, required=False, initial="GB")
    language = forms.CharField(max_length=10, required=False, initial="en")
    on_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with columns email, name, country, consent (yes/no), channel (at most 5 MB)."
    )

    def clean_file(self) -> Any:
        return validate_upload(
            self.cleaned_data["file"], max_bytes=CSV_MAX_BYTES, extensions=(".csv",)
        )


class ImportForm(forms.Form):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())
    file = forms.FileField(help_text="A JSON file exported from Colophon's Setup.")

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints

    def clean_file(self) -> Any:
        return validate_upload(
            self.cleaned_data["file"], max_bytes=SETUP_JSON_MAX_BYTES, extensions=(".json",)
        )


class FilterForm(forms.Form):
    imprint = forms.ModelChoiceField(
        queryset=Imprint.objects.none(), required=False, empty_label="All my imprints"
    )
    q = forms.CharField(required=False, label="Name contains")

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints
