"""Partner catalogue updates (flow 7): one metadata change notice per title for a period,
listing every price, date, status and availability change of that period (old → new), sent to a
partner audience (retailers, wholesalers, libraries, distributors) — one message per partner,
never one notice per changed field.

``partner_notices_draft`` is what marketing runs for a period (the API's
``communications/partner-notices/``); drafting twice for the same audience, title and period
returns the existing drafts (the trigger key is unique). Each draft is composed, previewed and
approved like any other communication.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint
from accounts.policy import Action, Category
from accounts.types import Actor, person
from integration.communications.create import communication_create
from integration.models import Audience, ChangeEvent, Communication, CommunicationType, Work
from integration.setup.context import PARTNER_CHANGE_KINDS, period_changes

NOTICE_TYPE = "metadata-change-notice"
MAX_PERIOD_DAYS = 93


@dataclass
class PartnerNotices:
    created: list[Communication] = field(default_factory=list)
    existing: list[Communication] = field(default_factory=list)
    unchanged_titles: int = 0  # titles whose changes were undone within the period


def changed_titles(
    *, imprint: Imprint, period_start: datetime.date, period_end: datetime.date
) -> list[Work]:
    """The imprint's titles with a partner-relevant change recorded in the period."""
    ids = (
        ChangeEvent.objects.filter(
            imprint=imprint,
            kind__in=PARTNER_CHANGE_KINDS,
            work__isnull=False,
            created_at__date__gte=period_start,
            created_at__date__lte=period_end,
        )
        .values_list("work_id", flat=True)
        .distinct()
    )
    return list(Work.objects.filter(pk__in=ids).order_by("title", "id"))


def partner_notices_draft(
    *,
    actor: Actor,
    imprint: Imprint,
    audience: Audience,
    period_start: datetime.date,
    period_end: datetime.date,
) -> PartnerNotices:
    """Draft one metadata change notice per changed title of the period for ``audience``."""
    notice_type = CommunicationType.objects.get(code=NOTICE_TYPE)
    if person(actor) is not None:
        policy.require(actor, Action.VIEW, imprint)
        if not policy.can_draft(actor, Category(notice_type.category), imprint):
            raise PermissionDenied(
                f"Drafting partner notices in {imprint} needs a drafting role for partner "
                "communications."
            )
    errors: dict[str, list[str]] = {}
    if audience.imprint_id != imprint.pk:
        errors["audience"] = ["That audience belongs to another imprint."]
    if period_end < period_start:
        errors["period_end"] = ["The period ends before it starts."]
    elif (period_end - period_start).days >= MAX_PERIOD_DAYS:
        errors["period_end"] = [f"A notice covers at most {MAX_PERIOD_DAYS} days of changes."]
    if errors:
        raise ValidationError(errors)
    result = PartnerNotices()
    for work in changed_titles(imprint=imprint, period_start=period_start, period_end=period_end):
        if not period_changes(work=work, start=period_start, end=period_end):
            result.unchanged_titles += 1
            continue
        key = f"partner-notice:{audience.pk}:{work.pk}:{period_start}:{period_end}"
        existing = Communication.objects.filter(trigger_key=key).first()
        if existing is not None:
            result.existing.append(existing)
            continue
        with transaction.atomic():
            comm = communication_create(
                actor=actor,
                imprint=imprint,
                communication_type=notice_type,
                audience=audience,
                name=f"{notice_type.name}: {work.title} ({period_start} to {period_end})",
                work=work,
                trigger_key=key,
                period_start=period_start,
                period_end=period_end,
            )
            log_action(
                actor=actor,
                verb="partner.notice_drafted",
                target=comm,
                work_id=work.pk,
                data={
                    "audience": audience.name,
                    "period": [str(period_start), str(period_end)],
                    "changes": [
                        row["text"]
                        for row in period_changes(work=work, start=period_start, end=period_end)
                    ],
                },
            )
        result.created.append(comm)
    return result


WEEK_DAYS = 7


@dataclass
class WeeklyRun:
    period_start: datetime.date
    period_end: datetime.date
    created: list[int] = field(default_factory=list)  # communication ids drafted now
    existing: list[int] = field(default_factory=list)  # drafted by an earlier run
    audiences: int = 0


def partner_notices_draft_weekly(*, today: datetime.date | None = None) -> WeeklyRun:
    """The weekly schedule's work: for every imprint's audience marked for weekly partner
    notices, draft the notices of the seven days ending ``today`` (one per changed title, one
    message per partner). Drafted by the system (no person), so anyone with an approving role
    may approve them; a second run for the same period drafts nothing new."""
    end = today or timezone.localdate()
    start = end - datetime.timedelta(days=WEEK_DAYS - 1)
    run = WeeklyRun(period_start=start, period_end=end)
    audiences = Audience.objects.filter(weekly_partner_notices=True).select_related("imprint")
    for audience in audiences.order_by("imprint_id", "pk"):
        run.audiences += 1
        result = partner_notices_draft(
            actor=None,
            imprint=audience.imprint,
            audience=audience,
            period_start=start,
            period_end=end,
        )
        run.created.extend(c.pk for c in result.created)
        run.existing.extend(c.pk for c in result.existing)
    return run
