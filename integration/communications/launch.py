"""Launch communications (flow 5): which communications a title's launch needs in a
territory, chosen by each format's availability and sales rights, and the post-launch
follow-ups that trigger rules schedule relative to the publication date.

* ``launch_choices`` — per format: a retailer notice when the format is forthcoming or
  available and for sale in the territory; an advance reader communication (once per title)
  when a format is still forthcoming there; nothing, with the reason, otherwise.
* ``launch_communications_draft`` — drafts them (idempotent per type, format, territory and
  audience), each composed with the title's cover image like any other draft.
* ``follow_ups_reschedule`` — called when a sync records a changed publication date: every
  'N days after publication' rule's follow-up moves with the date (audited on the title's
  timeline), and an unsent follow-up drafted for the old date is cancelled.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import policy
from accounts.audit import log_action
from accounts.models import Territory
from accounts.policy import Action, Category
from accounts.types import Actor, person
from integration.communications.create import communication_create
from integration.lib.codelists import name as code_name
from integration.models import (
    Audience,
    ChangeEvent,
    Communication,
    CommunicationType,
    Product,
    TriggerRule,
    Work,
)

RETAILER_NOTICE = "retailer-notice"
ADVANCE_READER = "advance-reader-communication"
FOLLOW_UP = "post-launch-follow-up"

# ONIX list 65: 10 not yet available; 20–23 available. Without an availability code (this
# Consonance does not offer one), the publishing status (list 64) decides: 02 forthcoming,
# 04 active.
_FORTHCOMING = {"10"}
_AVAILABLE = {"20", "21", "22", "23"}


@dataclass
class LaunchChoice:
    product: Product
    type_code: str | None  # retailer-notice, or None (not part of this launch)
    state: str  # "forthcoming", "available" or "unavailable"
    reason: str


@dataclass
class LaunchPlan:
    territory: str
    choices: list[LaunchChoice]
    advance_reader_product: Product | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "territory": self.territory,
            "formats": [
                {
                    "product": c.product.pk,
                    "isbn": c.product.isbn13,
                    "format": c.product.product_form_description,
                    "state": c.state,
                    "communication_type": c.type_code,
                    "reason": c.reason,
                }
                for c in self.choices
            ],
            "advance_reader_product": (
                self.advance_reader_product.pk if self.advance_reader_product else None
            ),
        }


@dataclass
class LaunchDrafts:
    plan: LaunchPlan
    created: list[Communication] = field(default_factory=list)
    existing: list[Communication] = field(default_factory=list)


def _state(product: Product) -> str:
    if product.availability in _FORTHCOMING:
        return "forthcoming"
    if product.availability in _AVAILABLE:
        return "available"
    if not product.availability and product.publishing_status == "02":
        return "forthcoming"
    if not product.availability and product.publishing_status == "04":
        return "available"
    return "unavailable"


def _for_sale(product: Product, territory: str, groups: set[str]) -> bool:
    codes = {territory, *groups}
    not_for_sale = {str(c).upper() for c in product.not_for_sale_territories or []}
    if codes & not_for_sale:
        return False
    for_sale = {str(c).upper() for c in product.for_sale_territories or []}
    return not for_sale or bool(codes & for_sale) or "WORLD" in for_sale


def launch_choices(*, work: Work, territory_code: str) -> LaunchPlan:
    territory = territory_code.upper()
    groups = set(
        Territory.objects.filter(kind=Territory.Kind.GROUP, members__code=territory).values_list(
            "code", flat=True
        )
    )
    choices: list[LaunchChoice] = []
    arc: Product | None = None
    products = work.products.filter(withdrawn_at__isnull=True).order_by("publication_date", "id")
    for product in products:
        state = _state(product)
        form = product.product_form_description or product.product_form or "This format"
        if not _for_sale(product, territory, groups):
            choices.append(
                LaunchChoice(product, None, state, f"{form} is not for sale in {territory}.")
            )
            continue
        if state == "unavailable":
            status = code_name(product.availability, "65") or code_name(
                product.publishing_status, "64"
            )
            choices.append(
                LaunchChoice(product, None, state, f"{form} is not available ({status}).")
            )
            continue
        when = "forthcoming" if state == "forthcoming" else "available"
        choices.append(
            LaunchChoice(
                product, RETAILER_NOTICE, state, f"{form} is {when} and for sale in {territory}."
            )
        )
        # A reading copy before publication: the first forthcoming digital format, else the
        # first forthcoming format.
        if state == "forthcoming" and (
            arc is None or (arc.product_form[:1] != "D" and product.product_form[:1] == "D")
        ):
            arc = product
    return LaunchPlan(territory=territory, choices=choices, advance_reader_product=arc)


def launch_communications_draft(
    *,
    actor: Actor,
    work: Work,
    territory_code: str,
    retailer_audience: Audience,
    reader_audience: Audience | None = None,
    campaign: dict[str, Any] | None = None,
) -> LaunchDrafts:
    """Draft the retailer notices (one per format chosen) and the advance reader
    communication (when a format is still forthcoming) of a title's launch in a territory."""
    imprint = work.imprint
    if person(actor) is not None:
        policy.require(actor, Action.VIEW, work)
        for category in (Category.PARTNER, Category.MARKETING):
            if not policy.can_draft(actor, category, imprint):
                raise PermissionDenied(
                    f"Drafting launch communications in {imprint} needs a drafting role for "
                    "partner and marketing communications."
                )
    errors: dict[str, list[str]] = {}
    if not territory_code:
        errors["territory"] = ["Name the territory of the launch, e.g. GB."]
    for label, audience in (
        ("retailer_audience", retailer_audience),
        ("reader_audience", reader_audience),
    ):
        if audience is not None and audience.imprint_id != work.imprint_id:
            errors[label] = ["That audience belongs to another imprint."]
    if errors:
        raise ValidationError(errors)
    plan = launch_choices(work=work, territory_code=territory_code)
    result = LaunchDrafts(plan=plan)
    wanted: list[tuple[str, Product, Audience]] = [
        (RETAILER_NOTICE, c.product, retailer_audience) for c in plan.choices if c.type_code
    ]
    if plan.advance_reader_product is not None and reader_audience is not None:
        wanted.append((ADVANCE_READER, plan.advance_reader_product, reader_audience))
    types = {t.code: t for t in CommunicationType.objects.filter(code__in=[w[0] for w in wanted])}
    for type_code, product, audience in wanted:
        key = f"launch:{type_code}:{product.pk}:{plan.territory}:{audience.pk}"
        existing = Communication.objects.filter(trigger_key=key).first()
        if existing is not None:
            result.existing.append(existing)
            continue
        form = product.product_form_description or product.isbn13 or "format"
        with transaction.atomic():
            comm = communication_create(
                actor=actor,
                imprint=imprint,
                communication_type=types[type_code],
                audience=audience,
                name=f"{types[type_code].name}: {work.title} ({form}, {plan.territory})",
                work=work,
                product=product,
                territory_code=plan.territory,
                campaign=campaign,
                trigger_key=key,
            )
            result.created.append(comm)
    if result.created:
        with transaction.atomic():
            log_action(
                actor=actor,
                verb="launch.drafted",
                target=work,
                work_id=work.pk,
                data={
                    **plan.as_dict(),
                    "communications": [c.pk for c in result.created],
                },
            )
    return result


def follow_ups_reschedule(*, change_event: ChangeEvent) -> int:
    """A product's publication date moved: each 'N days after publication' rule's follow-up
    for it moves too (one audit row on the title's timeline per rule); a follow-up drafted for
    the old date and not yet approved is cancelled. Returns the number of rules moved."""
    if change_event.kind != ChangeEvent.Kind.PUBLICATION_DATE or change_event.product is None:
        return 0
    if change_event.field != "publication_date":
        return 0
    old = _date(change_event.old_value)
    new = _date(change_event.new_value)
    if old == new:
        return 0
    product = change_event.product
    rules = TriggerRule.objects.filter(
        imprint_id=change_event.imprint_id,
        event=TriggerRule.Event.POST_PUBLICATION,
        active=True,
        days_before__isnull=False,
    )
    moved = 0
    for rule in rules:
        assert rule.days_before is not None
        days = datetime.timedelta(days=rule.days_before)
        with transaction.atomic():
            stale = Communication.objects.select_for_update().filter(
                trigger_key=f"due:{rule.pk}:product:{product.pk}:{old}",
                status__in=[
                    Communication.Status.DRAFT,
                    Communication.Status.REJECTED,
                    Communication.Status.SUBMITTED,
                ],
            )
            cancelled = []
            for comm in stale:
                comm.cancel()
                comm.save()
                cancelled.append(comm.pk)
                log_action(
                    actor=f"trigger:{rule.pk}",
                    verb="communication.cancelled",
                    target=comm,
                    work_id=comm.work_id,
                    data={"reason": f"The publication date moved from {old} to {new}."},
                )
            log_action(
                actor=f"trigger:{rule.pk}",
                verb="launch.follow_up_rescheduled",
                target=rule,
                work_id=product.work_id,
                data={
                    "product": product.pk,
                    "isbn": product.isbn13,
                    "rule": rule.name,
                    "publication_date": [str(old), str(new)],
                    "follow_up": [
                        str(old + days) if old else None,
                        str(new + days) if new else None,
                    ],
                    "cancelled": cancelled,
                },
            )
        moved += 1
    return moved


def _date(value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
