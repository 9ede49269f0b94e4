"""A royalty statement about a title (README, royalties@'s journey: *Royalty statement* about a
title to *Authors of the title*, with the royalty period) carries that title's lines only. On
make run's demo the statement about The Long Songs listed the author's lines for seven titles,
and the trigger's one-draft-per-title would have sent each author the same full statement once
per title."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from integration.communications import create
from integration.models import Audience, Communication, RoyaltyImport, RoyaltyLine
from tests.factories import (
    AudienceFactory,
    ContactFactory,
    ContractFactory,
    ContributionFactory,
    WorkFactory,
    communication_type,
)
from tests.integration.communications.test_sources import _line, statement_setup

pytestmark = pytest.mark.django_db


def test_a_statement_about_a_title_carries_that_titles_lines(
    imprint_a, royalties, django_capture_on_commit_callbacks
):
    jane = ContactFactory(name="Jane Doe")
    songs, tide = (WorkFactory(imprint=imprint_a, title=t) for t in ("Long Songs", "Tide"))
    imp = RoyaltyImport.objects.create(imprint=imprint_a, filename="h1.csv")
    lines = []
    for work, amounts in ((songs, ("10.00", "5.50")), (tide, ("100.00",))):
        ContributionFactory(work=work, contact=jane, role="A01")
        contract = ContractFactory(work=work, imprint=imprint_a)
        lines += [_line(imp, jane, contract, work, amount) for amount in amounts]
    RoyaltyLine.objects.bulk_create(lines)
    authors = statement_setup(imprint_a, total_field="amountDue")
    due = {}
    for work in (songs, tide):
        with django_capture_on_commit_callbacks(execute=True):
            comm = create.communication_create(
                actor=royalties,
                imprint=imprint_a,
                communication_type=communication_type("royalty-statement"),
                audience=authors,
                work=work,
                royalty_import=imp,
            )
        [message] = Communication.objects.get(pk=comm.pk).messages.all()
        due[work.title] = message.driver_data["amountDue"]
    assert due == {"Long Songs": "£15.50", "Tide": "£100.00"}
    assert sum(ln.royalty for ln in RoyaltyLine.objects.all()) == Decimal("115.50")


def test_a_statement_without_its_royalty_period_is_refused_clearly(imprint_a, royalties, login):
    """Left without a royalty period, the demo's statement was created and composed to
    "Required field 'amountDue' has no value" for every payee."""
    work = WorkFactory.create(imprint=imprint_a, title="Long Songs")
    authors = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.CONTRIBUTORS, name="Authors"
    )
    response = login(royalties).post(
        reverse("communications:new"),
        {
            "imprint": imprint_a.pk,
            "communication_type": communication_type("royalty-statement").pk,
            "audience": authors.pk,
            "work": work.pk,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["royalty_import"] == [
        "A royalty statement reports a royalty period: choose it under Royalty period."
    ]
    assert not Communication.objects.exists()
