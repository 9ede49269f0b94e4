from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet

from accounts import policy
from accounts.models import AuditEvent


def audit_events_for(
    *,
    user: Any,
    imprint_id: int | None = None,
    actor: str = "",
    verb: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows the user may read (imprint admins, per imprint; superusers see system rows)."""
    qs = AuditEvent.objects.select_related("imprint")
    if not user.is_superuser:
        qs = qs.filter(imprint_id__in=policy.imprint_ids_for(user, policy.Action.AUDIT))
    if imprint_id:
        qs = qs.filter(imprint_id=imprint_id)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if verb:
        qs = qs.filter(verb__icontains=verb)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs
