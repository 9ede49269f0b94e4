"""The screens that read JSON text — a mapping's steps, a setup export file, a preview's driver
data — refuse a NUL character hidden in a JSON escape (``\\u0000``) with a message, instead of
a server error on PostgreSQL (jsonb cannot hold it) or a row only SQLite keeps."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from integration.models import FieldMapping, PreviewOutput
from integration.setup.transfer import ImportRefused, setup_export, setup_import
from tests.factories import CommunicationTemplateFactory, ExstreamCommunicationFactory
from tests.integration.setup.test_transfer import harbour_setup as harbour_setup

pytestmark = pytest.mark.django_db


def test_mapping_steps_with_a_nul_are_refused(login, admin_a, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    response = login(admin_a).post(
        reverse("setup:mapping_create", args=[template.pk]),
        {
            "driver_field": "workTitle",
            "context_field": "work.title",
            "transforms": '[{"op": "default", "value": "x\\u0000"}]',
        },
    )
    assert response.status_code in (200, 400)
    assert "NUL character" in response.content.decode()
    assert not FieldMapping.objects.filter(template=template).exists()


def test_a_setup_file_with_a_nul_is_refused_whole(harbour_setup, imprint_a, imprint_b, outsider):
    data = json.loads(json.dumps(setup_export(imprint=imprint_a)))
    data["audiences"][0]["description"] = "Readers\u0000"
    with pytest.raises(ImportRefused, match="NUL"):
        setup_import(actor=outsider, imprint=imprint_b, data=data)
    assert not FieldMapping.objects.filter(template__imprint=imprint_b).exists()


def test_preview_driver_data_with_a_nul_is_refused(admin_a, imprint_a, login):
    comm = ExstreamCommunicationFactory.create()
    page = login(admin_a).post(
        "/exstream/communications/",
        {
            "communication": comm.pk,
            "imprint": imprint_a.pk,
            "driver_json": '{"recipientName": "Ada\\u0000"}',
        },
    )
    assert "NUL character" in page.content.decode()
    assert PreviewOutput.objects.count() == 0
