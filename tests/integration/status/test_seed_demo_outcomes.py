"""The demo's customer-service outcomes go through the real CSV import and are idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import Role
from integration.models import CustomerServiceOutcome
from tests.factories import ProductFactory, WorkFactory, member

pytestmark = pytest.mark.django_db


def test_seed_demo_outcomes_imports_once(imprint_a, imprint_b):
    member(Role.IMPRINT_ADMIN, imprint_a)
    for n in range(3):
        ProductFactory.create(
            work=WorkFactory.create(imprint=imprint_a), isbn13=f"978000000{n:04d}"
        )
    out = io.StringIO()
    call_command("seed_demo_outcomes", "--per-imprint", "12", stdout=out)
    assert CustomerServiceOutcome.objects.filter(imprint=imprint_a).count() == 12
    # no admin, no titles: said, not faked
    assert "Northwind Press: skipped, no demo outcomes" in out.getvalue()
    call_command("seed_demo_outcomes", "--per-imprint", "12", stdout=io.StringIO())
    assert CustomerServiceOutcome.objects.count() == 12
