from __future__ import annotations

from django import forms

from accounts.models import Imprint
from accounts.wording import VERB_SENTENCES


class AuditFilterForm(forms.Form):
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none(), required=False)
    actor = forms.CharField(required=False, label="Actor (e-mail contains)")
    verb = forms.ChoiceField(
        required=False,
        label="Action",
        choices=[
            ("", "Any action"),
            *sorted(VERB_SENTENCES.items(), key=lambda item: item[1].lower()),
        ],
    )
    date_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, imprints=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if imprints is not None:
            self.fields["imprint"].queryset = imprints  # type: ignore[attr-defined]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        date_from, date_to = (data or {}).get("date_from"), (data or {}).get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError("'From' must be on or before 'to'.")
        return data
