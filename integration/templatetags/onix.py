"""``{{ product.publishing_status|onix:"64" }}`` -> "Forthcoming (02)"."""

from __future__ import annotations

from django import template

from integration.codelists import label

register = template.Library()


@register.filter(name="onix")
def onix(code: str | None, codelist: str) -> str:
    return label(code, codelist)
