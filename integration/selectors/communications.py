"""Reads of the Communications area, always narrowed by the policy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts import policy
from accounts.policy import CATEGORY_ROLES, Action, Category
from integration.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    CommunicationType,
    Contract,
    Message,
)
from integration.setup.audiences import reminder_audience_ids
from integration.setup.mappings import mapping_problems


def audiences_to_choose(*, imprint_ids: Iterable[int]) -> QuerySet[Audience]:
    """The audiences a person picks from when drafting, in these imprints: every audience but
    the one-person lists made for a single reminder (``contributor_action_remind``), which
    belong to that reminder and would otherwise crowd every picker, one per reminder."""
    return (
        Audience.objects.filter(imprint_id__in=list(imprint_ids))
        .exclude(pk__in=reminder_audience_ids())
        .select_related("imprint")
        .order_by("name")
    )


def communications_for(
    *,
    user: Any,
    imprint: Any = None,
    status: str = "",
    type_id: int | None = None,
    type_code: str = "",
    work_id: int | None = None,
    q: str = "",
) -> QuerySet[Communication]:
    qs = policy.for_user(user, Communication.objects.all(), Action.VIEW)
    if imprint is not None:
        qs = qs.filter(imprint=imprint)
    if status:
        qs = qs.filter(status=status)
    if type_id:
        qs = qs.filter(communication_type_id=type_id)
    if type_code:
        qs = qs.filter(communication_type__code=type_code)
    if work_id:
        qs = qs.filter(work_id=work_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.select_related("imprint", "communication_type", "work", "audience")


def draftable_types(user: Any, imprint_ids: set[int]) -> QuerySet[CommunicationType]:
    """Types the user may draft in at least one of the imprints."""
    if getattr(user, "is_superuser", False):
        return CommunicationType.objects.all()
    roles: set[str] = set()
    for imprint_id in imprint_ids:
        roles |= policy.roles_in(user, imprint_id)
    categories = [c.value for c, (drafters, _) in CATEGORY_ROLES.items() if drafters & roles]
    return CommunicationType.objects.filter(category__in=categories)


def approvals_for(*, user: Any, imprint: Any = None) -> QuerySet[Communication]:
    """Submitted communications this user may approve: an approving role for the category in
    the imprint, and not one they drafted, edited or submitted."""
    qs = Communication.objects.filter(status=Communication.Status.SUBMITTED)
    if imprint is not None:
        qs = qs.filter(imprint=imprint)
    if not getattr(user, "is_superuser", False):
        cond = Q(pk__in=[])
        for imprint_id in policy.imprint_ids_for(user, Action.VIEW):
            roles = policy.roles_in(user, imprint_id)
            categories = [
                c.value for c, (_, approvers) in CATEGORY_ROLES.items() if approvers & roles
            ]
            if categories:
                cond |= Q(imprint_id=imprint_id, communication_type__category__in=categories)
        qs = qs.filter(cond)
    qs = qs.exclude(authors=user)
    return qs.select_related(
        "imprint", "communication_type", "work", "audience", "submitted_by"
    ).order_by("submitted_at", "id")


def category_label(category: str) -> str:
    return Category(category).value.replace("_", " ")


def incomplete_types(imprint_ids: set[int]) -> dict[int, str]:
    """Communication type id → why its active template(s) for these imprints (or the default
    for every imprint) cannot send: the first problem of an incomplete mapping. Types whose
    templates are all complete are absent."""
    reasons: dict[int, str] = {}
    complete: set[int] = set()
    templates = (
        CommunicationTemplate.objects.filter(status=CommunicationTemplate.Status.ACTIVE)
        .filter(Q(imprint_id__in=imprint_ids) | Q(imprint__isnull=True))
        .select_related("exstream_communication")
        .prefetch_related("mappings")
    )
    for template in templates:
        problems = mapping_problems(template)
        if problems:
            reasons.setdefault(template.communication_type_id, f"{template}: {problems[0]}")
        else:
            complete.add(template.communication_type_id)
    return {type_id: why for type_id, why in reasons.items() if type_id not in complete}


# Message statuses that mean the recipient did not get it.
FAILED_MESSAGE_STATUSES = (
    Message.Status.FAILED,
    Message.Status.BOUNCED,
    Message.Status.NOT_DELIVERED,
    Message.Status.RETURNED,
)


def failed_message_counts(communication_ids: Iterable[int]) -> dict[int, int]:
    """How many messages of each communication did not reach their recipient; one grouped
    query for a page of communications (missing ids: none failed)."""
    ids = list(communication_ids)
    if not ids:
        return {}
    rows = (
        Message.objects.filter(communication_id__in=ids, status__in=FAILED_MESSAGE_STATUSES)
        .values("communication_id")
        .annotate(n=Count("id"))
    )
    return {row["communication_id"]: row["n"] for row in rows}


def with_failure_counts(communications: Iterable[Communication]) -> list[Communication]:
    """The communications, each with ``failed_messages`` set (for "Sent — 2 of 24 failed")."""
    items = list(communications)
    counts = failed_message_counts(c.pk for c in items)
    for c in items:
        c.failed_messages = counts.get(c.pk, 0)  # type: ignore[attr-defined]
    return items


def contracts_for_drafting(*, user: Any, work_id: int | None) -> QuerySet[Contract]:
    """Contracts a communication may name: in the imprints where ``user`` drafts, of the chosen
    title when there is one."""
    qs = Contract.objects.filter(
        imprint_id__in=policy.imprint_ids_for(user, Action.DRAFT), withdrawn_at__isnull=True
    )
    if work_id is not None:
        qs = qs.filter(work_id=work_id)
    return qs.order_by("name", "id")
