"""A title's launch plan in the staff UI (flow 5): what the launch would send in a territory,
format by format, with the cover and the post-launch follow-up's date relative to the
publication date; marketing drafts from it through the API's service. Viewers see the plan but
may not draft; another imprint's title is not found."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from integration.models import Audience, Communication, SupportingResource
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ProductFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def title(imprint_a):
    work = WorkFactory.create(imprint=imprint_a, title="The Salt Road")
    ProductFactory.create(
        work=work,
        isbn13="9781908435517",
        product_form="BB",
        product_form_description="Hardback",
        publishing_status="02",
        availability="10",
        publication_date=datetime.date(2027, 3, 4),
        for_sale_territories=["WORLD"],
    )
    ProductFactory.create(
        work=work,
        isbn13="9781908435524",
        product_form="DG",
        product_form_description="E-book",
        publishing_status="02",
        availability="10",
        publication_date=datetime.date(2027, 3, 4),
        for_sale_territories=["GB"],
        not_for_sale_territories=["US"],
    )
    SupportingResource.objects.create(
        work=work, url="https://covers.example.test/salt-road.jpg", is_cover=True
    )
    return work


@pytest.fixture
def follow_up_rule(imprint_a):
    readers = AudienceFactory.create(imprint=imprint_a, name="Advance readers")
    return TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Follow-up two weeks after publication",
        event="post_publication",
        days_before=14,
        communication_type=communication_type("post-launch-follow-up"),
        audience=readers,
    )


def _url(work, territory=""):
    url = reverse("titles:launch", args=[work.pk])
    return f"{url}?territory={territory}" if territory else url


def test_title_page_links_the_launch_plan(login, marketing, title):
    page = login(marketing).get(reverse("titles:detail", args=[title.pk]))
    assert f'href="{_url(title)}"' in page.content.decode()


def test_plan_by_format_and_territory_with_cover_and_follow_up(
    login, marketing, title, follow_up_rule
):
    client = login(marketing)
    page = client.get(_url(title, "US"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="https://covers.example.test/salt-road.jpg"' in html
    assert 'alt="Cover of The Salt Road"' in html
    plan = page.context["plan"]
    by_isbn = {c.product.isbn13: c for c in plan.choices}
    assert by_isbn["9781908435517"].type_code == "retailer-notice"
    assert by_isbn["9781908435524"].type_code is None
    assert "E-book is not for sale in US." in html
    assert "Retailer notice and Advance reader communication" in html  # the hardback's row
    # the follow-up: 14 days after the publication date
    assert "Follow-up two weeks after publication" in html
    assert "18 Mar 2027 (14 days after publication)" in html
    # in GB the e-book is for sale and becomes the reading copy (digital first)
    gb = client.get(_url(title, "gb")).context["plan"]
    assert gb.territory == "GB" and gb.advance_reader_product.isbn13 == "9781908435524"
    # the draft form is offered to marketing, the territory field has the focus
    assert "Draft the launch communications" in html
    assert "autofocus" in html.split('name="territory"')[1].split(">")[0]


def test_bad_territory_is_explained(login, marketing, title):
    page = login(marketing).get(_url(title, "not a code!"))
    assert page.status_code == 200
    assert page.context["plan"] is None
    assert "A territory code: two to ten letters" in page.content.decode()


def test_no_follow_up_rule_says_so(login, marketing, title):
    html = login(marketing).get(_url(title, "GB")).content.decode()
    assert "No post-launch follow-up is scheduled" in html


def test_marketing_drafts_the_launch_from_the_plan(
    login, marketing, title, imprint_a, django_capture_on_commit_callbacks
):
    for code in ("retailer-notice", "advance-reader-communication"):
        CommunicationTemplateFactory.create(
            imprint=imprint_a, communication_type=communication_type(code), channels=["email"]
        )
    retailers = AudienceFactory.create(
        imprint=imprint_a, name="Retailers", kind=Audience.Kind.UPLOADED
    )
    readers = AudienceFactory.create(
        imprint=imprint_a, name="Advance readers", kind=Audience.Kind.UPLOADED
    )
    client = login(marketing)
    body = {
        "territory": "GB",
        "retailer_audience": retailers.pk,
        "reader_audience": readers.pk,
        "link": "https://readers.example.test/early",
    }
    response = client.post(_url(title, "GB"), body)
    assert response.status_code == 302
    assert response["Location"] == _url(title, "GB")
    drafted = Communication.objects.filter(work=title)
    assert sorted(drafted.values_list("communication_type__code", flat=True)) == [
        "advance-reader-communication",
        "retailer-notice",
        "retailer-notice",
    ]
    arc = drafted.get(communication_type__code="advance-reader-communication")
    assert arc.campaign == {"link": "https://readers.example.test/early"}
    assert arc.created_by == marketing
    assert AuditEvent.objects.filter(verb="launch.drafted", work_id=title.pk).count() == 1
    page = client.get(_url(title, "GB")).content.decode()
    assert "Launch communications drafted" in page and arc.name in page
    # asking again drafts nothing new
    client.post(_url(title, "GB"), body)
    assert Communication.objects.filter(work=title).count() == 3


def test_draft_bad_input_changes_nothing(login, marketing, title, imprint_a, imprint_b):
    other = AudienceFactory.create(imprint=imprint_b, name="Northwind retailers")
    client = login(marketing)
    # no audience chosen
    response = client.post(_url(title, "GB"), {"territory": "GB"})
    assert response.status_code == 400
    assert "retailer_audience" in response.context["draft_form"].errors
    # another imprint's audience is not a choice
    response = client.post(_url(title, "GB"), {"territory": "GB", "retailer_audience": other.pk})
    assert response.status_code == 400
    assert "retailer_audience" in response.context["draft_form"].errors
    # no retailer-notice template: the service's explanation is shown above the form
    mine = AudienceFactory.create(imprint=imprint_a, name="Retailers")
    response = client.post(_url(title, "GB"), {"territory": "GB", "retailer_audience": mine.pk})
    assert response.status_code == 400
    assert response.context["draft_form"].non_field_errors()
    assert not Communication.objects.exists()
    assert not AuditEvent.objects.filter(verb="launch.drafted").exists()


def test_viewer_sees_the_plan_but_may_not_draft(login, viewer, title, imprint_a):
    retailers = AudienceFactory.create(imprint=imprint_a, name="Retailers")
    client = login(viewer)
    page = client.get(_url(title, "GB"))
    assert page.status_code == 200
    assert "Draft the launch communications" not in page.content.decode()
    body = {"territory": "GB", "retailer_audience": retailers.pk}
    assert client.post(_url(title, "GB"), body).status_code == 403
    assert not Communication.objects.exists()


def test_another_imprints_title_is_not_found(login, outsider, title):
    client = login(outsider)
    assert client.get(_url(title, "GB")).status_code == 404
    assert client.post(_url(title, "GB"), {"territory": "GB"}).status_code == 404
