"""Reads for a title's launch: its post-launch follow-ups, scheduled from each format's current
publication date by the imprint's 'N days after publication' trigger rules."""

from __future__ import annotations

import datetime
from typing import Any

from integration.models import Communication, TriggerRule, Work


def launch_follow_ups(*, work: Work, today: datetime.date) -> list[dict[str, Any]]:
    """One row per (rule, format with a publication date): when the follow-up is drafted
    (publication date + N days), and the draft once it exists."""
    rules = list(
        TriggerRule.objects.filter(
            imprint_id=work.imprint_id,
            event=TriggerRule.Event.POST_PUBLICATION,
            active=True,
            days_before__isnull=False,
        ).order_by("name")
    )
    rows: list[dict[str, Any]] = []
    products = work.products.filter(
        withdrawn_at__isnull=True, publication_date__isnull=False
    ).order_by("publication_date", "id")
    for rule in rules:
        assert rule.days_before is not None
        for product in products:
            assert product.publication_date is not None
            when = product.publication_date + datetime.timedelta(days=rule.days_before)
            key = f"due:{rule.pk}:product:{product.pk}:{product.publication_date}"
            drafted = Communication.objects.filter(trigger_key=key).first()
            state = "drafted" if drafted else ("scheduled" if when >= today else "missed")
            rows.append(
                {
                    "rule": rule.name,
                    "rule_id": rule.pk,
                    "product": product.pk,
                    "isbn": product.isbn13,
                    "format": product.product_form_description,
                    "publication_date": product.publication_date,
                    "scheduled_for": when,
                    "state": state,
                    "communication": drafted.pk if drafted else None,
                }
            )
    return rows
