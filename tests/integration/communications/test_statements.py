"""Royalty statements: per payee, period and currency; rules by author group, territory and
currency; carry forward; rounding per currency; refusals."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Territory
from integration.communications.statements import (
    royalty_statements_prepare,
    statement_recipients,
)
from integration.lib.money import money_round
from integration.models import (
    PayeeProfile,
    Price,
    RoyaltyLine,
    RoyaltyStatement,
    StatementRule,
)
from integration.setup.context import build_context
from integration.setup.mappings import format_money
from tests.factories import (
    ContactFactory,
    ContractFactory,
    ProductFactory,
    RoyaltyImportFactory,
    TerritoryFactory,
    WorkFactory,
)

H1 = (datetime.date(2026, 1, 1), datetime.date(2026, 6, 30))


def _line(record, payee, contract, balance, currency="GBP", period=H1):
    return RoyaltyLine.objects.create(
        royalty_import=record,
        imprint=record.imprint,
        payee=payee,
        payee_consonance_id=payee.consonance_id,
        contract=contract,
        contract_consonance_id=contract.consonance_id,
        work=contract.work,
        period_start=period[0],
        period_end=period[1],
        isbn13="9780000000001",
        channel="Home",
        territory="GB",
        units=10,
        net_receipts=Decimal("100"),
        rate=Decimal("0.1"),
        royalty=Decimal(balance),
        balance=Decimal(balance),
        currency=currency,
    )


@pytest.fixture
def books(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    other = WorkFactory.create(imprint=imprint_a)
    return {
        "c1": ContractFactory.create(imprint=imprint_a, work=work),
        "c2": ContractFactory.create(imprint=imprint_a, work=other),
        "record": RoyaltyImportFactory.create(imprint=imprint_a, imported=True),
    }


def test_money_rounds_once_per_currency():
    assert money_round(Decimal("1500.75"), "JPY") == Decimal("1501")
    assert money_round(Decimal("1.2345"), "KWD") == Decimal("1.235")
    assert money_round(Decimal("2.005"), "GBP") == Decimal("2.01")
    assert format_money(Decimal("1500.75"), "JPY", locale="en-GB") == "¥1,501"
    assert format_money(Decimal("1234.5"), "EUR", locale="fr-FR").startswith("1")


def test_a_price_of_a_territory_group_is_the_price_in_its_countries(imprint_a):
    eu = TerritoryFactory.create(code="EU", name="EU", kind=Territory.Kind.GROUP)
    eu.members.add(TerritoryFactory.create(code="FR", name="France"))
    product = ProductFactory.create(work=WorkFactory.create(imprint=imprint_a))
    Price.objects.create(
        product=product, amount=Decimal("24.99"), currency="USD", territory="WORLD"
    )
    Price.objects.create(product=product, amount=Decimal("19.99"), currency="EUR", territory="EU")
    Price.objects.create(product=product, amount=Decimal("16.99"), currency="GBP", territory="GB")
    price = lambda code: build_context(product=product, territory=code)["prices.territory"]  # noqa: E731
    assert price("FR") == {"amount": Decimal("19.99"), "currency": "EUR"}
    assert price("GB") == {"amount": Decimal("16.99"), "currency": "GBP"}
    assert price("JP") == {"amount": Decimal("24.99"), "currency": "USD"}


def test_statements_apply_rules_by_group_territory_and_currency(
    books, imprint_a, royalties, viewer
):
    record, c1, c2 = books["record"], books["c1"], books["c2"]
    author = ContactFactory.create(name="Author", country="GB", emails=["a@x.test"])
    agent = ContactFactory.create(name="Agent", country="US", emails=[])
    unearned = ContactFactory.create(name="Unearned", country="GB", emails=["u@x.test"])
    us = TerritoryFactory.create(code="US", name="United States")
    assert us.covers("US")
    PayeeProfile.objects.create(
        imprint=imprint_a, contact=author, channel="web", author_group="Poets"
    )
    StatementRule.objects.create(
        imprint=imprint_a, name="US withholding", territory_code="US",
        withholding_rate=Decimal("0.30"), note="US withholding",
    )  # fmt: skip
    StatementRule.objects.create(
        imprint=imprint_a, name="Poets' note", author_group="Poets", note="Poetry rates apply."
    )
    _line(record, author, c1, "10.10")
    _line(record, author, c2, "20.20")
    _line(record, author, c2, "5.00", currency="USD")
    _line(record, agent, c1, "100.00")
    _line(record, unearned, c1, "-40.00")
    with pytest.raises(PermissionDenied):
        royalty_statements_prepare(actor=viewer, royalty_import=record)
    made = royalty_statements_prepare(actor=royalties, royalty_import=record)
    by = {(s.payee.name, s.currency): s for s in made}
    assert len(made) == 4  # the author: one in sterling (two works), one in dollars
    gbp = by[("Author", "GBP")]
    assert gbp.earned == Decimal("30.30") and len(gbp.work_ids) == 2
    assert gbp.channel == "web" and gbp.notes == ["Poetry rates apply."]
    agent_statement = by[("Agent", "GBP")]
    assert agent_statement.channel == "print"  # no profile, no e-mail address
    assert agent_statement.withheld == Decimal("30.00") and agent_statement.payable == Decimal(
        "70.00"
    )
    loss = by[("Unearned", "GBP")]
    assert loss.outcome == "carried_forward" and loss.carried_forward == Decimal("-40.00")
    assert "Nothing is payable" in loss.notes[0]
    # one recipient per statement, by its channel
    recipients = list(statement_recipients(royalty_import_id=record.pk))
    assert len(recipients) == 4
    assert {r.channel_preference for r in recipients if r.name == "Author"} == {"web"}
    # preparing again changes nothing
    assert len(royalty_statements_prepare(actor=royalties, royalty_import=record)) == 4
    assert RoyaltyStatement.objects.count() == 4


def test_a_refused_file_or_a_missing_payee_prepares_nothing(books, imprint_a, royalties):
    refused = RoyaltyImportFactory.create(imprint=imprint_a, imported=False)
    with pytest.raises(ValidationError, match="refused"):
        royalty_statements_prepare(actor=royalties, royalty_import=refused)
    gone = ContactFactory.create(name="Gone")
    line = _line(books["record"], gone, books["c1"], "5.00")
    RoyaltyLine.objects.filter(pk=line.pk).update(payee=None)
    with pytest.raises(ValidationError, match="no longer in the Consonance mirror"):
        royalty_statements_prepare(actor=royalties, royalty_import=books["record"])
    assert not RoyaltyStatement.objects.exists()


def test_the_statements_screen_prepares_and_shows_them(
    books, imprint_a, royalties, viewer, outsider, login
):
    record = books["record"]
    payee = ContactFactory.create(name="Screen Payee", emails=["p@x.test"])
    _line(record, payee, books["c1"], "75.50")
    url = f"/imports/royalties/{record.pk}/statements/"
    assert login(outsider).get(url).status_code == 404
    page = login(royalties).get(url).content.decode()
    assert "Prepare statements" in page
    assert login(viewer).post(url).status_code == 403
    assert not RoyaltyStatement.objects.exists()
    response = login(royalties).post(url)
    assert response.status_code == 302
    page = login(viewer).get(url).content.decode()
    assert "Screen Payee" in page and "75.50 GBP" in page and "Prepare statements" not in page
