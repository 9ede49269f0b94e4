"""Forms for message status entry, contributor actions, write-back rules and report uploads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Imprint, User
from integration.lib.uploads import CSV_MAX_BYTES, validate_upload
from integration.models import Message, WritebackRule


class RecordResponseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Message.Status.RESPONDED, "The contributor responded"),
            (Message.Status.RETURNED, "The mail came back (returned)"),
        ],
        initial=Message.Status.RESPONDED,
        label="What happened",
    )
    responded_on = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )
    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_responded_on(self) -> Any:
        value = self.cleaned_data["responded_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date is in the future.")
        return value


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = owners


class CsvUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, with a header row (at most 5 MB).")

    def clean_file(self) -> Any:
        return validate_upload(
            self.cleaned_data["file"], max_bytes=CSV_MAX_BYTES, extensions=(".csv",)
        )


class ImprintCsvUploadForm(CsvUploadForm):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())

    field_order = ["imprint", "file"]

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints


class WritebackRuleForm(forms.Form):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())
    event_kind = forms.ChoiceField(choices=WritebackRule.EventKind.choices)
    mutation = forms.ChoiceField(choices=WritebackRule.Mutation.choices)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints
