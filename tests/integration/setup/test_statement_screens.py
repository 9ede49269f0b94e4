"""Statement rules and payee profiles in the staff UI (flow 3): royalties staff and imprint
admins list, filter, create, edit and delete; bad input is answered next to the field and
changes nothing; other roles get 403; another imprint's rules and profiles are not found. The
REST API goes through the same services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role
from integration.models import PayeeProfile, RoyaltyStatement, StatementRule
from tests.factories import (
    ContactFactory,
    ContributionFactory,
    ImprintFactory,
    MembershipFactory,
    RoyaltyImportFactory,
    TerritoryFactory,
    WorkFactory,
    member,
)

pytestmark = pytest.mark.django_db

RULES = reverse("statements:rules")
PAYEES = reverse("statements:payees")


def _rule(imprint, name="Minimum payment", **extra):
    return StatementRule.objects.create(
        imprint=imprint, name=name, minimum_payment=Decimal("50"), **extra
    )


def _payee(imprint, name="Ada Quill"):
    contact = ContactFactory.create(name=name)
    ContributionFactory.create(work=WorkFactory.create(imprint=imprint), contact=contact)
    return contact


def _form(imprint, **values):
    data = {
        "imprint": imprint.pk,
        "name": "Overseas withholding",
        "author_group": "Overseas agents",
        "territory_code": "",
        "currency": "gbp",
        "minimum_payment": "",
        "withholding_rate": "0.2",
        "note": "UK basic-rate tax (20%) is withheld.",
        "active": "on",
    }
    data.update(values)
    return data


# --- statement rules -----------------------------------------------------------------------


def test_royalties_lists_filters_and_pages_rules_of_their_imprint_only(
    login, royalties, imprint_a, imprint_b
):
    for n in range(30):
        _rule(imprint_a, f"Rule {n:02d}", author_group="Debut authors" if n == 7 else "")
    _rule(imprint_b, "Northwind secret rule")
    client = login(royalties)
    page = client.get(RULES)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Rule 00" in body and "Northwind secret rule" not in body
    assert "Page 1 of 2" in body and "Rule 29" not in body
    assert "Rule 29" in client.get(RULES + "?page=2").content.decode()
    found = client.get(RULES + "?q=debut").content.decode()
    assert "Rule 07" in found and "Rule 08" not in found
    # htmx asks for the rows only
    rows = client.get(RULES + "?q=Rule+1", HTTP_HX_REQUEST="true")
    assert "<h1>" not in rows.content.decode() and "Rule 12" in rows.content.decode()
    # naming another imprint in the filter does not widen the list
    other = client.get(RULES + f"?imprint={imprint_b.pk}").content.decode()
    assert "Northwind secret rule" not in other


def test_royalties_creates_a_rule_audited(login, royalties, imprint_a):
    client = login(royalties)
    form = client.get(reverse("statements:rule_create"))
    html = form.content.decode()
    assert form.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_name">Name' in html
    assert "autofocus" in html
    response = client.post(reverse("statements:rule_create"), _form(imprint_a))
    assert response.status_code == 302 and response["Location"] == RULES
    rule = StatementRule.objects.get(name="Overseas withholding")
    assert rule.imprint == imprint_a and rule.currency == "GBP"
    assert rule.withholding_rate == Decimal("0.2")
    event = AuditEvent.objects.get(verb="setup.statementrule_created")
    assert event.actor_id == royalties.pk and event.imprint_id == imprint_a.pk
    listed = client.get(RULES).content.decode()
    assert "Overseas withholding" in listed and "20%" in listed


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"withholding_rate": "1.5"}, "withholding_rate", "A fraction from 0 to below 1"),
        ({"minimum_payment": "-5"}, "minimum_payment", "cannot be negative"),
        ({"currency": "£"}, "currency", "Three letters"),
        ({"territory_code": "xx"}, "territory_code", "No territory has the code 'XX'"),
        ({"name": ""}, "name", "This field is required."),
        (
            {"withholding_rate": "", "minimum_payment": "", "note": ""},
            None,
            "otherwise it does nothing",
        ),
    ],
)
def test_bad_rule_input_is_explained_next_to_the_field(
    login, royalties, imprint_a, values, field, message
):
    response = login(royalties).post(reverse("statements:rule_create"), _form(imprint_a, **values))
    assert response.status_code == 400
    form = response.context["form"]
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not StatementRule.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="setup.statementrule").exists()


def test_rule_for_a_known_territory(login, royalties, imprint_a):
    TerritoryFactory.create(code="US", name="United States")
    response = login(royalties).post(
        reverse("statements:rule_create"), _form(imprint_a, territory_code="us")
    )
    assert response.status_code == 302
    assert StatementRule.objects.get().territory_code == "US"


def test_royalty_statements_page_links_the_rules_for_those_who_set_them(
    login, royalties, viewer, imprint_a
):
    record = RoyaltyImportFactory.create(imprint=imprint_a, imported=True, errors=[])
    url = reverse("imports:royalty_statements", args=[record.pk])
    assert f'href="{RULES}"' in login(royalties).get(url).content.decode()
    assert f'href="{RULES}"' not in login(viewer).get(url).content.decode()


def test_duplicate_rule_name_is_refused(login, royalties, imprint_a):
    _rule(imprint_a, "Overseas withholding")
    response = login(royalties).post(reverse("statements:rule_create"), _form(imprint_a))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert StatementRule.objects.count() == 1


def test_admin_edits_and_deletes_a_rule(login, admin_a, imprint_a):
    rule = _rule(imprint_a)
    client = login(admin_a)
    url = reverse("statements:rule_edit", args=[rule.pk])
    assert 'value="Minimum payment"' in client.get(url).content.decode()
    response = client.post(
        url,
        _form(imprint_a, name="Minimum payment", minimum_payment="75", withholding_rate=""),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.minimum_payment == Decimal("75") and rule.withholding_rate is None
    changed = AuditEvent.objects.get(verb="setup.statementrule_changed")
    assert Decimal(changed.data["changes"]["minimum_payment"]["to"]) == 75

    delete = reverse("statements:rule_delete", args=[rule.pk])
    assert "cannot be undone" in client.get(delete).content.decode()
    assert client.post(delete).status_code == 302
    assert not StatementRule.objects.exists()
    assert AuditEvent.objects.filter(verb="setup.statementrule_deleted").count() == 1


@pytest.mark.parametrize("persona", ["viewer", "marketing", "rights_manager", "project_manager"])
def test_other_roles_are_refused(request, login, imprint_a, persona):
    user = request.getfixturevalue(persona)
    rule = _rule(imprint_a)
    client = login(user)
    for url in (
        RULES,
        reverse("statements:rule_create"),
        reverse("statements:rule_edit", args=[rule.pk]),
        reverse("statements:rule_delete", args=[rule.pk]),
        PAYEES,
        reverse("statements:payee_create"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("statements:rule_delete", args=[rule.pk])).status_code == 403
    assert client.post(reverse("statements:rule_create"), _form(imprint_a)).status_code == 403
    assert StatementRule.objects.count() == 1


def test_another_imprints_rule_is_not_found(login, royalties, imprint_b):
    rule = _rule(imprint_b, "Northwind rule")
    client = login(royalties)
    assert client.get(reverse("statements:rule_edit", args=[rule.pk])).status_code == 404
    assert client.post(reverse("statements:rule_delete", args=[rule.pk])).status_code == 404
    # nor can a rule be created in it: the imprint is not among the choices
    response = client.post(reverse("statements:rule_create"), _form(imprint_b))
    assert response.status_code == 400 and "imprint" in response.context["form"].errors
    assert StatementRule.objects.count() == 1


def test_royalties_in_one_imprint_viewer_in_another_gets_403_there(login, imprint_a):
    imprint_c = ImprintFactory.create(name="Chalk Hill")
    user = member(Role.ROYALTIES, imprint_a, "both@a.test")
    MembershipFactory.create(user=user, imprint=imprint_c, role=Role.VIEWER)
    rule = _rule(imprint_c, "Chalk rule")
    client = login(user)
    assert "Chalk rule" not in client.get(RULES).content.decode()
    assert client.get(reverse("statements:rule_edit", args=[rule.pk])).status_code == 403


def test_navigation_shows_statements_to_royalties_and_admins_only(
    login, royalties, admin_a, marketing, viewer
):
    def labels(user):
        return {i["label"] for i in login(user).get("/").context["nav_items"]}

    assert "Statements" in labels(royalties) and "Statements" in labels(admin_a)
    assert "Statements" not in labels(marketing) and "Statements" not in labels(viewer)


# --- payee profiles ------------------------------------------------------------------------


def test_royalties_searches_and_edits_a_payee_profile(login, royalties, imprint_a, imprint_b):
    ada = _payee(imprint_a, "Ada Quill")
    bo = _payee(imprint_a, "Bo Marsh")
    profile = PayeeProfile.objects.create(imprint=imprint_a, contact=ada, channel="print")
    PayeeProfile.objects.create(imprint=imprint_a, contact=bo, channel="email")
    PayeeProfile.objects.create(
        imprint=imprint_b, contact=_payee(imprint_b, "Northwind Payee"), channel="print"
    )
    client = login(royalties)
    listed = client.get(PAYEES).content.decode()
    assert "Ada Quill" in listed and "Bo Marsh" in listed and "Northwind Payee" not in listed
    found = client.get(PAYEES + "?q=quill").content.decode()
    assert "Ada Quill" in found and "Bo Marsh" not in found

    url = reverse("statements:payee_edit", args=[profile.pk])
    form = client.get(url).content.decode()
    assert "Secure web" in form and "SMS" not in form and "autofocus" in form
    response = client.post(
        url,
        {"imprint": imprint_a.pk, "contact": ada.pk, "channel": "web", "author_group": "Poets"},
    )
    assert response.status_code == 302 and response["Location"] == PAYEES
    profile.refresh_from_db()
    assert profile.channel == "web" and profile.author_group == "Poets"
    event = AuditEvent.objects.get(verb="setup.payeeprofile_changed")
    assert event.data["changes"]["channel"] == {"from": "print", "to": "web"}
    assert "Secure web" in client.get(PAYEES).content.decode()


def test_payee_profile_bad_input_and_other_imprints_people(login, royalties, imprint_a, imprint_b):
    ada = _payee(imprint_a, "Ada Quill")
    stranger = _payee(imprint_b, "Northwind Author")
    client = login(royalties)
    create = reverse("statements:payee_create")
    assert "Northwind Author" not in client.get(create).content.decode()
    for values, field in (
        ({"contact": ada.pk, "channel": "sms"}, "channel"),
        ({"contact": stranger.pk, "channel": "print"}, "contact"),
        ({"contact": "", "channel": "print"}, "contact"),
    ):
        response = client.post(create, {"imprint": imprint_a.pk, "author_group": "", **values})
        assert response.status_code == 400
        assert field in response.context["form"].errors
    assert not PayeeProfile.objects.exists()
    response = client.post(create, {"imprint": imprint_a.pk, "contact": ada.pk, "channel": "email"})
    assert response.status_code == 302
    assert PayeeProfile.objects.get().channel == "email"
    # a second profile for the same payee and imprint is refused
    again = client.post(create, {"imprint": imprint_a.pk, "contact": ada.pk, "channel": "print"})
    assert again.status_code == 400 and PayeeProfile.objects.count() == 1


def test_another_imprints_payee_profile_is_not_found(login, royalties, imprint_b):
    profile = PayeeProfile.objects.create(
        imprint=imprint_b, contact=_payee(imprint_b, "Northwind Payee"), channel="print"
    )
    client = login(royalties)
    assert client.get(reverse("statements:payee_edit", args=[profile.pk])).status_code == 404
    delete = reverse("statements:payee_delete", args=[profile.pk])
    assert client.get(delete).status_code == 404
    assert client.post(delete).status_code == 404
    assert PayeeProfile.objects.filter(pk=profile.pk).exists()
    assert not AuditEvent.objects.filter(verb="setup.payeeprofile_deleted").exists()


def test_royalties_deletes_a_payee_profile_audited(login, royalties, imprint_a):
    ada = _payee(imprint_a, "Ada Quill")
    profile = PayeeProfile.objects.create(imprint=imprint_a, contact=ada, channel="web")
    client = login(royalties)
    delete = reverse("statements:payee_delete", args=[profile.pk])
    assert f'href="{delete}"' in client.get(PAYEES).content.decode()
    page = client.get(delete).content.decode()
    assert "cannot be undone" in page and "still in use" not in page
    # the confirmation is a POST form with a CSRF token, its button focused for the keyboard
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page and "autofocus" in page
    assert PayeeProfile.objects.exists()  # showing the confirmation deletes nothing
    response = client.post(delete, follow=True)
    assert response.redirect_chain == [(PAYEES, 302)]
    assert "Deleted the payee profile of Ada Quill." in response.content.decode()
    assert not PayeeProfile.objects.exists()
    event = AuditEvent.objects.get(verb="setup.payeeprofile_deleted")
    assert event.imprint_id == imprint_a.pk and event.data["values"]["channel"] == "web"


def test_deleting_a_payee_profile_needs_csrf(royalties, imprint_a):
    profile = PayeeProfile.objects.create(
        imprint=imprint_a, contact=_payee(imprint_a), channel="print"
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(royalties)
    response = client.post(reverse("statements:payee_delete", args=[profile.pk]))
    assert response.status_code == 403
    assert PayeeProfile.objects.filter(pk=profile.pk).exists()


@pytest.mark.parametrize("persona", ["viewer", "marketing"])
def test_other_roles_cannot_delete_a_payee_profile(request, login, imprint_a, persona):
    profile = PayeeProfile.objects.create(
        imprint=imprint_a, contact=_payee(imprint_a), channel="print"
    )
    client = login(request.getfixturevalue(persona))
    delete = reverse("statements:payee_delete", args=[profile.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete).status_code == 403
    assert PayeeProfile.objects.filter(pk=profile.pk).exists()
    assert not AuditEvent.objects.filter(verb="setup.payeeprofile_deleted").exists()


def test_a_payee_profile_in_use_says_what_changes_and_prepared_statements_keep_it(
    login, admin_a, imprint_a
):
    ada = _payee(imprint_a, "Ada Quill")
    profile = PayeeProfile.objects.create(
        imprint=imprint_a, contact=ada, channel="web", author_group="Overseas agents"
    )
    _rule(imprint_a, "Overseas withholding", author_group="Overseas agents")
    _rule(imprint_a, "Old overseas rule", author_group="Overseas agents", active=False)
    _rule(imprint_a, "Everyone")
    statement = RoyaltyStatement.objects.create(
        imprint=imprint_a,
        royalty_import=RoyaltyImportFactory.create(imprint=imprint_a, imported=True, errors=[]),
        payee=ada,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        currency="GBP",
        earned=Decimal("120"),
        outcome=RoyaltyStatement.Outcome.PAYABLE,
        channel="web",
        author_group="Overseas agents",
    )
    client = login(admin_a)
    delete = reverse("statements:payee_delete", args=[profile.pk])
    page = client.get(delete).content.decode()
    assert "still in use" in page
    assert "1 statement already prepared for Ada Quill keeps their channel" in page
    assert "Overseas withholding" in page
    assert "Old overseas rule" not in page and "Everyone" not in page
    # in use is not a reason to refuse: nothing points at the profile
    assert client.post(delete).status_code == 302
    assert not PayeeProfile.objects.exists()
    statement.refresh_from_db()
    assert statement.channel == "web" and statement.author_group == "Overseas agents"


# --- the API goes the same way ---------------------------------------------------------------


def test_api_uses_the_same_rules_and_policy(login, royalties, marketing, imprint_a):
    body = {"imprint": imprint_a.pk, "name": "Withholding", "withholding_rate": "2"}
    api = login(royalties)
    bad = api.post("/api/v1/statement-rules/", body, content_type="application/json")
    assert bad.status_code == 400
    assert "A fraction from 0" in str(bad.json()["error"]["details"]["withholding_rate"])
    body["withholding_rate"] = "0.1"
    assert (
        login(marketing)
        .post("/api/v1/statement-rules/", body, content_type="application/json")
        .status_code
        == 403
    )
    ok = api.post("/api/v1/statement-rules/", body, content_type="application/json")
    assert ok.status_code == 201, ok.content
    assert AuditEvent.objects.filter(verb="setup.statementrule_created").count() == 1
    ada = _payee(imprint_a)
    sms = {"imprint": imprint_a.pk, "contact": ada.pk, "channel": "sms"}
    refused = api.post("/api/v1/payee-profiles/", sms, content_type="application/json")
    assert refused.status_code == 400
