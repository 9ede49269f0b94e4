"""Parsing ``_STDDELIVERYFILE.xml`` safely (defusedxml: no DTDs, no entities, no external
resources) into per-customer outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DELIVERY_FILE_BYTES = 20 * 1024 * 1024


class DeliveryFileError(ValueError):
    """The delivery file could not be read; the message says why."""


@dataclass
class DeliveryOutcome:
    delivered: dict[str, list[str]] = field(default_factory=dict)  # customer key -> queues
    failed: dict[str, str] = field(default_factory=dict)  # customer key -> reason
    customers_processed: int | None = None
    pages_processed: int | None = None
    report_files: list[str] = field(default_factory=list)


def _key(customer: Element, key_name: str) -> str:
    keys = customer.findall("key")
    for key in keys:
        if key.get("name") == key_name:
            return (key.text or "").strip()
    return (keys[0].text or "").strip() if keys else ""


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_delivery_file(data: bytes, *, key_name: str = "customerKey") -> DeliveryOutcome:
    """Each ``<customer>`` with a key is delivered to its ``<queueName>``s; each
    ``<failedCustomer>`` (the sandbox's element for engine-rejected recipients) is failed."""
    if len(data) > MAX_DELIVERY_FILE_BYTES:
        raise DeliveryFileError("The delivery file is larger than 20 MiB; not parsed.")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DeliveryFileError(
            f"The delivery file declares a DTD or entities, which we refuse to read ({exc})."
        ) from exc
    except ParseError as exc:
        raise DeliveryFileError(f"The delivery file is not well-formed XML: {exc}.") from exc
    if root.tag != "outputList":
        raise DeliveryFileError(f"Expected <outputList> as the root element, found <{root.tag}>.")
    outcome = DeliveryOutcome(
        customers_processed=_int(root.get("customersProcessed")),
        pages_processed=_int(root.get("pagesProcessed")),
    )
    for customer in root.iter("customer"):
        key = _key(customer, key_name)
        if key:
            outcome.delivered[key] = [(q.text or "").strip() for q in customer.findall("queueName")]
    for customer in root.iter("failedCustomer"):
        key = _key(customer, key_name)
        if key:
            outcome.delivered.pop(key, None)
            outcome.failed[key] = (customer.findtext("reason") or "failed").strip()
    outcome.report_files = [r.get("name", "") for r in root.iter("reportFile")]
    return outcome
