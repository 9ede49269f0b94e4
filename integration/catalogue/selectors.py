"""Reads of the catalogue mirror: titles (a work with its products), change events, sync runs.
Every function that takes a user narrows through ``accounts.policy``."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from accounts import policy
from integration.models import (
    ChangeEvent,
    Contact,
    Contract,
    Contribution,
    DeliveryDate,
    GratisCopy,
    LicensedRight,
    Price,
    Product,
    SupportingResource,
    SyncRun,
    Work,
)


def title_list(
    user: Any,
    *,
    imprint_id: int | None = None,
    q: str = "",
    status: str = "",
    season: str = "",
    published_from: datetime.date | None = None,
    published_to: datetime.date | None = None,
    include_withdrawn: bool = False,
) -> QuerySet[Work]:
    """Titles the user may view, searched by title / ISBN / contributor and filtered."""
    qs = policy.for_user(user, Work.objects.all(), policy.Action.VIEW)
    if imprint_id:
        qs = qs.filter(imprint_id=imprint_id)
    if not include_withdrawn:
        qs = qs.filter(withdrawn_at__isnull=True)
    if q:
        digits = q.replace("-", "").replace(" ", "")
        cond = (
            Q(title__icontains=q)
            | Q(subtitle__icontains=q)
            | Q(contributor_list__icontains=q)
            | Q(contributions__contact__name__icontains=q)
        )
        if digits.isdigit():
            cond |= Q(products__isbn13__startswith=digits)
        qs = qs.filter(cond)
    if status:
        qs = qs.filter(products__publishing_status=status)
    if season:
        qs = qs.filter(season=season)
    if published_from:
        qs = qs.filter(products__publication_date__gte=published_from)
    if published_to:
        qs = qs.filter(products__publication_date__lte=published_to)
    if q or status or published_from or published_to:
        qs = qs.distinct()
    return qs.select_related("imprint").prefetch_related(
        Prefetch("products", queryset=Product.objects.order_by("publication_date", "id")),
        Prefetch(
            "supporting_resources",
            queryset=SupportingResource.objects.filter(is_cover=True),
            to_attr="covers",
        ),
    )


def season_choices(user: Any) -> list[str]:
    qs = policy.for_user(user, Work.objects.exclude(season=""), policy.Action.VIEW)
    return list(qs.order_by("season").values_list("season", flat=True).distinct())


def title_get(user: Any, work_id: int) -> Work:
    """One title with everything its page shows; 404 when the user may not view it."""
    qs = policy.for_user(user, Work.objects.all(), policy.Action.VIEW).select_related("imprint")
    qs = qs.prefetch_related(
        Prefetch(
            "products",
            queryset=Product.objects.order_by("publication_date", "id").prefetch_related(
                Prefetch("prices", queryset=Price.objects.order_by("territory", "currency"))
            ),
        ),
        Prefetch("contributions", queryset=Contribution.objects.select_related("contact")),
        Prefetch(
            "contracts",
            queryset=Contract.objects.prefetch_related(
                Prefetch("licensed_rights", queryset=LicensedRight.objects.all()),
                Prefetch("delivery_dates", queryset=DeliveryDate.objects.all()),
                # Whom each gratis copy is for: the contact a contract names (issue 11).
                Prefetch(
                    "gratis_copies",
                    queryset=GratisCopy.objects.select_related("product").annotate(
                        contact_name=Subquery(
                            Contact.objects.filter(
                                consonance_id=OuterRef("contact_consonance_id")
                            ).values("name")[:1]
                        )
                    ),
                ),
            ),
        ),
        "marketing_texts",
        "supporting_resources",
    )
    return get_object_or_404(qs, pk=work_id)


def work_change_events(work_id: int, *, kinds: list[str] | None = None) -> QuerySet[ChangeEvent]:
    """Change events for one work, newest first — for triggers and the title timeline.
    Callers that act for a user check the work's policy first (``title_get``)."""
    qs = ChangeEvent.objects.filter(work_id=work_id).select_related("product", "contract")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("-created_at", "-id")


def change_events_for_user(user: Any, work_id: int) -> QuerySet[ChangeEvent]:
    """The same, narrowed by policy: empty when the user may not view the work's imprint."""
    return policy.for_user(user, work_change_events(work_id), policy.Action.VIEW)


def sync_run_list(user: Any) -> QuerySet[SyncRun]:
    """Consonance syncs (every imprint, counts and record references) for any staff member;
    an ONIX or royalty import only for the staff of its imprint, and one that spanned several
    imprints only for the person who uploaded it (file names and messages name titles)."""
    qs = SyncRun.objects.select_related("started_by").defer("seen_ids")
    if user.is_superuser:
        return qs
    imports = Q(kind__in=[SyncRun.Kind.ONIX, SyncRun.Kind.ROYALTIES])
    own_imprint = Q(imprint_id__in=policy.imprint_ids_for(user, policy.Action.VIEW))
    own_upload = Q(imprint__isnull=True, started_by_id=user.pk)
    return qs.filter(~imports | own_imprint | own_upload)


def can_view_sync(user: Any) -> bool:
    return bool(user.is_superuser or policy.imprint_ids_for(user, policy.Action.VIEW))


def can_start_sync(user: Any) -> bool:
    return bool(user.is_superuser or policy.imprint_ids_for(user, policy.Action.SYNC))
