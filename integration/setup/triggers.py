"""Trigger rules: which rules a change event fires, and which date-based rules fall due today.

Compose calls these and creates the drafts; nothing is sent without approval unless the imprint
marked the communication type auto-approvable (``type_is_auto_approvable``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q

from integration.models import (
    ChangeEvent,
    CommunicationType,
    Contract,
    DeliveryDate,
    ImprintTypeSetting,
    Product,
    TriggerRule,
)
from integration.setup.context import add_months

# The trigger-rule fields staff set, in the order the setup form and the REST API show them.
TRIGGER_RULE_FIELDS = (
    "imprint",
    "name",
    "event",
    "match_value",
    "deliverable_type",
    "territory",
    "days_before",
    "communication_type",
    "audience",
    "active",
)


def _new_value_text(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("name", "value", "stage", "code"):
            if key in value:
                return str(value[key])
    return "" if value is None else str(value)


def for_sale_in(*, territory: str, work_id: int | None, product: Product | None = None) -> bool:
    """Whether the title (the product itself, when the change is about one product; else any
    of the work's products) is for sale in ``territory``: listed in its for-sale territories
    (or those say WORLD) and not excluded. An empty territory matches everything."""
    code = territory.strip().upper()
    if not code:
        return True
    if product is not None:
        products = [product]
    elif work_id is not None:
        products = list(Product.objects.filter(work_id=work_id, withdrawn_at__isnull=True))
    else:
        return False
    for p in products:
        for_sale = {str(t).upper() for t in p.for_sale_territories or []}
        not_for_sale = {str(t).upper() for t in p.not_for_sale_territories or []}
        if (code in for_sale or "WORLD" in for_sale) and code not in not_for_sale:
            return True
    return False


def trigger_rules_matching(*, change_event: ChangeEvent) -> list[TriggerRule]:
    """The active rules of the event's imprint for its kind (and new value, when a rule names
    one, compared case-insensitively; and territory, when a rule names one: the title must be
    for sale there)."""
    rules = TriggerRule.objects.filter(
        imprint_id=change_event.imprint_id, event=change_event.kind, active=True
    ).select_related("communication_type", "audience")
    new_value = _new_value_text(change_event.new_value).strip().lower()
    return [
        rule
        for rule in rules
        if (not rule.match_value or rule.match_value.strip().lower() == new_value)
        and for_sale_in(
            territory=rule.territory, work_id=change_event.work_id, product=change_event.product
        )
    ]


def trigger_rules_due(*, today: datetime.date) -> list[tuple[TriggerRule, Any]]:
    """(rule, subject) for every date-based rule whose date is exactly ``days_before`` days away:
    a DeliveryDate not yet delivered (its slipped date when it slipped), a Contract (review
    date, or expiry = signed date + term) that is not terminated, or — for 'N days after
    publication' — a Product published exactly N days ago."""
    due: list[tuple[TriggerRule, Any]] = []
    rules = TriggerRule.objects.filter(
        event__in=TriggerRule.DATE_EVENTS, active=True, days_before__isnull=False
    ).select_related("communication_type", "audience")
    for rule in rules:
        assert rule.days_before is not None
        target = today + datetime.timedelta(days=rule.days_before)
        if rule.event == TriggerRule.Event.DELIVERY_DUE:
            dates = DeliveryDate.objects.filter(
                contract__imprint_id=rule.imprint_id, delivered_on__isnull=True
            ).filter(Q(slipped=target) | Q(slipped__isnull=True, due=target))
            if rule.deliverable_type:
                dates = dates.filter(deliverable_type__iexact=rule.deliverable_type)
            due.extend(
                (rule, d) for d in dates.select_related("contract", "contract__work").order_by("id")
            )
        elif rule.event == TriggerRule.Event.CONTRACT_REVIEW:
            contracts = Contract.objects.filter(
                imprint_id=rule.imprint_id,
                review_date=target,
                terminated_date__isnull=True,
                withdrawn_at__isnull=True,
            ).order_by("id")
            due.extend((rule, c) for c in contracts)
        elif rule.event == TriggerRule.Event.POST_PUBLICATION:
            # N days AFTER the product's (current) publication date: when the date moves, the
            # follow-up moves with it.
            published = today - datetime.timedelta(days=rule.days_before)
            products = (
                Product.objects.filter(
                    work__imprint_id=rule.imprint_id,
                    publication_date=published,
                    withdrawn_at__isnull=True,
                )
                .select_related("work")
                .order_by("id")
            )
            due.extend((rule, p) for p in products)
        elif rule.event == TriggerRule.Event.CONTRACT_EXPIRY:
            contracts = Contract.objects.filter(
                imprint_id=rule.imprint_id,
                signed_date__isnull=False,
                term_months__isnull=False,
                terminated_date__isnull=True,
                withdrawn_at__isnull=True,
                signed_date__lte=target,
            ).order_by("id")
            for contract in contracts.iterator():
                assert contract.signed_date is not None and contract.term_months is not None
                if add_months(contract.signed_date, contract.term_months) == target:
                    due.append((rule, contract))
    return [
        (rule, subject)
        for rule, subject in due
        if for_sale_in(
            territory=rule.territory,
            work_id=(subject.contract if isinstance(subject, DeliveryDate) else subject).work_id,
        )
    ]


def type_is_auto_approvable(*, imprint_id: int, communication_type: CommunicationType) -> bool:
    return ImprintTypeSetting.objects.filter(
        imprint_id=imprint_id, communication_type=communication_type, auto_approvable=True
    ).exists()
