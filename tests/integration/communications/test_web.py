"""Screens: list, new (prefill, type filter, template explanation), detail actions explained,
progress fragment, approvals queue; outsiders get 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.communications import approval, compose, create
from integration.models import Communication
from tests.factories import ContractFactory, WorkFactory, communication_type

S = Communication.Status


@pytest.fixture
def comm(rights_setup, rights_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = create.communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
        )
    return Communication.objects.get(pk=created.pk)


def test_list_and_filters(comm, login, rights_manager, viewer):
    page = login(viewer).get(reverse("communications:list"))
    assert page.status_code == 200
    assert comm.name in page.content.decode()
    assert "New communication" not in page.content.decode()
    page = login(rights_manager).get(reverse("communications:list") + "?status=sent")
    assert comm.name not in page.content.decode()
    page = login(rights_manager).get(reverse("communications:list") + f"?work={comm.work_id}")
    assert comm.name in page.content.decode()


def test_list_respects_the_imprint_switcher(comm, login, rights_manager, imprint_b):
    from accounts.models import Membership, Role

    Membership.objects.create(user=rights_manager, imprint=imprint_b, role=Role.VIEWER)
    client = login(rights_manager)
    session = client.session
    session["imprint_id"] = imprint_b.pk
    session.save()
    client.post(reverse("switch_imprint"), {"imprint": imprint_b.pk, "next": "/"})
    page = client.get(reverse("communications:list"))
    assert comm.name not in page.content.decode()


def test_outsider_gets_404_and_403(comm, login, outsider):
    client = login(outsider)
    assert client.get(reverse("communications:detail", args=[comm.pk])).status_code == 404
    assert client.get(reverse("communications:progress", args=[comm.pk])).status_code == 404
    response = client.post(reverse("communications:action", args=[comm.pk, "submit"]))
    assert response.status_code == 404
    assert comm.name not in client.get(reverse("communications:list")).content.decode()
    assert client.get(reverse("communications:approvals")).status_code == 200


def test_new_form_prefills_title_and_filters_types(rights_setup, login, rights_manager, marketing):
    url = reverse("communications:new") + f"?work={rights_setup.work.pk}"
    page = login(rights_manager).get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "The Lighthouse Keeper" in text
    assert "Rights confirmation" in text and "Launch announcement" not in text
    text = login(marketing).get(reverse("communications:new")).content.decode()
    assert "Launch announcement" in text and "Rights confirmation" not in text


def test_new_form_explains_template_then_creates(
    rights_setup, login, rights_manager, django_capture_on_commit_callbacks
):
    client = login(rights_manager)
    ctype = communication_type("rights-confirmation")
    data = {
        "imprint": rights_setup.audience.imprint_id,
        "communication_type": ctype.pk,
        "audience": rights_setup.audience.pk,
        "work": rights_setup.work.pk,
    }
    page = client.post(reverse("communications:new"), {**data, "check": "1"})
    assert "most specific match" in page.content.decode()
    assert not Communication.objects.exists()
    page = client.post(reverse("communications:new"), {**data, "offer_price": "12.99"})
    assert "Say which currency the offer price is in." in page.content.decode()
    assert not Communication.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("communications:new"),
            {
                **data,
                "offer_code": "LIGHT20",
                "offer_price": "12.99",
                "offer_currency": "gbp",
                "campaign_name": "Autumn launches",
            },
        )
    comm = Communication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("communications:detail", args=[comm.pk])
    assert comm.offer == {"code": "LIGHT20", "price": {"amount": "12.99", "currency": "GBP"}}
    assert comm.campaign == {"name": "Autumn launches"}


def test_new_form_has_fields_not_json_and_tells_same_titles_apart(
    rights_setup, login, rights_manager, marketing, royalties, imprint_a
):
    WorkFactory.create(imprint=imprint_a, title="The Wild House", contributor_list="Ada Okafor")
    WorkFactory.create(imprint=imprint_a, title="The Wild House", contributor_list="Kiri Silva")
    page = login(rights_manager).get(reverse("communications:new")).content.decode()
    assert "The Wild House — Ada Okafor" in page and "The Wild House — Kiri Silva" in page
    assert 'name="offer_code"' in page and 'name="campaign_name"' in page
    assert "e.g. {" not in page and 'name="offer"' not in page  # no JSON to type
    assert 'name="royalty_import"' not in page  # rights staff draft no statements
    assert (
        'name="royalty_import"'
        not in login(marketing).get(reverse("communications:new")).content.decode()
    )
    assert (
        'name="royalty_import"'
        in login(royalties).get(reverse("communications:new")).content.decode()
    )


def test_contracts_follow_the_chosen_title(
    rights_setup, login, rights_manager, imprint_a, imprint_b
):
    other = ContractFactory.create(
        work=WorkFactory.create(imprint=imprint_a), name="Agreement for another title"
    )
    ContractFactory.create(work=WorkFactory.create(imprint=imprint_b), name="Imprint B deal")
    mine = ContractFactory.create(work=rights_setup.work, name="Agreement for this title")
    client = login(rights_manager)
    url = reverse("communications:contract_options")
    options = client.get(f"{url}?work={rights_setup.work.pk}").content.decode()
    assert "Agreement for this title" in options and "another title" not in options
    assert "Imprint B deal" not in client.get(url).content.decode()
    page = client.get(reverse("communications:new") + f"?work={rights_setup.work.pk}")
    html = page.content.decode()
    assert "Agreement for this title" in html and "Agreement for another title" not in html
    assert f'hx-get="{url}"' in html
    response = client.post(
        reverse("communications:new"),
        {
            "imprint": imprint_a.pk,
            "communication_type": communication_type("rights-confirmation").pk,
            "audience": rights_setup.audience.pk,
            "work": rights_setup.work.pk,
            "contract": other.pk,
        },
    )
    assert response.status_code == 200  # refused: not a contract of that title
    assert not Communication.objects.filter(contract=other).exists()
    assert mine.pk


def test_new_form_refused_without_drafting_role(login, viewer, outsider, rights_setup):
    assert login(viewer).get(reverse("communications:new")).status_code == 403
    url = reverse("communications:new") + f"?work={rights_setup.work.pk}"
    assert login(outsider).get(url).status_code == 404


def test_detail_explains_actions(
    comm, login, rights_manager, second_rights_manager, django_capture_on_commit_callbacks
):
    client = login(rights_manager)
    page = client.get(reverse("communications:detail", args=[comm.pk])).content.decode()
    assert "Submit for approval" in page and "Reader 1" in page and "Why this template" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("communications:action", args=[comm.pk, "submit"]))
    page = client.get(reverse("communications:detail", args=[comm.pk])).content.decode()
    assert (
        "You drafted, edited or submitted this communication; another person must approve it."
        in page
    )
    response = client.post(reverse("communications:action", args=[comm.pk, "approve"]))
    assert response.status_code == 403
    assert "another person must approve" in response.content.decode()
    page = login(second_rights_manager).get(reverse("communications:detail", args=[comm.pk]))
    assert "Approve and send" in page.content.decode()


def test_reject_from_the_screen(
    comm, login, rights_manager, second_rights_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_submit(actor=rights_manager, communication=comm)
    client = login(second_rights_manager)
    url = reverse("communications:action", args=[comm.pk, "reject"])
    client.post(url, {"comment": ""}, follow=True)
    assert Communication.objects.get(pk=comm.pk).status == S.SUBMITTED
    client.post(url, {"comment": "Clause 4 is missing"})
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.REJECTED
    page = login(rights_manager).get(reverse("communications:detail", args=[comm.pk]))
    assert "Clause 4 is missing" in page.content.decode()


def test_progress_fragment_polls_while_composing(rights_setup, rights_manager, login):
    comm = create.communication_create(
        actor=rights_manager,
        imprint=rights_setup.audience.imprint,
        communication_type=communication_type("rights-confirmation"),
        audience=rights_setup.audience,
        work=rights_setup.work,
    )  # the compose task runs on commit, which never comes in this test
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.COMPOSING and comm.compose_total == 3
    page = login(rights_manager).get(reverse("communications:progress", args=[comm.pk]))
    text = page.content.decode()
    assert "hx-trigger" in text and "<progress" in text and "0</span> of <span" in text
    compose.communication_compose(communication_id=comm.pk)
    page = login(rights_manager).get(
        reverse("communications:progress", args=[comm.pk]), HTTP_HX_REQUEST="true"
    )
    assert page["HX-Refresh"] == "true"
    assert "Composed 3 recipient(s)" in page.content.decode()


def test_approvals_queue_per_role(
    comm,
    login,
    rights_manager,
    second_rights_manager,
    marketing,
    admin_a,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_submit(actor=rights_manager, communication=comm)
    url = reverse("communications:approvals")
    assert comm.name in login(second_rights_manager).get(url).content.decode()
    assert comm.name in login(admin_a).get(url).content.decode()
    assert comm.name not in login(rights_manager).get(url).content.decode()  # own submission
    assert comm.name not in login(marketing).get(url).content.decode()  # not their category


def test_preview_and_cancel_from_the_screen(comm, login, rights_manager, exstream):
    client = login(rights_manager)
    client.post(reverse("communications:action", args=[comm.pk, "preview"]))
    page = client.get(reverse("communications:detail", args=[comm.pk])).content.decode()
    assert "first recipient" in page and "application/pdf" in page
    client.post(reverse("communications:action", args=[comm.pk, "cancel"]))
    assert Communication.objects.get(pk=comm.pk).status == S.CANCELLED


def test_an_empty_audience_is_explained(
    rights_setup, login, rights_manager, django_capture_on_commit_callbacks
):
    from integration.models import Audience
    from tests.factories import AudienceFactory

    empty = AudienceFactory.create(
        imprint=rights_setup.audience.imprint, kind=Audience.Kind.UPLOADED
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = create.communication_create(
            actor=rights_manager,
            imprint=empty.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=empty,
            work=rights_setup.work,
        )
    page = login(rights_manager).get(reverse("communications:detail", args=[created.pk]))
    text = page.content.decode()
    assert f"the audience “{empty.name}” has no recipients" in text
    assert "There are no recipients to preview." in text
    assert "Not submitted yet." in text
