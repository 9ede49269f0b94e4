"""``{% title_communications work %}``: the communications about a title, on its page."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import policy
from accounts.policy import Action
from integration.selectors.communications import communications_for, with_failure_counts
from integration.selectors.timeline import SOURCE_LABELS

register = template.Library()


@register.inclusion_tag("communications/_for_title.html", takes_context=True)
def title_communications(context: dict[str, Any], work: Any) -> dict[str, Any]:
    user = context["request"].user
    return {
        "work": work,
        "communications": with_failure_counts(communications_for(user=user, work_id=work.pk)[:20]),
        "can_draft": policy.can(user, Action.DRAFT, work.imprint_id),
    }


@register.filter
def event_source(source: str) -> str:
    """A message event's source in words ("Colophon dispatch"), never its slug."""
    return SOURCE_LABELS.get(str(source), str(source).replace("-", " ").capitalize())
