"""Issue 12, items 6, 7 and 12: no 500s from odd ids, filters and form-encoded nulls, and the
OpenAPI schema says what the paginated endpoints return."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import AudienceFactory, WorkFactory

pytestmark = pytest.mark.django_db
HUGE = "9" * 30


@pytest.fixture
def client(login, admin_a):
    return login(admin_a)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/titles/{}/",
        "/api/v1/titles/{}/timeline/",
        "/api/v1/audiences/{}/",
        "/api/v1/audiences/{}/recipients/",
        "/api/v1/communications/{}/",
        "/api/v1/communications/{}/messages/",
        "/api/v1/setup-transfer/{}/",
    ],
)
@pytest.mark.parametrize("value", [HUGE, "abc", "1e3", "٣"])
def test_odd_path_ids_are_404_not_500(client, path, value):
    assert client.get(path.format(value)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/titles/?imprint={HUGE}",
        f"/api/v1/communications/?work={HUGE}",
        f"/api/v1/communications/?imprint={HUGE}",
        f"/api/v1/templates/?imprint={HUGE}",
        f"/api/v1/mappings/?template={HUGE}",
        f"/api/v1/contributor-actions/?work={HUGE}",
        "/api/v1/communications/?work=abc",
    ],
)
def test_odd_filter_ids_are_400_not_500(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["error"]["details"]


def test_filters_by_id_still_work(client, imprint_a):
    WorkFactory.create(imprint=imprint_a)
    assert client.get(f"/api/v1/titles/?imprint={imprint_a.pk}").json()["count"] == 1


@pytest.mark.parametrize("field", ["contributor_roles", "organisation_types"])
def test_form_encoded_null_for_a_list_field_is_400(client, imprint_a, field):
    data = {"imprint": imprint_a.pk, "name": "Nulls", "kind": "contributors", field: "null"}
    response = client.post("/api/v1/audiences/", data)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_form_encoded_null_on_update_is_400(client, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a)
    response = client.patch(
        f"/api/v1/audiences/{audience.pk}/",
        "organisation_types=null",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def _response_schema(schema, path, method):
    content = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    ref = content["schema"].get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else content["schema"]


@pytest.mark.parametrize(
    ("path", "method", "keys"),
    [
        ("/api/v1/titles/{id}/timeline/", "get", {"next", "results"}),
        ("/api/v1/communications/{id}/messages/", "get", {"count", "next", "results"}),
        ("/api/v1/audiences/{id}/recipients/", "get", {"count", "sample"}),
        ("/api/v1/communications/{id}/preview/", "post", {"previews"}),
        ("/api/v1/templates/{id}/try/", "post", {"driver_data", "problems"}),
    ],
)
def test_openapi_documents_what_the_endpoint_returns(path, method, keys):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = _response_schema(schema, path, method)
    assert documented.get("type") == "object", documented
    assert keys <= set(documented["properties"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/v1/titles/?q=%00", "/api/v1/titles/?search=a%00b", "/titles/?q=%00"],
)
def test_a_nul_byte_in_the_query_is_a_clear_400_not_a_server_error(client, marketing, url):
    client.force_login(marketing)
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_byte_in_the_launch_territory_is_refused(client, marketing):
    work = WorkFactory.create(imprint=marketing.memberships.first().imprint)
    client.force_login(marketing)
    response = client.get(f"/api/v1/titles/{work.pk}/launch/?territory=%00")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("The address contains a NUL")
