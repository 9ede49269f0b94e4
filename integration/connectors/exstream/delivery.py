"""Parsing ``_STDDELIVERYFILE.xml`` safely (defusedxml: no DTDs, no entities, no external
resources) into per-customer outcomes.

Documented (reference §6, client code): ``<outputList customersProcessed pagesProcessed>``,
per-customer ``<customer>`` elements holding ``<key name="…">value</key>`` and one or more
``<queueName>``, and ``<reportFile dataFile="Error_Report" name="…"/>``. The full schema is
not published, so per-customer failure is honoured in every form documented or observed:

* a ``<failedCustomer>`` element (observed);
* a ``<customer>`` whose ``status``, ``state`` or ``result`` attribute or child element says
  it failed (error, failed, rejected, …), or that has a ``failed``/``error`` attribute that is
  true, or an ``<error>``/``<errorMessage>``/``<failure>``/``<reason>`` child with text.

Anything Colophon cannot read (not XML, no ``<outputList>`` element, customers without a key) raises
``DeliveryFileError``: the caller records the file as *unparsed* and keeps it; nobody in it
counts as delivered.

Customers are correlated on the design's customer-key field: the ``<key>`` whose name is that
field's last segment (``customer.customerNumber`` → ``customerNumber``), else a key whose value
is one of the job's message keys, else the only key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DELIVERY_FILE_BYTES = 20 * 1024 * 1024

FAILURE_WORDS = frozenset(
    {"error", "errors", "failed", "failure", "fail", "rejected", "undeliverable", "ndlv", "bounced"}
)
SUCCESS_WORDS = frozenset({"", "ok", "success", "successful", "delivered", "complete", "done"})
_REASON_TAGS = ("errorMessage", "error", "failure", "reason", "message")


class DeliveryFileError(ValueError):
    """The delivery file could not be read; the message says why."""


@dataclass
class DeliveryOutcome:
    delivered: dict[str, list[str]] = field(default_factory=dict)  # customer key -> queues
    failed: dict[str, str] = field(default_factory=dict)  # customer key -> reason
    customers_processed: int | None = None
    pages_processed: int | None = None
    report_files: list[str] = field(default_factory=list)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element if _local(c.tag) == name]


def _key(customer: Element, key_name: str, known: set[str]) -> str:
    keys = [((k.get("name") or ""), (k.text or "").strip()) for k in _children(customer, "key")]
    leaf = key_name.rsplit(".", 1)[-1]
    for name, value in keys:
        if value and name in (key_name, leaf):
            return value
    for _name, value in keys:
        if value in known:
            return value
    if len(keys) == 1:
        return keys[0][1]
    return ""


def _failure(customer: Element) -> str | None:
    """Why this <customer> failed, or None when nothing says it did."""
    for attr in ("status", "state", "result", "deliveryStatus"):
        value = (customer.get(attr) or "").strip()
        if value.lower() in FAILURE_WORDS:
            return _reason(customer) or f"{attr}={value}"
    for attr in ("failed", "error"):
        if (customer.get(attr) or "").strip().lower() in ("true", "1", "yes"):
            return _reason(customer) or f"{attr}={customer.get(attr)}"
    for tag in ("status", "state", "result", "deliveryStatus"):
        for child in _children(customer, tag):
            if (child.text or "").strip().lower() in FAILURE_WORDS:
                return _reason(customer) or f"{tag}: {(child.text or '').strip()}"
    for tag in ("error", "errorMessage", "failure"):
        for child in _children(customer, tag):
            if (child.text or "").strip() or child.attrib:
                return _reason(customer) or tag
    return None


def _reason(customer: Element) -> str:
    for tag in _REASON_TAGS:
        for child in _children(customer, tag):
            if (child.text or "").strip():
                return (child.text or "").strip()
    for attr in ("reason", "errorMessage", "message"):
        if customer.get(attr):
            return str(customer.get(attr))
    return ""


def parse_delivery_file(
    data: bytes, *, key_name: str = "", known_keys: Iterable[str] = ()
) -> DeliveryOutcome:
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
    if _local(root.tag) != "outputList":
        # The reference names the <outputList> element, not that it is the root: a wrapper
        # around it is tolerated.
        inner = next((e for e in root.iter() if _local(e.tag) == "outputList"), None)
        if inner is None:
            raise DeliveryFileError(
                f"Expected <outputList> as the root element, found <{_local(root.tag)}>."
            )
        root = inner
    known = set(known_keys)
    outcome = DeliveryOutcome(
        customers_processed=_int(root.get("customersProcessed")),
        pages_processed=_int(root.get("pagesProcessed")),
    )
    unkeyed = 0
    for element in root.iter():
        tag = _local(element.tag)
        if tag not in ("customer", "failedCustomer"):
            continue
        key = _key(element, key_name, known)
        if not key:
            unkeyed += 1
            continue
        if tag == "failedCustomer":
            outcome.delivered.pop(key, None)
            outcome.failed[key] = _reason(element) or "failed"
            continue
        reason = _failure(element)
        if reason is not None:
            outcome.delivered.pop(key, None)
            outcome.failed[key] = reason
        elif key not in outcome.failed:
            queues = [(q.text or "").strip() for q in _children(element, "queueName")]
            outcome.delivered[key] = queues
    if unkeyed:
        raise DeliveryFileError(
            f"{unkeyed} customer element(s) carry no key Colophon can read"
            + (f' (expected <key name="{key_name.rsplit(".", 1)[-1]}">).' if key_name else ".")
        )
    outcome.report_files = [r.get("name", "") for r in root.iter() if _local(r.tag) == "reportFile"]
    return outcome
