"""ONIX codes are shown with their names (and the code), and the title filter names the
publishing statuses as EDItEUR list 64 does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.lib.codelists import label, name
from integration.views.titles import STATUS_CHOICES
from tests.factories import PriceFactory, ProductFactory, WorkFactory


@pytest.mark.parametrize(
    ("code", "codelist", "shown"),
    [
        ("02", "64", "Forthcoming (02)"),
        ("06", "64", "Out of stock indefinitely (06)"),
        ("07", "64", "Out of print (07)"),
        ("21", "65", "In stock (21)"),
        ("02", "58", "RRP including tax (02)"),
        ("ZZ", "64", "ZZ"),
        ("", "65", ""),
        (None, "58", ""),
        ("02", "999", "02"),
    ],
)
def test_label(code, codelist, shown):
    assert label(code, codelist) == shown


def test_name():
    assert name("BB", "150") == "Hardback"
    assert name("XX", "150") == "XX"


def test_title_filter_names_statuses_as_list_64():
    named = dict(STATUS_CHOICES)
    assert named["06"] == "Out of stock indefinitely"
    assert named["07"] == "Out of print"
    assert named["05"] == "No longer our product"


def test_title_page_names_the_codes(login, viewer, imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    product = ProductFactory.create(work=work, publishing_status="02", availability="10")
    PriceFactory.create(product=product, price_type="02")
    text = login(viewer).get(reverse("titles:detail", args=[work.pk])).content.decode()
    assert "status Forthcoming (02)" in text
    assert "availability Not yet available (10)" in text
    assert "<td>RRP including tax (02)</td>" in text
    assert "<h3>Hardback — " in text
    listing = login(viewer).get(reverse("titles:list")).content.decode()
    assert 'title="Hardback"' in listing
