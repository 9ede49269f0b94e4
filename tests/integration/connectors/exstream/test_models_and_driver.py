"""Typed models of the documented Exstream objects, driver samples and driver bodies, and
delivery-file failure markers. Pure: no HTTP, no database."""

from __future__ import annotations

import json
from xml.etree.ElementTree import fromstring

import pytest

from integration.connectors.exstream import models as m
from integration.connectors.exstream.delivery import DeliveryFileError, parse_delivery_file
from integration.connectors.exstream.driver import (
    DriverSampleError,
    default_customer_key,
    encode_driver,
    parse_sample,
    with_customer_key,
)

# --- models ---------------------------------------------------------------------------------


def test_link_is_read_in_the_documented_shape_and_keeps_extras():
    link = m.Link.parse(
        {
            "linkSubjectId": "c-1",
            "subjectVersion": 3,
            "linkObjectId": "set-1",
            "typeId": "exstrcommunicationset",
            "somethingNew": True,
        }
    )
    assert (link.link_object_id, link.type_id, link.subject_version) == (
        "set-1",
        "exstrcommunicationset",
        3,
    )
    assert link.raw["somethingNew"] is True


def test_the_old_guessed_link_shape_is_a_clear_contract_error():
    with pytest.raises(m.ContractError, match="link is missing the required field 'linkSubjectId'"):
        m.Link.parse({"id": "set-1", "type": "exstrcommunicationset"})


def test_driver_data_source_is_the_entry_typed_driver_not_the_first():
    manifest = m.Manifest.parse(
        {
            "dsnlist": [
                {"name": "Ref", "prodDsn": "RefDsn", "resourceId": "r", "type": "reference"},
                {"name": "Drv", "prodDsn": "DriverDsn", "resourceId": "d", "type": "driver"},
            ],
            "queueList": [{"driver": "PDF", "name": "Print", "prodFile": "a.pdf", "use": "print"}],
        }
    )
    assert manifest.driver().prod_dsn == "DriverDsn"
    assert manifest.queue_list[0].as_dict()["driver"] == "PDF"


def test_a_manifest_without_a_driver_entry_says_so():
    manifest = m.Manifest.parse(
        {"status": "success", "data": {"dsnlist": [{"prodDsn": "Ref", "type": "reference"}]}}
    )
    with pytest.raises(m.NoDriverDataSource, match="no data source of type 'driver'"):
        manifest.driver()


def test_unknown_enum_values_are_kept_raw():
    job = m.Job.parse({"id": "j", "status": "quarantined", "mode": "STREAM"})
    step = m.FlowStep.parse({"id": "s", "status": "paused", "stepType": "robot"})
    assert job.status == "quarantined" and not job.status_known
    assert step.status == "paused" and not step.status_known
    assert m.Job.parse({"id": "j", "status": "complete"}).status_known


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (m.Job, {"status": "complete"}, "id"),
        (m.FlowInstance, {"jobId": "j"}, "id"),
        (m.FlowStep, {"status": "complete"}, "id"),
        (m.Domain, {"production": True}, "id"),
        (m.ResourceVersion, {"name": "x"}, "id"),
        (m.DataSource, {"name": "x", "type": "driver"}, "prodDsn"),
        (m.Queue, {"driver": "PDF"}, "name"),
        (m.EmailEvent, {"eventType": "OPEN"}, "eventId"),
        (m.TokenResponse, {"expires_in": 900}, "access_token"),
    ],
)
def test_missing_required_fields_are_named(model, data, field):
    with pytest.raises(m.ContractError, match=f"'{field}'"):
        model.parse(data)


def test_engine_error_items_and_outputs():
    ok = m.EngineOutput.parse(
        {"content": "JVBERg==", "mimeType": "application/pdf", "engineOutputContext": {}}
    )
    bad = m.EngineOutput.parse({"errorMessage": "boom", "statusCode": "500"})
    assert ok.mime_type == "application/pdf" and not ok.error_message
    assert bad.error_message == "boom"
    with pytest.raises(m.ContractError, match="'content'"):
        m.EngineOutput.parse({"mimeType": "application/pdf"})


# --- driver samples ---------------------------------------------------------------------------

JSON_SAMPLE = json.dumps(
    {
        "customer": {"customerNumber": "C-1", "name": "Ada", "address": {"city": "Leeds"}},
        "work": {"title": "Tides", "publicationDate": "2026-09-01"},
        "lines": [{"isbn": "978", "units": 3}],
        "amountDue": 12.5,
    }
)
XML_SAMPLE = b"""<?xml version="1.0"?>
<statement><customer><accountNumber>A-1</accountNumber><name>Ada</name></customer>
<period>2026-06-30</period><line>1</line><line>2</line></statement>"""


def test_json_sample_fields_are_nested_paths():
    sample = parse_sample(JSON_SAMPLE)
    fields = {f["name"]: f for f in sample.fields}
    assert sample.format == "json"
    assert set(fields) == {
        "customer.customerNumber",
        "customer.name",
        "customer.address.city",
        "work.title",
        "work.publicationDate",
        "lines",
        "amountDue",
    }
    assert fields["lines"]["type"] == "list" and fields["work.publicationDate"]["type"] == "date"
    assert all(f["required"] for f in sample.fields)
    assert default_customer_key(list(fields)) == "customer.customerNumber"


def test_xml_sample_fields_and_root():
    sample = parse_sample(XML_SAMPLE)
    names = [f["name"] for f in sample.fields]
    assert (sample.format, sample.root) == ("xml", "statement")
    assert names == ["customer.accountNumber", "customer.name", "period", "line"]
    assert default_customer_key(names) == "customer.accountNumber"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"<a><b>", "not well-formed"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "DTD or entities"),
        (b"plain text", "neither JSON nor XML"),
        (b"{}", "no fields"),
    ],
)
def test_unreadable_samples_say_why(content, message):
    with pytest.raises(DriverSampleError, match=message):
        parse_sample(content)


def test_body_is_nested_as_the_sample_with_the_key_at_the_customer_field():
    flat = with_customer_key(
        {"customer.name": "Ada", "work.title": "Tides"}, "customer.customerNumber", "msg-1"
    )
    body, content_type = encode_driver(flat)
    assert content_type == "application/json"
    assert json.loads(body) == {
        "customer": {"name": "Ada", "customerNumber": "msg-1"},
        "work": {"title": "Tides"},
    }


def test_xml_body_uses_the_sample_root():
    body, content_type = encode_driver(
        {"customer.accountNumber": "msg-1", "line": ["a", "b"]}, format="xml", root="statement"
    )
    root = fromstring(body)
    assert content_type == "application/xml"
    assert root.tag == "statement"
    assert root.findtext("customer/accountNumber") == "msg-1"
    assert [e.text for e in root.findall("line")] == ["a", "b"]


# --- delivery files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "customer",
    [
        '<failedCustomer><key name="customerNumber">k2</key><reason>rejected</reason>'
        "</failedCustomer>",
        '<customer status="failed"><key name="customerNumber">k2</key></customer>',
        '<customer state="ERROR"><key name="customerNumber">k2</key></customer>',
        '<customer failed="true"><key name="customerNumber">k2</key></customer>',
        '<customer><key name="customerNumber">k2</key><status>rejected</status></customer>',
        '<customer><key name="customerNumber">k2</key><errorMessage>bad address</errorMessage>'
        "</customer>",
        '<customer><key name="customerNumber">k2</key><error code="E1"/></customer>',
    ],
)
def test_every_failure_marker_form_fails_the_customer(customer):
    xml = (
        '<outputList><customer><key name="customerNumber">k1</key><queueName>Q</queueName>'
        f"</customer>{customer}</outputList>"
    ).encode()
    outcome = parse_delivery_file(xml, key_name="customer.customerNumber")
    assert set(outcome.delivered) == {"k1"}
    assert set(outcome.failed) == {"k2"}


def test_customers_are_matched_on_the_design_key_or_by_value():
    xml = (
        b'<outputList><customer><key name="accountNumber">A-9</key>'
        b'<key name="customerNumber">k1</key></customer>'
        b'<customer><key name="acct">X</key><key name="ref">k2</key></customer></outputList>'
    )
    outcome = parse_delivery_file(xml, key_name="customer.customerNumber", known_keys=["k2"])
    assert set(outcome.delivered) == {"k1", "k2"}


def test_a_customer_without_a_readable_key_makes_the_file_unparsed():
    xml = (
        b'<outputList><customer><key name="a">1</key><key name="b">2</key></customer></outputList>'
    )
    with pytest.raises(DeliveryFileError, match="no key Colophon can read"):
        parse_delivery_file(xml, key_name="customer.customerNumber")
