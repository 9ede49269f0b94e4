"""``{% load wording %}``: ``{{ e.verb|verb_sentence }}``, ``{{ data|pretty_json }}``,
``{{ value|value_words }}`` (see ``accounts.wording``)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import wording

register = template.Library()


@register.filter
def verb_sentence(verb: str) -> str:
    return wording.verb_sentence(verb)


@register.filter
def pretty_json(value: Any) -> str:
    return wording.pretty_json(value)


@register.filter
def value_words(value: Any) -> str:
    return wording.value_words(value)


@register.filter
def field_words(name: str) -> str:
    return wording.field_words(name)


@register.filter
def slug_words(value: Any) -> str:
    return wording.slug_words(value)
