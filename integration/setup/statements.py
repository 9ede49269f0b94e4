"""The statement setup of flow 3: statement rules and payee profiles, per imprint.

One path for the staff screens (``integration/views/statement_setup.py``) and the REST API
(``integration/api/statement_setup.py``): these services check the policy (royalties staff and
imprint admins of the imprint, ``Action.CONFIGURE_STATEMENTS``), validate, and save or delete
through the audited setup services (``setup_object_save`` / ``setup_object_delete``), all in one
transaction.

* ``statement_rule_save`` / ``statement_rule_delete``
* ``payee_profile_save`` / ``payee_profile_delete``
* ``payee_contacts`` — the contacts who may have a profile in an imprint (its payees).
* ``payee_profile_uses`` — what still depends on a profile, shown before it is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from accounts import policy
from accounts.models import Territory
from accounts.policy import Action
from accounts.types import Actor, person
from integration.models import Channel, Contact, PayeeProfile, RoyaltyStatement, StatementRule
from integration.setup.transfer import setup_object_delete, setup_object_save

# The statement-rule fields staff set, in the order the setup form and the REST API show them.
STATEMENT_RULE_FIELDS = (
    "imprint",
    "name",
    "author_group",
    "territory_code",
    "currency",
    "minimum_payment",
    "withholding_rate",
    "note",
    "active",
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# How statements go out (flow 3): print, e-mail or the secure-web portal; never SMS.
STATEMENT_CHANNELS = (Channel.PRINT, Channel.EMAIL, Channel.WEB)


def _require(actor: Actor, imprint_ids: Iterable[int | None]) -> None:
    """A person needs CONFIGURE_STATEMENTS in every imprint the change touches (the old and the
    new one when a rule moves); named system actors (seeds, imports) are trusted callers."""
    if person(actor) is None:
        return
    for imprint_id in {i for i in imprint_ids if i is not None}:
        policy.require(actor, Action.CONFIGURE_STATEMENTS, imprint_id)


def payee_contacts(*, imprint_ids: Iterable[int]) -> QuerySet[Contact]:
    """Contacts who contribute to a title of, or are paid royalties by, one of these imprints
    (Consonance's contacts are shared between imprints; nobody picks another imprint's people).
    Withdrawn contacts are left out."""
    ids = list(imprint_ids)
    return (
        Contact.objects.filter(withdrawn_at__isnull=True)
        .filter(Q(contributions__work__imprint__in=ids) | Q(royaltyline__imprint__in=ids))
        .distinct()
    )


def _rule_errors(rule: StatementRule) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    rule.name = (rule.name or "").strip()
    rule.author_group = (rule.author_group or "").strip()
    rule.territory_code = (rule.territory_code or "").strip().upper()
    rule.currency = (rule.currency or "").strip().upper()
    rule.note = (rule.note or "").strip()
    rate = rule.withholding_rate
    if rate is not None and not Decimal(0) <= Decimal(rate) < Decimal(1):
        errors["withholding_rate"] = ["A fraction from 0 to below 1 (0.2 is 20%)."]
    minimum = rule.minimum_payment
    if minimum is not None and Decimal(minimum) < 0:
        errors["minimum_payment"] = ["A minimum payment cannot be negative."]
    if rule.territory_code and not Territory.objects.filter(code=rule.territory_code).exists():
        errors["territory_code"] = [
            f"No territory has the code {rule.territory_code!r}; use a country (GB) or a group "
            "(WORLD) that Colophon knows, or leave it empty for anywhere."
        ]
    if rule.currency and not _CURRENCY.match(rule.currency):
        errors["currency"] = ["Three letters (ISO 4217), e.g. GBP; empty for any currency."]
    if minimum is None and rate is None and not rule.note:
        errors["__all__"] = [
            "A rule needs a minimum payment, a withholding rate or a note; otherwise it does "
            "nothing."
        ]
    return errors


def statement_rule_save(
    *, actor: Actor, rule: StatementRule, before: dict[str, Any] | None = None
) -> StatementRule:
    """Create or change a statement rule (``before``: the snapshot taken before the edit, from
    ``setup_object_snapshot``, for the audit diff and the policy check on the old imprint)."""
    _require(actor, [rule.imprint_id, (before or {}).get("imprint")])
    errors = _rule_errors(rule)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        setup_object_save(actor=actor, instance=rule, before=before)
    return rule


def statement_rule_delete(*, actor: Actor, rule: StatementRule) -> None:
    _require(actor, [rule.imprint_id])
    with transaction.atomic():
        setup_object_delete(actor=actor, instance=rule)


def payee_profile_save(
    *, actor: Actor, profile: PayeeProfile, before: dict[str, Any] | None = None
) -> PayeeProfile:
    """Create or change how a payee gets statements from an imprint: the channel and the author
    group their rules follow. The payee must be one of that imprint's payees."""
    _require(actor, [profile.imprint_id, (before or {}).get("imprint")])
    profile.author_group = (profile.author_group or "").strip()
    if profile.channel not in STATEMENT_CHANNELS:
        raise ValidationError({"channel": ["Statements go by print, e-mail or secure web."]})
    if (
        profile.contact_id is not None
        and profile.imprint_id is not None
        and not payee_contacts(imprint_ids=[profile.imprint_id])
        .filter(pk=profile.contact_id)
        .exists()
    ):
        raise ValidationError(
            {"contact": ["This person neither contributes to nor is paid by this imprint."]}
        )
    with transaction.atomic():
        setup_object_save(actor=actor, instance=profile, before=before)
    return profile


@dataclass(frozen=True)
class PayeeProfileUses:
    """What a payee profile is still used by. Nothing points at a profile: preparing a statement
    copies its channel and author group onto the ``RoyaltyStatement``, so statements already
    prepared (and their communications) keep them and deleting the profile is never refused.
    What changes is the payee's next statements: their channel falls back to e-mail when
    Consonance knows an address, else print, and rules for the profile's author group no
    longer match them. This is shown on the confirmation step."""

    statements: int
    rules: list[str]

    @property
    def in_use(self) -> bool:
        return bool(self.statements or self.rules)


def payee_profile_uses(*, profile: PayeeProfile) -> PayeeProfileUses:
    statements = RoyaltyStatement.objects.filter(
        imprint_id=profile.imprint_id, payee_id=profile.contact_id
    ).count()
    rules: list[str] = []
    if profile.author_group:
        rules = list(
            StatementRule.objects.filter(
                imprint_id=profile.imprint_id, active=True, author_group=profile.author_group
            )
            .order_by("name")
            .values_list("name", flat=True)
        )
    return PayeeProfileUses(statements=statements, rules=rules)


def payee_profile_delete(*, actor: Actor, profile: PayeeProfile) -> None:
    """Delete a payee profile (audited, with its values). Never refused for being in use: see
    ``PayeeProfileUses``."""
    _require(actor, [profile.imprint_id])
    with transaction.atomic():
        setup_object_delete(actor=actor, instance=profile)
