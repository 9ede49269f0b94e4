"""Statement rules and payee profiles under attack: someone who configures statements in
imprint A and is only a viewer in imprint C tries to move A's rule into C, to create in C over
the API, to name C's payees, and to set fields the forms do not show. Each is refused and
nothing changes (no row, no audit entry)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Role
from integration.models import PayeeProfile, StatementRule
from tests.factories import (
    ContactFactory,
    ContributionFactory,
    ImprintFactory,
    MembershipFactory,
    WorkFactory,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def imprint_c(db):
    return ImprintFactory.create(name="Chalk Hill")


@pytest.fixture
def both(imprint_a, imprint_c):
    user = member(Role.ROYALTIES, imprint_a, "both@a.test")
    MembershipFactory.create(user=user, imprint=imprint_c, role=Role.VIEWER)
    return user


def _payee(imprint, name):
    contact = ContactFactory.create(name=name)
    ContributionFactory.create(work=WorkFactory.create(imprint=imprint), contact=contact)
    return contact


def _snapshot():
    return (
        list(StatementRule.objects.order_by("pk").values()),
        list(PayeeProfile.objects.order_by("pk").values()),
        AuditEvent.objects.filter(verb__startswith="setup.").count(),
    )


def test_a_rule_cannot_be_moved_into_an_imprint_one_only_views(login, both, imprint_a, imprint_c):
    rule = StatementRule.objects.create(imprint=imprint_a, name="Min", minimum_payment=50)
    before = _snapshot()
    client = login(both)
    screen = client.post(
        reverse("statements:rule_edit", args=[rule.pk]),
        {"imprint": imprint_c.pk, "name": "Min", "minimum_payment": "50", "active": "on"},
    )
    assert screen.status_code == 400 and "imprint" in screen.context["form"].errors
    api = client.patch(
        f"/api/v1/statement-rules/{rule.pk}/",
        {"imprint": imprint_c.pk},
        content_type="application/json",
    )
    assert api.status_code in (400, 403), api.content
    created = client.post(
        "/api/v1/statement-rules/",
        {"imprint": imprint_c.pk, "name": "Sneaky", "note": "x"},
        content_type="application/json",
    )
    assert created.status_code in (400, 403), created.content
    assert _snapshot() == before


def test_fields_the_forms_do_not_show_are_not_assigned(login, royalties, imprint_a, imprint_b):
    client = login(royalties)
    other = StatementRule.objects.create(imprint=imprint_b, name="B's rule", minimum_payment=1)
    response = client.post(
        reverse("statements:rule_create"),
        {
            "imprint": imprint_a.pk,
            "name": "Plain",
            "minimum_payment": "10",
            "active": "on",
            "id": other.pk,
            "pk": other.pk,
            "imprint_id": imprint_b.pk,
        },
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.imprint_id, other.name, other.minimum_payment) == (
        imprint_b.pk,
        "B's rule",
        Decimal("1.000"),
    )
    made = StatementRule.objects.get(name="Plain")
    assert made.imprint_id == imprint_a.pk and made.pk != other.pk
    api = client.post(
        "/api/v1/statement-rules/",
        {"imprint": imprint_a.pk, "name": "Api", "note": "n", "id": other.pk},
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["id"] != other.pk


def test_a_payee_of_another_imprint_only_is_refused(login, both, imprint_a, imprint_c):
    theirs = _payee(imprint_c, "Chalk Payee")
    before = _snapshot()
    client = login(both)
    screen = client.post(
        reverse("statements:payee_create"),
        {"imprint": imprint_a.pk, "contact": theirs.pk, "channel": "print"},
    )
    assert screen.status_code == 400
    api = client.post(
        "/api/v1/payee-profiles/",
        {"imprint": imprint_a.pk, "contact": theirs.pk, "channel": "print"},
        content_type="application/json",
    )
    assert api.status_code == 400
    in_c = client.post(
        "/api/v1/payee-profiles/",
        {"imprint": imprint_c.pk, "contact": theirs.pk, "channel": "print"},
        content_type="application/json",
    )
    assert in_c.status_code in (400, 403)
    assert _snapshot() == before
