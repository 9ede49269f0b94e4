"""Royalty statements (flow 3): one statement per payee, period and currency, prepared from an
import's royalty lines and the imprint's statement rules, then sent as one royalty-statement
communication whose audience is "payees of a royalty import's statements".

* Totals reconcile to the lines: each statement's ``earned`` is the exact Decimal sum of its
  lines' balances, rounded once (half up) to the currency's minor unit.
* A payee with several works (several contracts) gets one statement listing them all.
* Rules (``StatementRule``) match the imprint, the payee's author group (``PayeeProfile``), the
  payee's territory and the currency: below a minimum payment the balance is carried forward to
  the payee's next statement; a withholding rate is taken from a payment; notes are printed.
* Each statement goes by the payee's channel (print, e-mail or secure web; ``PayeeProfile``,
  else e-mail when Consonance knows an address, else print).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import policy
from accounts.audit import log_action
from accounts.models import Territory
from accounts.policy import Action, Category
from accounts.types import Actor, person
from integration.lib.money import money_round
from integration.models import (
    Contact,
    PayeeProfile,
    RoyaltyImport,
    RoyaltyLine,
    RoyaltyStatement,
    StatementRule,
)
from integration.setup.audiences import Recipient, recipient_address

ZERO = Decimal("0")


def _rule_applies(rule: StatementRule, *, group: str, country: str, currency: str) -> bool:
    if rule.author_group and rule.author_group != group:
        return False
    if rule.currency and rule.currency.upper() != currency.upper():
        return False
    if rule.territory_code:
        territory = Territory.objects.filter(code=rule.territory_code.upper()).first()
        if territory is None:
            return rule.territory_code.upper() == country.upper()
        return bool(country) and territory.covers(country)
    return True


def _previous_carried(statement: RoyaltyStatement) -> Decimal:
    before = (
        RoyaltyStatement.objects.filter(
            imprint_id=statement.imprint_id,
            payee_id=statement.payee_id,
            currency=statement.currency,
            period_end__lt=statement.period_start,
        )
        .order_by("-period_end", "-id")
        .first()
    )
    return before.carried_forward if before is not None else ZERO


def _money_text(amount: Decimal, currency: str) -> str:
    return f"{money_round(amount, currency)} {currency}"


def royalty_statements_prepare(
    *, actor: Actor, royalty_import: RoyaltyImport
) -> list[RoyaltyStatement]:
    """Prepare the import's statements (once: preparing again returns them unchanged)."""
    imprint = royalty_import.imprint
    if person(actor) is not None:
        policy.require(actor, Action.VIEW, imprint)
        if not policy.can_draft(actor, Category.ROYALTIES, imprint):
            raise PermissionDenied(
                f"Preparing royalty statements in {imprint} needs the royalties role."
            )
    if not royalty_import.imported:
        raise ValidationError("That file was refused, so it has no lines to state.")
    existing = list(RoyaltyStatement.objects.filter(royalty_import=royalty_import))
    if existing:
        return existing
    lines = list(
        RoyaltyLine.objects.filter(royalty_import=royalty_import)
        .select_related("payee")
        .order_by("payee_consonance_id", "period_start", "currency", "id")
    )
    missing = sorted({ln.payee_consonance_id for ln in lines if ln.payee_id is None})
    if missing:
        raise ValidationError(
            "These payees are no longer in the Consonance mirror: "
            + ", ".join(map(str, missing))
            + ". Sync Consonance, then prepare the statements."
        )
    groups: dict[tuple[int, Any, Any, str], list[RoyaltyLine]] = {}
    for line in lines:
        assert line.payee_id is not None
        key = (line.payee_id, line.period_start, line.period_end, line.currency.upper())
        groups.setdefault(key, []).append(line)
    profiles = {
        p.contact_id: p
        for p in PayeeProfile.objects.filter(imprint=imprint, contact_id__in=[k[0] for k in groups])
    }
    rules = list(StatementRule.objects.filter(imprint=imprint, active=True).order_by("name"))
    created: list[RoyaltyStatement] = []
    with transaction.atomic():
        for (payee_id, start, end, currency), group_lines in groups.items():
            payee: Contact = group_lines[0].payee  # type: ignore[assignment]
            profile = profiles.get(payee_id)
            channel = profile.channel if profile else ("email" if payee.emails else "print")
            author_group = profile.author_group if profile else ""
            statement = RoyaltyStatement(
                imprint=imprint,
                royalty_import=royalty_import,
                payee=payee,
                period_start=start,
                period_end=end,
                currency=currency,
                line_count=len(group_lines),
                work_ids=sorted({ln.work_id for ln in group_lines if ln.work_id}),
                earned=money_round(sum((ln.balance for ln in group_lines), ZERO), currency),
                channel=channel,
                author_group=author_group,
            )
            statement.brought_forward = _previous_carried(statement)
            total = statement.earned + statement.brought_forward
            matched = [
                r
                for r in rules
                if _rule_applies(r, group=author_group, country=payee.country, currency=currency)
            ]
            statement.rules = [r.name for r in matched]
            notes = [r.note for r in matched if r.note]
            minimums = [r.minimum_payment for r in matched if r.minimum_payment is not None]
            minimum = max(minimums) if minimums else None
            rates = [r.withholding_rate for r in matched if r.withholding_rate]
            if total <= ZERO or (minimum is not None and total < minimum):
                statement.outcome = RoyaltyStatement.Outcome.CARRIED_FORWARD
                statement.carried_forward = total
                statement.payable = ZERO
                if total <= ZERO:
                    notes.append(
                        f"Nothing is payable this period; the balance of "
                        f"{_money_text(total, currency)} is carried forward."
                    )
                else:
                    notes.append(
                        f"The balance of {_money_text(total, currency)} is below the minimum "
                        f"payment of {_money_text(minimum or ZERO, currency)} and is carried "
                        "forward to your next statement."
                    )
            else:
                rate = max(rates) if rates else ZERO
                statement.withheld = money_round(total * rate, currency)
                statement.payable = total - statement.withheld
                statement.outcome = RoyaltyStatement.Outcome.PAYABLE
            statement.notes = notes
            statement.save()
            created.append(statement)
            for work_id in statement.work_ids or [None]:
                log_action(
                    actor=actor,
                    verb="royalty.statement_prepared",
                    target=statement,
                    work_id=work_id,
                    data={
                        "payee": payee.name,
                        "period": [str(start), str(end)],
                        "currency": currency,
                        "earned": str(statement.earned),
                        "brought_forward": str(statement.brought_forward),
                        "withheld": str(statement.withheld),
                        "payable": str(statement.payable),
                        "carried_forward": str(statement.carried_forward),
                        "rules": statement.rules,
                        "channel": channel,
                    },
                )
    return created


def statement_recipients(*, royalty_import_id: int | None) -> Iterator[Recipient]:
    """One recipient per statement of the import (keyed ``statement:<id>``), by the payee's
    channel."""
    if royalty_import_id is None:
        return
    statements = (
        RoyaltyStatement.objects.filter(royalty_import_id=royalty_import_id)
        .select_related("payee")
        .order_by("payee__name", "period_start", "currency", "id")
    )
    for statement in statements:
        payee = statement.payee
        yield Recipient(
            key=f"statement:{statement.pk}",
            name=payee.name,
            email=payee.email,
            address=recipient_address(payee.addresses),
            country=payee.country,
            channel_preference=statement.channel,
            consent=None,
            contact_id=payee.pk,
        )


def statements_by_key(royalty_import_id: int | None) -> dict[str, dict[str, Any]]:
    """What compose reads per statement recipient: the statement and its own lines."""
    if royalty_import_id is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    lines = list(
        RoyaltyLine.objects.filter(royalty_import_id=royalty_import_id)
        .select_related("work")
        .order_by("period_start", "isbn13", "channel", "territory", "id")
    )
    for statement in RoyaltyStatement.objects.filter(royalty_import_id=royalty_import_id):
        own = [
            ln
            for ln in lines
            if ln.payee_id == statement.payee_id
            and ln.currency.upper() == statement.currency
            and ln.period_start == statement.period_start
            and ln.period_end == statement.period_end
        ]
        out[f"statement:{statement.pk}"] = {"statement": statement, "royalty_lines": own}
    return out
