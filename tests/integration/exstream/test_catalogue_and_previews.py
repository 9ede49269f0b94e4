"""Catalogue sync through the DAS chain, and on-demand previews, against the sandbox."""

from __future__ import annotations

import base64

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from integration.delivery.preview import preview_generate
from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication, PreviewOutput
from integration.setup.designs import exstream_catalogue_sync
from sandbox.exstream.catalogue import CATALOGUE, communication_id_for, seed_exstream_sandbox
from sandbox.models import ExstreamSandboxCommunication
from tests.integration.exstream.conftest import TEST_CATALOGUE

pytestmark = pytest.mark.django_db(transaction=True)

RIGHTS = "Rights confirmation letter"


def rights_driver(**extra):
    return {
        "recipientName": "Ada Lovelace",
        "recipientEmail": "ada@example.test",
        "imprintName": "Harbour Lights",
        "workTitle": "The Analytical Engine",
        "isbn": "9780000000001",
        "territories": "World",
        "rightsGranted": "Audio",
        "confirmByDate": "2026-12-01",
        **extra,
    }


def test_sync_stores_approved_communications_with_manifests(exstream):
    result = exstream_catalogue_sync(actor=None)
    assert result.created == 2 * len(TEST_CATALOGUE)
    comm = ExstreamCommunication.objects.get(domain="production", name=RIGHTS)
    assert comm.communication_id == communication_id_for(RIGHTS)
    assert comm.prod_dsn == "RightsConfirmationLetterDriver"
    assert comm.communication_set_id
    assert [q["driver"] for q in comm.queues] == ["PDF", "HTML"]
    assert comm.channels == ["email", "print"]
    # the driver sample (linked samplefile) gives the fields, nested paths included
    assert comm.sample_resource_id and comm.driver_format == "json"
    assert {"customer.customerNumber", "confirmByDate", "isbn"} <= set(comm.field_names)
    assert comm.default_customer_key == "customer.customerNumber"
    # the manifest lists a reference data source first; the driver is the one typed 'driver'
    assert [d["type"] for d in comm.dsn_list] == ["reference", "driver"]
    assert comm.production_approved
    assert ExstreamCommunication.objects.get(domain="preview", name=RIGHTS).production_approved
    assert AuditEvent.objects.filter(verb="exstream.catalogue_synced").count() == 1


def test_full_sandbox_catalogue_covers_the_publishing_flows(db):
    assert seed_exstream_sandbox() == 2 * len(CATALOGUE)
    assert seed_exstream_sandbox() == 2 * len(CATALOGUE)  # idempotent
    names = set(ExstreamSandboxCommunication.objects.values_list("name", flat=True))
    assert {"Royalty statement", "Proof approval", "Customer-service revised-date notice"} <= names
    assert ExstreamSandboxCommunication.objects.count() == 2 * len(CATALOGUE)


def test_communications_no_longer_approved_become_inactive(exstream):
    exstream_catalogue_sync(actor=None)
    ExstreamSandboxCommunication.objects.filter(domain="production", name=RIGHTS).update(
        state="DRAFT"
    )
    result = call_command("sync_exstream", "--domain", "production")
    assert result is None
    assert not ExstreamCommunication.objects.get(domain="production", name=RIGHTS).active
    assert ExstreamCommunication.objects.get(domain="preview", name=RIGHTS).active


def test_preview_generate_stores_watermarked_outputs(exstream, imprint_a, admin_a):
    exstream_catalogue_sync(actor=None)
    comm = ExstreamCommunication.objects.get(domain="production", name=RIGHTS)
    outputs = preview_generate(
        actor=admin_a,
        exstream_communication=comm,
        driver_data=rights_driver(),
        imprint=imprint_a,
        customer_key="msg-42",
    )
    assert [o.mime_type for o in outputs] == ["application/pdf", "text/html"]
    pdf = outputs[0].content.open("rb").read()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"PREVIEW \x97 NOT FOR DISTRIBUTION" in pdf  # WinAnsi em dash
    html = outputs[1].content.open("rb").read().decode()
    assert "PREVIEW — NOT FOR DISTRIBUTION" in html and "The Analytical Engine" in html
    assert {o.customer_key for o in outputs} == {"msg-42"}
    assert outputs[0].driver_hash == outputs[1].driver_hash
    assert outputs[0].created_by == admin_a and outputs[0].domain == "preview"
    assert AuditEvent.objects.filter(verb="exstream.preview_generated").count() == 1


def test_text_output_for_sms_queues(exstream, imprint_a, admin_a):
    exstream_catalogue_sync(actor=None)
    comm = ExstreamCommunication.objects.get(domain="production", name="Approval notice")
    outputs = preview_generate(
        actor=admin_a,
        exstream_communication=comm,
        imprint=imprint_a,
        driver_data={
            "customer.customerNumber": "k",
            "recipientName": "B",
            "imprintName": "H",
            "workTitle": "T",
            "approvedItem": "Cover",
        },
    )
    assert [o.mime_type for o in outputs] == ["text/html", "text/plain"]
    assert outputs[1].content.open("rb").read().decode().startswith("PREVIEW")


def test_preview_with_missing_fields_stores_nothing(exstream, imprint_a, admin_a):
    exstream_catalogue_sync(actor=None)
    comm = ExstreamCommunication.objects.get(domain="production", name=RIGHTS)
    with pytest.raises(ExternalServiceError) as info:
        preview_generate(
            actor=admin_a,
            exstream_communication=comm,
            imprint=imprint_a,
            driver_data={"recipientName": "Ada"},
            customer_key="m",
        )
    assert {d["field"] for d in info.value.details} >= {"workTitle", "territories"}
    assert PreviewOutput.objects.count() == 0


def test_raw_pdf_on_request(make_client):
    pdf = make_client().generate_pdf(
        domain="production",
        communication_id=communication_id_for(RIGHTS),
        driver_data_source="RightsConfirmationLetterDriver",
        driver_data={"customer.customerNumber": "m1", **rights_driver()},
    )
    assert pdf.startswith(b"%PDF") and b"PREVIEW" not in pdf  # production: no watermark


def test_json_envelope_carries_base64_per_queue(make_client):
    outputs = make_client().generate(
        domain="preview",
        communication_id=communication_id_for(RIGHTS),
        driver_data_source="RightsConfirmationLetterDriver",
        driver_data={"customer.customerNumber": "m1", **rights_driver()},
    )
    assert [(o.queue_name, o.customer_number) for o in outputs] == [
        ("PrintPDF", "m1"),
        ("EmailHTML", "m1"),
    ]
    assert base64.b64encode(outputs[0].content)


def test_preview_for_another_imprint_is_refused(exstream, imprint_b, rights_manager):
    from django.core.exceptions import PermissionDenied

    exstream_catalogue_sync(actor=None, domains=["production"])
    comm = ExstreamCommunication.objects.get(domain="production", name=RIGHTS)
    with pytest.raises(PermissionDenied):
        preview_generate(
            actor=rights_manager,
            exstream_communication=comm,
            driver_data=rights_driver(),
            imprint=imprint_b,
        )
    assert PreviewOutput.objects.count() == 0
