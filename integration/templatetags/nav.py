"""``{% if request.path|startswith:u %}``: mark the current section of a sub-navigation."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def startswith(value: str, prefix: str) -> bool:
    return bool(prefix) and str(value).startswith(str(prefix))
