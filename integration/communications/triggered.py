"""Trigger rules → draft communications.

* ``triggers_process_change_events`` — called by the Consonance sync (and as a task) after it
  records change events: every event not yet evaluated is matched against the imprint's rules
  and each match creates one draft (composed in the background), then the event is marked
  evaluated. One draft per (rule, event), however often it is called.
* ``triggers_run_due`` — the daily job: date-based rules (delivery due, contract review or
  expiry in N days) create one draft per (rule, subject, due date).

Drafts are audited as actor ``"trigger:<rule id>"``; auto-approvable types are then submitted
and approved by the system once composed (blocking findings still stop them).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import log_action
from accounts.policy import Category
from integration.communications.create import communication_create
from integration.communications.launch import follow_ups_reschedule
from integration.communications.revalidation import communications_revalidate_for_work
from integration.communications.withdrawals import (
    communications_withdraw_reverted,
    reverted_events,
)
from integration.models import (
    ChangeEvent,
    Communication,
    Contract,
    DeliveryDate,
    Product,
    RoyaltyImport,
    TriggerRule,
)
from integration.setup.triggers import trigger_rules_due, trigger_rules_matching

logger = logging.getLogger(__name__)


def _royalty_period(rule: TriggerRule, event: ChangeEvent | None) -> RoyaltyImport | None:
    """The royalty period an import's change event announces, so a statement drafted from it
    carries the lines it was drafted for (only for royalty communication types)."""
    if event is None or event.kind != ChangeEvent.Kind.ROYALTIES_IMPORTED:
        return None
    if rule.communication_type.category != Category.ROYALTIES:
        return None
    value = event.new_value if isinstance(event.new_value, dict) else {}
    import_id = value.get("import_id")
    if not isinstance(import_id, int):
        return None
    return RoyaltyImport.objects.filter(pk=import_id, imprint_id=rule.imprint_id).first()


def _create(
    *,
    rule: TriggerRule,
    key: str,
    work: Any = None,
    product: Any = None,
    contract: Contract | None = None,
    change_event: ChangeEvent | None = None,
    about: str,
) -> Communication | None:
    if Communication.objects.filter(trigger_key=key).exists():
        return None
    try:
        with transaction.atomic():
            return communication_create(
                actor=f"trigger:{rule.pk}",
                imprint=rule.imprint,
                communication_type=rule.communication_type,
                audience=rule.audience,
                name=f"{rule.communication_type.name}: {about}"[:300],
                work=work,
                product=product,
                contract=contract,
                royalty_import=_royalty_period(rule, change_event),
                trigger_rule=rule,
                change_event=change_event,
                trigger_key=key,
            )
    except IntegrityError:  # a concurrent run created it first
        return None
    except (ValidationError, PermissionDenied) as exc:
        message = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        with transaction.atomic():
            log_action(
                actor=f"trigger:{rule.pk}",
                verb="trigger.draft_refused",
                target=rule,
                work_id=getattr(work, "pk", None),
                data={"key": key, "reason": message},
            )
        logger.warning("Trigger %s could not draft %s: %s", rule.pk, key, message)
        return None


def triggers_process_change_events(*, change_event_ids: list[int]) -> list[int]:
    """Evaluate the given change events (those not yet evaluated) against the trigger rules;
    returns the ids of the drafts created."""
    created: list[int] = []
    for event_id in change_event_ids:
        with transaction.atomic():
            event = (
                ChangeEvent.objects.select_for_update(of=("self",))
                .select_related("work", "product", "contract")
                .filter(pk=event_id, triggers_evaluated=False)
                .first()
            )
            if event is None:
                continue
            # A date moved back where it was: the drafts of the slip are withdrawn and the
            # revert itself drafts nothing (integration/communications/withdrawals.py).
            reverted = bool(reverted_events(change_event=event))
            if reverted:
                communications_withdraw_reverted(change_event=event)
            for rule in [] if reverted else trigger_rules_matching(change_event=event):
                about = str(
                    event.work or event.contract or event.product or event.get_kind_display()
                )
                communication = _create(
                    rule=rule,
                    key=f"event:{rule.pk}:{event.pk}",
                    work=event.work,
                    product=event.product,
                    contract=event.contract,
                    change_event=event,
                    about=about,
                )
                if communication is not None:
                    created.append(communication.pk)
            # A moved publication date moves the post-launch follow-ups scheduled from it.
            follow_ups_reschedule(change_event=event)
            event.triggers_evaluated = True
            event.save(update_fields=["triggers_evaluated"])
    return created


def triggers_run_due(*, today: datetime.date | None = None) -> list[int]:
    """Create the drafts of date-based rules due today (idempotent per rule, subject, date)."""
    today = today or timezone.localdate()
    created: list[int] = []
    for rule, subject in trigger_rules_due(today=today):
        if isinstance(subject, Product):
            published = subject.publication_date
            key = f"due:{rule.pk}:product:{subject.pk}:{published}"
            about = f"{subject.work} ({subject.product_form_description or subject.isbn13})"
            communication = _create(
                rule=rule, key=key[:200], work=subject.work, product=subject, about=about
            )
            if communication is not None:
                created.append(communication.pk)
            continue
        if isinstance(subject, DeliveryDate):
            contract = subject.contract
            due = subject.slipped or subject.due
            key = f"due:{rule.pk}:deliverydate:{subject.pk}:{due}"
            about = f"{subject.deliverable_type} due {due} ({contract.work or contract})"
        else:
            contract = subject
            due = today + datetime.timedelta(days=rule.days_before or 0)
            key = f"due:{rule.pk}:contract:{subject.pk}:{due}"
            about = str(contract.work or contract)
        communication = _create(
            rule=rule, key=key[:200], work=contract.work, contract=contract, about=about
        )
        if communication is not None:
            created.append(communication.pk)
    return created


def triggers_process_pending(*, batch: int = 500) -> list[int]:
    """Evaluate every change event not yet evaluated (oldest first); returns draft ids."""
    created: list[int] = []
    while True:
        ids = list(
            ChangeEvent.objects.filter(triggers_evaluated=False)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return created
        created += triggers_process_change_events(change_event_ids=ids)


def catalogue_changes_recorded(*, work_ids: list[int]) -> dict[str, int]:
    """What the Consonance sync, the ONIX import and the royalty import call (through
    ``notify_catalogue_changed``) after they record change events: trigger rules draft
    communications, and communications about the changed titles that await sending are
    re-checked (their approval is voided when the payload changed)."""

    drafts = triggers_process_pending()
    revalidations = sum(communications_revalidate_for_work(pk) for pk in sorted(set(work_ids)))
    return {"drafts": len(drafts), "revalidations": revalidations}
