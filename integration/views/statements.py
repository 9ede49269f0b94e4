"""The royalty statements screen of an import (flow 3): the statements per payee, period and
currency, with how each amount was reached; royalties staff prepare them here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.policy import Action, Category
from accounts.types import AuthedRequest
from integration.communications.statements import royalty_statements_prepare
from integration.models import RoyaltyImport, RoyaltyStatement
from integration.setup.mappings import format_money


@login_required
@require_http_methods(["GET", "POST"])
def royalty_statements(request: AuthedRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        policy.visible(request.user, RoyaltyImport.objects.select_related("imprint")), pk=pk
    )
    if request.method == "POST":
        try:
            made = royalty_statements_prepare(actor=request.user, royalty_import=record)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{len(made)} statement{'s' if len(made) != 1 else ''}.")
        return redirect("imports:royalty_statements", pk=record.pk)
    statements = list(
        RoyaltyStatement.objects.filter(royalty_import=record)
        .select_related("payee")
        .order_by("payee__name", "currency")
    )
    for s in statements:
        # Shown as they are printed: rounded to the currency's minor unit.
        s.shown = {  # type: ignore[attr-defined]
            name: format_money(getattr(s, name), s.currency, symbol=False)
            for name in ("earned", "brought_forward", "withheld", "payable", "carried_forward")
        }
    return render(
        request,
        "imports/statements.html",
        {
            "record": record,
            "statements": statements,
            "may_prepare": policy.can_draft(request.user, Category.ROYALTIES, record.imprint),
            "may_configure": policy.can(request.user, Action.CONFIGURE_STATEMENTS, record.imprint),
        },
    )
