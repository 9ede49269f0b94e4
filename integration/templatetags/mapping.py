"""``{{ m.transforms|transforms_words }}`` -> "long date, then UPPER CASE";
``{{ m.context_field|context_label }}`` -> "Publication date"."""

from __future__ import annotations

from typing import Any

from django import template

from integration.setup.context import REGISTRY
from integration.setup.mappings import transforms_words as _transforms_words

register = template.Library()


@register.filter
def transforms_words(steps: Any) -> str:
    return _transforms_words(steps)


@register.filter
def context_label(key: str) -> str:
    field = REGISTRY.get(str(key))
    return field.label if field else str(key)
