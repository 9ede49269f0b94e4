"""API: titles search (``q`` or ``search``) and the read-only Exstream catalogue."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import (
    ContactFactory,
    ContributionFactory,
    ExstreamCommunicationFactory,
    ProductFactory,
    UserFactory,
    WorkFactory,
)

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _titles(user, query: str) -> list[str]:
    body = _api(user).get(f"/api/v1/titles/?{query}").json()
    return sorted(r["title"] for r in body["results"])


def test_titles_search_by_title_contributor_or_isbn(imprint_a, imprint_b, rights_manager):
    house = WorkFactory.create(imprint=imprint_a, title="The Wild House")
    ProductFactory.create(work=house, isbn13="9781234567897")
    sea = WorkFactory.create(imprint=imprint_a, title="Salt Sea")
    ContributionFactory.create(work=sea, contact=ContactFactory.create(name="Ada Okafor"))
    WorkFactory.create(imprint=imprint_b, title="The Wild House Abroad")  # another imprint
    assert _titles(rights_manager, "search=wild") == ["The Wild House"]
    assert _titles(rights_manager, "q=okafor") == ["Salt Sea"]
    assert _titles(rights_manager, "search=978-1-234") == ["The Wild House"]
    assert _titles(rights_manager, "search=nothing-like-it") == []


def test_exstream_catalogue_is_readable_by_staff_and_read_only(rights_manager, viewer):
    letter = ExstreamCommunicationFactory.create(name="Permission letter", channels=["print"])
    ExstreamCommunicationFactory.create(name="Launch announcement e-mail", channels=["email"])
    ExstreamCommunicationFactory.create(name="Old letter", active=False)
    api = _api(viewer)
    body = api.get("/api/v1/exstream-communications/").json()
    names = [r["name"] for r in body["results"]]
    assert names == ["Launch announcement e-mail", "Permission letter"]
    assert body["results"][1]["required_fields"] == letter.required_fields
    assert [r["name"] for r in api.get("/api/v1/exstream-communications/?q=permission").json()[
        "results"
    ]] == ["Permission letter"]  # fmt: skip
    emails = api.get("/api/v1/exstream-communications/?channel=email").json()["results"]
    assert [r["name"] for r in emails] == ["Launch announcement e-mail"]
    everything = api.get("/api/v1/exstream-communications/?active=false").json()
    assert everything["count"] == 3
    one = api.get(f"/api/v1/exstream-communications/{letter.pk}/")
    assert one.status_code == 200 and one.json()["name"] == "Permission letter"
    assert api.post("/api/v1/exstream-communications/", {}).status_code == 405
    assert (
        _api(rights_manager).delete(f"/api/v1/exstream-communications/{letter.pk}/").status_code
        == 405
    )


def test_exstream_catalogue_needs_a_role_somewhere(client):
    assert client.get("/api/v1/exstream-communications/").status_code in (401, 403)
    nobody = UserFactory.create()
    assert _api(nobody).get("/api/v1/exstream-communications/").status_code == 403
