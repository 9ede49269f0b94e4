"""Forms of the Communications area."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Imprint
from accounts.policy import Category
from integration.models import (
    Audience,
    Channel,
    Communication,
    CommunicationType,
    Contract,
    RoyaltyImport,
    Work,
)
from integration.selectors.communications import audiences_to_choose


def title_choice_labels(works: list[Work]) -> dict[int, str]:
    """A label per title that tells same-named titles apart: the contributors, then the
    in-house reference or season, then the Consonance id — only as much as it takes."""
    labels = {w.pk: w.title for w in works}
    for extra in (
        lambda w: w.contributor_list,
        lambda w: w.in_house_reference or w.season,
        lambda w: f"Consonance {w.consonance_id}",
    ):
        seen: dict[str, int] = {}
        for w in works:
            seen[labels[w.pk]] = seen.get(labels[w.pk], 0) + 1
        duplicated = {label for label, n in seen.items() if n > 1}
        if not duplicated:
            break
        for w in works:
            if labels[w.pk] in duplicated and extra(w):
                labels[w.pk] = f"{labels[w.pk]} — {extra(w)}"
    return labels


ROYALTY_STATEMENT = "royalty-statement"


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
        help_text="For rights and contract letters: the chosen title's contracts (its latest is "
        "used when none is chosen).",
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
    offer_code = forms.CharField(
        max_length=50, required=False, label="Offer code", help_text="Optional, e.g. LIGHT20."
    )
    offer_description = forms.CharField(
        max_length=300,
        required=False,
        label="Offer",
        help_text="Optional, e.g. 20% off until launch day.",
    )
    offer_price = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, label="Offer price"
    )
    offer_currency = forms.CharField(
        max_length=3, required=False, label="Offer currency", help_text="e.g. GBP."
    )
    campaign_name = forms.CharField(
        max_length=200,
        required=False,
        label="Campaign",
        help_text="Optional, e.g. Autumn launches.",
    )
    campaign_code = forms.CharField(
        max_length=50, required=False, label="Campaign code", help_text="Optional tracking code."
    )
    campaign_link = forms.URLField(
        max_length=500,
        required=False,
        label="Link",
        help_text="Optional: proofs to read, an advance reading copy or a landing page.",
        assume_scheme="https",
    )

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
        audience.queryset = audiences_to_choose(imprint_ids=ids)  # type: ignore[attr-defined]
        if len(ids) > 1:  # name the imprint when the list mixes several
            audience.label_from_instance = (  # type: ignore[attr-defined]
                lambda a: f"{a.name} ({a.imprint})"
            )
        works = Work.objects.filter(imprint_id__in=ids, withdrawn_at__isnull=True).order_by(
            "title", "id"
        )
        work_field = self.fields["work"]
        work_field.queryset = works  # type: ignore[attr-defined]
        labels = title_choice_labels(list(works))
        work_field.label_from_instance = lambda w: labels.get(w.pk, w.title)  # type: ignore[attr-defined]
        # The contract list follows the chosen title (htmx swaps it when the title changes).
        chosen = self.data.get("work") if self.is_bound else self.initial.get("work")
        contracts = Contract.objects.filter(imprint_id__in=ids, withdrawn_at__isnull=True)
        if chosen and str(chosen).isdigit():
            contracts = contracts.filter(work_id=int(chosen))
        self.fields["contract"].queryset = contracts.order_by("name")  # type: ignore[attr-defined]
        work_field.widget.attrs.update(
            {
                "hx-get": reverse("communications:contract_options"),
                "hx-target": "#id_contract",
                "hx-trigger": "change",
            }
        )
        # Royalty periods only for those who may draft a royalty statement.
        if types.filter(category=Category.ROYALTIES).exists():
            self.fields["royalty_import"].queryset = RoyaltyImport.objects.filter(  # type: ignore[attr-defined]
                imprint_id__in=ids
            ).order_by("-created_at")
        else:
            del self.fields["royalty_import"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        work, contract = data.get("work"), data.get("contract")
        if work is not None and contract is not None and contract.work_id != work.pk:
            self.add_error("contract", f"That contract is not for “{work.title}”.")
        ctype = data.get("communication_type")
        if data.get("royalty_import") and ctype and ctype.category != Category.ROYALTIES:
            self.add_error("royalty_import", "A royalty period is only for royalty statements.")
        if ctype is not None and ctype.code == ROYALTY_STATEMENT and not data.get("royalty_import"):
            # without one it composed to "Required field 'amountDue' has no value" per payee
            self.add_error(
                "royalty_import" if "royalty_import" in self.fields else "communication_type",
                "A royalty statement reports a royalty period: choose it under Royalty period.",
            )
        data.setdefault("royalty_import", None)
        if data.get("offer_price") is not None and not data.get("offer_currency"):
            self.add_error("offer_currency", "Say which currency the offer price is in.")
        offer: dict[str, Any] = {}
        if data.get("offer_code"):
            offer["code"] = data["offer_code"].strip()
        if data.get("offer_description"):
            offer["description"] = data["offer_description"].strip()
        if data.get("offer_price") is not None and data.get("offer_currency"):
            offer["price"] = {
                "amount": str(data["offer_price"]),
                "currency": data["offer_currency"].strip().upper(),
            }
        campaign: dict[str, Any] = {}
        if data.get("campaign_name"):
            campaign["name"] = data["campaign_name"].strip()
        if data.get("campaign_code"):
            campaign["code"] = data["campaign_code"].strip()
        if data.get("campaign_link"):
            campaign["link"] = data["campaign_link"].strip()
        data["offer"], data["campaign"] = offer, campaign
        return data


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
