"""The sandbox control page: simulate Consonance changes and switch faults on for tests."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts import policy
from accounts.models import Imprint
from accounts.types import AuthedRequest
from sandbox.consonance import store
from sandbox.models import SandboxContract, SandboxProduct, SandboxState, SandboxWork


class FaultForm(forms.Form):
    fault = forms.ChoiceField(choices=SandboxState.Fault.choices, required=False)
    count = forms.IntegerField(min_value=0, max_value=100, initial=1, label="Next N requests")
    retry_after = forms.IntegerField(min_value=0, max_value=120, initial=1, label="Retry-After (s)")
    page_size = forms.IntegerField(min_value=1, max_value=1000, initial=100)


class SimulateForm(forms.Form):
    CHANGES = [
        ("price", "Price change (GBP +1.00)"),
        ("pub_date", "Publication date slips 30 days"),
        ("delivery", "Delivery date slips 30 days"),
        ("stage", "Project stage → Production"),
        ("right", "New licensed right (Audio, WORLD)"),
    ]
    change = forms.ChoiceField(choices=CHANGES)
    work_id = forms.IntegerField(label="Consonance work id")


def _require_sandbox_admin(request: AuthedRequest) -> None:
    if not (
        request.user.is_superuser or policy.imprint_ids_for(request.user, policy.Action.CONFIGURE)
    ):
        raise PermissionDenied("The sandbox control page is for superusers and imprint admins.")


def _sandbox_imprints(request: AuthedRequest) -> list[int] | None:
    """Consonance imprint ids whose sandbox titles this user may see (None: every imprint,
    for superusers). Sandbox titles carry their imprint's Consonance id."""
    if request.user.is_superuser:
        return None
    ids = policy.imprint_ids_for(request.user, policy.Action.CONFIGURE)
    return [
        cid
        for cid in Imprint.objects.filter(pk__in=ids).values_list("consonance_id", flat=True)
        if cid is not None
    ]


def _visible_works(request: AuthedRequest) -> QuerySet[SandboxWork]:
    imprints = _sandbox_imprints(request)
    works = SandboxWork.objects.all()
    return works if imprints is None else works.filter(imprint_id__in=imprints)


def _simulate(change: str, work_id: int) -> str:
    product = SandboxProduct.objects.filter(work_id=work_id).order_by("id").first()
    contract = SandboxContract.objects.filter(work_id=work_id).order_by("id").first()
    if change in ("price", "pub_date") and product is None:
        raise ValueError(f"Work {work_id} has no products.")
    if change in ("delivery", "right") and contract is None:
        raise ValueError(f"Work {work_id} has no contract.")
    if change == "price":
        assert product is not None
        price = store.change_price(product.pk)
        return f"Product {product.pk}: GBP price is now {price['amount']:.2f}."
    if change == "pub_date":
        assert product is not None
        new_date = store.slip_publication_date(product.pk)
        return f"Product {product.pk}: publication date is now {new_date}."
    if change == "delivery":
        assert contract is not None
        return (
            f"Contract {contract.pk}: delivery slipped to {store.slip_delivery_date(contract.pk)}."
        )
    if change == "stage":
        return f"Work {work_id}: stage is now {store.change_stage(work_id)}."
    assert contract is not None
    right = store.add_licensed_right(contract.pk)
    return f"Contract {contract.pk}: added {right['rightType']} right ({right['territory']})."


@login_required
def control(request: AuthedRequest) -> HttpResponse:
    _require_sandbox_admin(request)
    state = SandboxState.current()
    fault_form = FaultForm(
        initial={
            "fault": state.fault,
            "count": state.fault_remaining or 1,
            "retry_after": state.retry_after,
            "page_size": state.page_size,
        }
    )
    works = _visible_works(request)
    simulate_form = SimulateForm(initial={"work_id": works.values_list("id", flat=True).first()})
    if request.method == "POST":
        if request.POST.get("form") == "fault":
            fault_form = FaultForm(request.POST)
            if fault_form.is_valid():
                state.fault = fault_form.cleaned_data["fault"] or ""
                state.fault_remaining = fault_form.cleaned_data["count"] if state.fault else 0
                state.retry_after = fault_form.cleaned_data["retry_after"]
                state.page_size = fault_form.cleaned_data["page_size"]
                state.save()
                messages.success(request, "Sandbox fault switches saved.")
                return redirect("sandbox:control")
        else:
            simulate_form = SimulateForm(request.POST)
            if simulate_form.is_valid():
                work_id = simulate_form.cleaned_data["work_id"]
                if not _visible_works(request).filter(pk=work_id).exists():
                    simulate_form.add_error(
                        "work_id", f"No sandbox work {work_id} in your imprints."
                    )
            if simulate_form.is_valid():
                try:
                    text = _simulate(
                        simulate_form.cleaned_data["change"], simulate_form.cleaned_data["work_id"]
                    )
                except (ValueError, SandboxWork.DoesNotExist) as exc:
                    simulate_form.add_error("work_id", str(exc))
                else:
                    messages.success(request, text)
                    return redirect("sandbox:control")
    context = {
        "state": state,
        "fault_form": fault_form,
        "simulate_form": simulate_form,
        "counts": {
            "works": works.count(),
            "products": SandboxProduct.objects.filter(work_id__in=works.values("id")).count(),
            "contracts": SandboxContract.objects.filter(work_id__in=works.values("id")).count(),
        },
        "recent_works": works.order_by("-changed_on", "id")[:10],
    }
    return render(request, "sandbox/control.html", context)
