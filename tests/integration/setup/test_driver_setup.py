"""Template setup from the design's driver sample: the customer key, optional fields,
production-only binding, and incomplete mappings shown and blocking (issue 11)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import CommunicationTemplate
from integration.setup.mappings import mapping_problems
from tests.factories import (
    CommunicationTemplateFactory,
    ExstreamCommunicationFactory,
    FieldMappingFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db

SAMPLE_FIELDS = [
    {"name": "customer.customerNumber", "type": "string", "required": True},
    {"name": "customer.name", "type": "string", "required": True},
    {"name": "work.title", "type": "string", "required": True},
    {"name": "work.isbn", "type": "string", "required": True},
]


def _template(imprint, **comm):
    exstream = ExstreamCommunicationFactory.create(driver_fields=SAMPLE_FIELDS, **comm)
    return CommunicationTemplateFactory.create(imprint=imprint, exstream_communication=exstream)


def _api_body(imprint, exstream) -> dict:
    return {
        "imprint": imprint.pk,
        "name": "Rights letter",
        "communication_type": communication_type("rights-confirmation").pk,
        "exstream_communication": exstream.pk,
        "channels": ["print"],
        "effective_from": "2026-01-01",
        "status": "active",
        "locale": "en-GB",
    }


def test_binding_a_design_not_approved_in_production_is_refused_with_a_reason(
    login, admin_a, imprint_a
):
    preview_only = ExstreamCommunicationFactory.create(
        domain="preview", production_approved=False, driver_fields=SAMPLE_FIELDS
    )
    response = login(admin_a).post(
        "/api/v1/templates/", _api_body(imprint_a, preview_only), content_type="application/json"
    )
    assert response.status_code == 400
    assert "not approved on the production domain" in str(response.json())
    assert not CommunicationTemplate.objects.exists()
    approved = ExstreamCommunicationFactory.create(driver_fields=SAMPLE_FIELDS)
    response = login(admin_a).post(
        "/api/v1/templates/", _api_body(imprint_a, approved), content_type="application/json"
    )
    assert response.status_code == 201, response.content


def test_customer_key_and_optional_fields_must_be_sample_fields(login, admin_a, imprint_a):
    exstream = ExstreamCommunicationFactory.create(driver_fields=SAMPLE_FIELDS)
    body = {
        **_api_body(imprint_a, exstream),
        "customer_key_field": "customerKey",
        "optional_driver_fields": ["work.subtitle"],
    }
    response = login(admin_a).post("/api/v1/templates/", body, content_type="application/json")
    assert response.status_code == 400
    text = str(response.json())
    assert "'customerKey' is not a field of the driver sample" in text
    assert "work.subtitle" in text


def test_required_fields_come_from_the_sample_and_the_template(imprint_a):
    template = _template(imprint_a)
    # the customer key defaults to the sample's customer-number field; Colophon fills it
    assert template.customer_key_path == "customer.customerNumber"
    problems = mapping_problems(template)
    assert "Required Exstream driver field 'work.isbn' is not mapped." in problems
    assert not any("customerNumber" in p for p in problems)
    template.optional_driver_fields = ["work.isbn"]
    for field, context in (("customer.name", "recipient.name"), ("work.title", "work.title")):
        FieldMappingFactory.create(template=template, driver_field=field, context_field=context)
    assert mapping_problems(template) == []


def test_no_customer_key_field_is_an_incomplete_mapping(imprint_a):
    exstream = ExstreamCommunicationFactory.create(
        driver_fields=[{"name": "title", "type": "string", "required": True}]
    )
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, exstream_communication=exstream
    )
    FieldMappingFactory.create(template=template, driver_field="title", context_field="work.title")
    assert any(
        "Choose which driver field is the customer key" in p for p in mapping_problems(template)
    )
    template.customer_key_field = "title"
    problems = mapping_problems(template)
    assert not any("Choose which driver field" in p for p in problems)
    # the key is Colophon's to fill: a mapping to it is a problem too
    assert "'title' is the customer key" in " ".join(problems)


def test_incomplete_templates_show_in_the_list_and_on_the_type_picker(
    login, admin_a, rights_manager, imprint_a
):
    template = _template(imprint_a)
    page = login(admin_a).get(reverse("setup:list", args=["templates"])).content.decode()
    assert "Incomplete: 3 problems" in page
    picker = login(rights_manager).get(reverse("communications:new")).content.decode()
    assert "template incomplete" in picker and "customer.name" in picker
    for field, context in (
        ("customer.name", "recipient.name"),
        ("work.title", "work.title"),
        ("work.isbn", "product.isbn"),
    ):
        FieldMappingFactory.create(template=template, driver_field=field, context_field=context)
    page = login(admin_a).get(reverse("setup:list", args=["templates"])).content.decode()
    assert "Incomplete" not in page
    picker = login(rights_manager).get(reverse("communications:new")).content.decode()
    assert "template incomplete" not in picker


def test_outsider_sees_no_incomplete_templates_of_another_imprint(login, outsider, imprint_a):
    _template(imprint_a)
    page = login(outsider).get(reverse("setup:list", args=["templates"])).content.decode()
    assert "Incomplete" not in page
