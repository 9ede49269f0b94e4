"""``{{ product.publishing_status|onix:"64" }}`` -> "Forthcoming (02)";
``{{ product.product_form|onix_name:"150" }}`` -> "Hardback"."""

from __future__ import annotations

from django import template

from integration.lib.codelists import label, name

register = template.Library()


@register.filter(name="onix")
def onix(code: str | None, codelist: str) -> str:
    return label(code, codelist)


@register.filter(name="onix_name")
def onix_name(code: str | None, codelist: str) -> str:
    return name(code, codelist)
