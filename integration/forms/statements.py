"""Forms of the statement setup screens (flow 3): statement rules and payee profiles. They
shape input only; ``integration/setup/statements.py`` validates and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import Imprint
from integration.models import Contact, PayeeProfile, StatementRule
from integration.setup.statements import STATEMENT_CHANNELS, STATEMENT_RULE_FIELDS


def _autofocus_first(form: forms.BaseForm) -> None:
    """Keyboard users start typing at once: the first field of a form has the focus."""
    for field in form.fields.values():
        if not field.widget.is_hidden:
            field.widget.attrs["autofocus"] = True
            return


def focus_first_error(form: forms.BaseForm) -> None:
    """After refused input the focus goes to the first field with an error, not the first field."""
    wrong = [name for name in form.fields if name in form.errors]
    if not wrong:
        return
    for field in form.fields.values():
        field.widget.attrs.pop("autofocus", None)
    form.fields[wrong[0]].widget.attrs["autofocus"] = True


class _ImprintForm(forms.ModelForm):
    """The imprint is chosen among those where the user may configure statements."""

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints
        field.empty_label = None if imprints.count() == 1 else "Choose an imprint"
        _autofocus_first(self)


class StatementRuleForm(_ImprintForm):
    withholding_rate = forms.DecimalField(
        required=False,
        max_digits=6,
        decimal_places=4,
        label="Withholding rate",
        help_text="A fraction withheld from a payment: 0.2 is 20%. Empty: nothing withheld.",
    )
    minimum_payment = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=3,
        label="Minimum payment",
        help_text="Below this nothing is paid and the balance is carried forward to the "
        "payee's next statement. Empty: any amount is paid.",
    )

    class Meta:
        model = StatementRule
        fields = STATEMENT_RULE_FIELDS
        labels = {"territory_code": "Payee territory", "note": "Note on the statement"}
        help_texts = {
            "author_group": "The payees' author group (on their payee profile); empty: every "
            "payee.",
        }
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class PayeeProfileForm(_ImprintForm):
    def __init__(
        self, *args: Any, imprints: QuerySet[Imprint], contacts: QuerySet[Contact], **kwargs: Any
    ) -> None:
        super().__init__(*args, imprints=imprints, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = contacts.order_by("name")
        field.label = "Payee"
        field.help_text = "A contributor to, or a payee of, one of your imprints' titles."
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = [(c.value, c.label) for c in STATEMENT_CHANNELS]

    class Meta:
        model = PayeeProfile
        fields = ["imprint", "contact", "channel", "author_group"]
        labels = {"channel": "Statements by"}
        help_texts = {"author_group": "The statement rules of this group apply to the payee."}
        widgets = {"channel": forms.RadioSelect}


class StatementFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    imprint = forms.ModelChoiceField(
        queryset=Imprint.objects.none(), required=False, empty_label="All my imprints"
    )

    def __init__(self, *args: Any, imprints: QuerySet[Imprint], q_label: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = q_label
        field = self.fields["imprint"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = imprints
