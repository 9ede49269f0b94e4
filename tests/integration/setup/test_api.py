"""API v1 for setup: same policy as the screens, one error body, audited writes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from integration.models import Audience, ComplianceRule, FieldMapping, TriggerRule
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ExstreamCommunicationFactory,
    TriggerRuleFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


def test_communication_types_are_seeded_with_categories(login, viewer, imprint_a):
    body = login(viewer).get("/api/v1/communication-types/?page_size=100").json()
    by_code = {t["code"]: t for t in body["results"]}
    assert len(by_code) >= 27
    assert by_code["royalty-statement"]["category"] == "royalties"
    assert by_code["proof-approval"]["response_expected"] is True
    assert by_code["proof-approval"]["flow"] == 8
    assert by_code["launch-announcement"]["auto_approvable"] is None


def test_auto_approval_via_api(login, admin_a, rights_manager, imprint_a):
    ctype = communication_type("catalogue-update")
    url = f"/api/v1/communication-types/{ctype.pk}/auto-approval/"
    body = {"imprint": imprint_a.pk, "auto_approvable": True}
    assert login(rights_manager).post(url, body, content_type="application/json").status_code == 403
    assert login(admin_a).post(url, body, content_type="application/json").status_code == 200
    listed = login(rights_manager).get(
        f"/api/v1/communication-types/?imprint={imprint_a.pk}&page_size=100"
    )
    by_code = {t["code"]: t for t in listed.json()["results"]}
    assert by_code["catalogue-update"]["auto_approvable"] is True
    assert by_code["review-request"]["auto_approvable"] is False


@pytest.mark.parametrize(
    ("endpoint", "factory"),
    [
        ("templates", CommunicationTemplateFactory),
        ("audiences", AudienceFactory),
        ("compliance-rules", ComplianceRuleFactory),
        ("triggers", TriggerRuleFactory),
    ],
)
def test_outsiders_see_nothing_of_another_imprint(
    login, outsider, viewer, imprint_a, endpoint, factory
):
    obj = factory.create(imprint=imprint_a)
    client = login(outsider)
    assert client.get(f"/api/v1/{endpoint}/").json()["results"] == []
    assert client.get(f"/api/v1/{endpoint}/{obj.pk}/").status_code == 404
    assert (
        client.patch(
            f"/api/v1/{endpoint}/{obj.pk}/", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/{endpoint}/{obj.pk}/").status_code == 404
    # Staff of the imprint may read but not change.
    staff = login(viewer)
    assert staff.get(f"/api/v1/{endpoint}/{obj.pk}/").status_code == 200
    response = staff.patch(
        f"/api/v1/{endpoint}/{obj.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_admin_creates_audience_and_rule_via_api(login, admin_a, imprint_a, imprint_b, territories):
    client = login(admin_a)
    response = client.post(
        "/api/v1/audiences/",
        {
            "imprint": imprint_a.pk,
            "name": "Retailers",
            "kind": "organisations",
            "organisation_types": ["retailer"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert Audience.objects.get(name="Retailers").imprint == imprint_a
    # Another imprint: refused, nothing stored.
    response = client.post(
        "/api/v1/audiences/",
        {"imprint": imprint_b.pk, "name": "Sneaky", "kind": "contributors"},
        content_type="application/json",
    )
    # The policy narrows the imprint choices: another imprint is "not found", never listed.
    assert response.status_code == 400
    assert "imprint" in response.json()["error"]["details"]
    assert not Audience.objects.filter(name="Sneaky").exists()
    # Model validation comes back as the one error body.
    response = client.post(
        "/api/v1/compliance-rules/",
        {"imprint": imprint_a.pk, "name": "Window", "kind": "sending_window", "weekdays": [9]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "weekdays" in response.json()["error"]["details"]
    response = client.post(
        "/api/v1/compliance-rules/",
        {
            "imprint": imprint_a.pk,
            "name": "EU notice",
            "kind": "required_field",
            "required_field": "dataProtectionNotice",
            "territory_code": "EU",
            "communication_types": ["promotional-letter"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    rule = ComplianceRule.objects.get(name="EU notice")
    assert [t.code for t in rule.communication_types.all()] == ["promotional-letter"]
    assert AuditEvent.objects.filter(verb="setup.compliancerule_created", actor=admin_a).exists()


def test_trigger_api_validates_and_refuses_other_imprints_audience(
    login, admin_a, imprint_a, imprint_b
):
    their_audience = AudienceFactory.create(imprint=imprint_b)
    mine = AudienceFactory.create(imprint=imprint_a)
    client = login(admin_a)
    base = {"imprint": imprint_a.pk, "name": "T", "communication_type": "proof-approval"}
    response = client.post(
        "/api/v1/triggers/",
        {**base, "event": "delivery_due", "audience": their_audience.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    # Another imprint's audience is "not found" (the policy narrows the choices).
    assert "does not exist" in str(response.json()["error"]["details"]["audience"])
    response = client.post(
        "/api/v1/triggers/",
        {**base, "event": "delivery_due", "audience": mine.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "days_before" in response.json()["error"]["details"]
    response = client.post(
        "/api/v1/triggers/",
        {**base, "event": "delivery_due", "days_before": 7, "audience": mine.pk},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert TriggerRule.objects.get(name="T").days_before == 7


def test_mapping_api_and_try(login, admin_a, viewer, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    client = login(admin_a)
    response = client.post(
        "/api/v1/mappings/",
        {"template": template.pk, "driver_field": "workTitle", "context_field": "work.nope"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "context_field" in response.json()["error"]["details"]
    response = client.post(
        "/api/v1/mappings/",
        {
            "template": template.pk,
            "driver_field": "workTitle",
            "context_field": "work.title",
            "transforms": [{"op": "upper"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert (
        login(viewer)
        .post(
            "/api/v1/mappings/",
            {"template": template.pk, "driver_field": "isbn", "context_field": "product.isbn"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    assert FieldMapping.objects.count() == 1
    tried = client.post(
        f"/api/v1/templates/{template.pk}/try/",
        {"values": {"work.title": "Tide Tables"}},
        content_type="application/json",
    )
    assert tried.json()["driver_data"]["workTitle"] == "TIDE TABLES"
    assert tried.json()["problems"] == [
        "Required Exstream driver field 'recipientName' is not mapped."
    ]
    detail = client.get(f"/api/v1/templates/{template.pk}/").json()
    assert detail["problems"] == ["Required Exstream driver field 'recipientName' is not mapped."]


def test_resolve_api(login, viewer, imprint_a, territories):
    chosen = CommunicationTemplateFactory.create(imprint=imprint_a, territory_code="GB")
    CommunicationTemplateFactory.create(imprint=None, name="Default")
    body = (
        login(viewer)
        .get(
            f"/api/v1/templates/resolve/?communication_type=rights-confirmation&imprint={imprint_a.pk}"
            "&territory=gb&language=en&on=2026-06-01"
        )
        .json()
    )
    assert body["template"] == chosen.pk
    assert [c["verdict"] for c in body["candidates"]] == ["chosen", "outranked"]


def test_global_template_is_superuser_only(login, admin_a, superuser, imprint_a):
    comm = ExstreamCommunicationFactory.create()
    body = {
        "imprint": None,
        "name": "Default",
        "communication_type": communication_type().pk,
        "exstream_communication": comm.pk,
        "channels": ["print"],
        "effective_from": "2026-01-01",
    }
    assert (
        login(admin_a).post("/api/v1/templates/", body, content_type="application/json").status_code
        == 403
    )
    assert (
        login(superuser)
        .post("/api/v1/templates/", body, content_type="application/json")
        .status_code
        == 201
    )
    # Everyone's staff may read the default.
    assert len(login(admin_a).get("/api/v1/templates/").json()["results"]) == 1


def test_audience_recipients_and_upload_api(login, admin_a, marketing, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    client = login(admin_a)
    bad = SimpleUploadedFile(
        "m.csv", b"email,name,country,consent,channel\na@x.test,,GB,yes,email\n"
    )
    response = client.post(f"/api/v1/audiences/{audience.pk}/upload/", {"file": bad})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["file"] == [
        "Row 2, column 'name': a name is required."
    ]
    good = SimpleUploadedFile(
        "m.csv", b"email,name,country,consent,channel\na@x.test,Ann,GB,yes,email\n"
    )
    marketing_try = login(marketing).post(
        f"/api/v1/audiences/{audience.pk}/upload/", {"file": good}
    )
    assert marketing_try.status_code == 403
    good.seek(0)
    assert (
        client.post(f"/api/v1/audiences/{audience.pk}/upload/", {"file": good}).status_code == 201
    )
    body = client.get(f"/api/v1/audiences/{audience.pk}/recipients/").json()
    assert body["count"] == 1 and body["sample"][0]["email"] == "a@x.test"
    segment = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.SEGMENT, segment_id="S")
    body = client.get(f"/api/v1/audiences/{segment.pk}/recipients/").json()
    assert body["count"] is None and "unknown until then" in body["count_note"]
