"""A communication's driver sample, and driver bodies shaped like it.

What a communication expects is its driver sample file: a DAS resource of type ``samplefile``
linked to the communication, read with ``GET /design/api/v1/resources/{domain}/{id}/content``
(reference Appendix A). The content is whatever the designer uploaded, typically JSON or XML.

* ``sample_fields`` lists its fields as dotted paths (``customer.customerNumber``), one per
  scalar leaf; a list becomes one field of type ``list`` at its path (its items follow the
  sample's first item). The sample says nothing about which fields are required, so every field
  is listed with ``required: True`` ("the design reads it"); a template may declare some optional.
* ``encode_driver`` turns Colophon's flat mapping result (dotted keys) into the body Exstream
  expects: nested JSON objects as in the sample, or an XML document with the sample's root
  element when the sample is XML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

JSON = "json"
XML = "xml"
MAX_SAMPLE_BYTES = 2 * 1024 * 1024

# Leaf names that usually key a customer in a design, best first (compared without case,
# '_' or '-'). Used only to propose a default; the template records the real choice.
CUSTOMER_KEY_NAMES = ("customernumber", "customerkey", "customerid", "accountnumber")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class DriverSampleError(ValueError):
    """The driver sample could not be read; the message says why."""


@dataclass(frozen=True)
class DriverSample:
    format: str  # JSON or XML
    root: str  # the XML root element ("" for JSON)
    fields: list[dict[str, Any]]


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "decimal"
    if isinstance(value, str) and _DATE.match(value):
        return "date"
    return "string"


def _json_fields(value: Any, prefix: str, out: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _json_fields(child, f"{prefix}.{key}" if prefix else str(key), out)
        return
    if not prefix:
        return
    if isinstance(value, list):
        out.append({"name": prefix, "type": "list", "required": True, "sample": value[:1]})
        return
    sample = "" if value is None else value
    out.append({"name": prefix, "type": _type_of(value), "required": True, "sample": sample})


def _xml_fields(element: Element, prefix: str, out: list[dict[str, Any]]) -> None:
    children = list(element)
    seen: dict[str, int] = {}
    for child in children:
        seen[child.tag] = seen.get(child.tag, 0) + 1
    done: set[str] = set()
    for child in children:
        if child.tag in done:
            continue
        done.add(child.tag)
        path = f"{prefix}.{child.tag}" if prefix else child.tag
        if seen[child.tag] > 1:
            out.append({"name": path, "type": "list", "required": True, "sample": []})
        elif len(child):
            _xml_fields(child, path, out)
        else:
            text = (child.text or "").strip()
            out.append({"name": path, "type": _type_of(text), "required": True, "sample": text})


def parse_sample(content: bytes | str) -> DriverSample:
    """Fields of a JSON or XML driver sample. Raises ``DriverSampleError``."""
    data = content.encode() if isinstance(content, str) else content
    if len(data) > MAX_SAMPLE_BYTES:
        raise DriverSampleError("The driver sample is larger than 2 MiB; not read.")
    text = data.lstrip(b"\xef\xbb\xbf").strip()
    if not text:
        raise DriverSampleError("The driver sample is empty.")
    if text[:1] in (b"{", b"["):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise DriverSampleError(f"The driver sample is not valid JSON: {exc}.") from exc
        if isinstance(parsed, list):  # a sample of several records: the first shows the shape
            parsed = parsed[0] if parsed and isinstance(parsed[0], dict) else {}
        fields: list[dict[str, Any]] = []
        _json_fields(parsed, "", fields)
        if not fields:
            raise DriverSampleError("The JSON driver sample has no fields.")
        return DriverSample(format=JSON, root="", fields=fields)
    if text[:1] == b"<":
        try:
            root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            raise DriverSampleError(
                f"The XML driver sample declares a DTD or entities; refused ({exc})."
            ) from exc
        except ParseError as exc:
            raise DriverSampleError(f"The driver sample is not well-formed XML: {exc}.") from exc
        fields = []
        _xml_fields(root, "", fields)
        if not fields:
            raise DriverSampleError("The XML driver sample has no fields.")
        return DriverSample(format=XML, root=root.tag, fields=fields)
    raise DriverSampleError("The driver sample is neither JSON nor XML.")


def _normal(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def default_customer_key(field_names: list[str]) -> str:
    """A customer-number-like field of the sample (the leaf name decides), or ''."""
    for wanted in CUSTOMER_KEY_NAMES:
        for name in field_names:
            if _normal(name.rsplit(".", 1)[-1]) == wanted:
                return name
    return ""


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"customer.name": x}`` → ``{"customer": {"name": x}}``. Keys without dots stay; a
    nested dict value is merged as is."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        leaf = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf].update(value)
        else:
            node[leaf] = value
    return out


def with_customer_key(flat: dict[str, Any], key_field: str, message_key: str) -> dict[str, Any]:
    """The flat driver data with Colophon's message key written at the design's customer-key
    field. Without a customer-key field the data is returned unchanged (setup reports that as
    an incomplete mapping, so such a template never sends)."""
    data = dict(flat)
    if key_field and message_key:
        data[key_field] = message_key
    return data


class EncodedRecord(Mapping[str, Any]):
    """One batch record as stored: the flat driver data's JSON text and the message key for
    the customer-key field. Read as a mapping it is ``with_customer_key(flat, key_field,
    key)`` (decoded on first use only). ``wire`` is the JSON object text sent in a JSON batch
    when the stored text already is the wire form (no dotted driver field to nest, no driver
    field at the key's place; see ``wire_prefix``): then the record is never decoded and
    re-encoded on the way out."""

    __slots__ = ("_data", "flat_json", "key", "key_field", "wire")

    def __init__(self, flat_json: str, key_field: str, key: str, wire: str | None = None):
        self.flat_json = flat_json
        self.key_field = key_field
        self.key = key
        self.wire = wire
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = with_customer_key(json.loads(self.flat_json), self.key_field, self.key)
        return self._data

    def __getitem__(self, name: str) -> Any:
        return self._decoded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


def wire_prefix(driver_fields: list[str], key_field: str) -> str | None:
    """For a JSON batch: the text that, put in front of a stored flat record's JSON object
    (after its ``{``), gives the record as it goes on the wire (nested, with the key), with
    ``%s`` where the JSON-encoded key goes; None when the stored form is not the wire form (a
    dotted driver field needs nesting, or a driver field sits where the key goes)."""
    if not key_field or any("." in name for name in driver_fields):
        return None
    top = key_field.split(".", 1)[0]
    if top in driver_fields:
        return None
    placeholder = "\u0000KEY\u0000"
    text = json.dumps(nest({key_field: placeholder}), separators=(",", ":"))
    encoded_placeholder = json.dumps(placeholder)
    if text.count(encoded_placeholder) != 1:
        return None
    return text[:-1].replace("%", "%%").replace(encoded_placeholder, "%s")


def wire_record(prefix: str, key: str, flat_json: str) -> str | None:
    """The wire form of a stored flat record (see ``wire_prefix``); None if the stored text
    is not a JSON object."""
    body = flat_json.strip()
    if body[:1] != "{" or body[-1:] != "}":
        return None
    head = prefix % encode_basestring_ascii(key)  # == json.dumps(key), without its set-up
    rest = body[1:].lstrip()
    return head + "}" if rest == "}" else head + "," + rest


def record_key(record: dict[str, Any], key_field: str) -> str:
    """The customer key of a record, flat (dotted keys) or nested."""
    if not key_field:
        return ""
    if key_field in record:
        return str(record[key_field] or "")
    node: Any = record
    for part in key_field.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    return "" if node is None else str(node)


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_xml(parent: Element, value: Any) -> None:
    for key, child in value.items():
        if isinstance(child, list):
            for item in child:
                el = SubElement(parent, key)
                if isinstance(item, dict):
                    _to_xml(el, item)
                else:
                    el.text = _xml_text(item)
        elif isinstance(child, dict):
            _to_xml(SubElement(parent, key), child)
        else:
            SubElement(parent, key).text = _xml_text(child)


def xml_record(flat: dict[str, Any], root: str) -> Element:
    element = Element(root or "driver")
    _to_xml(element, nest(flat))
    return element


def encode_driver(flat: dict[str, Any], *, format: str = JSON, root: str = "") -> tuple[bytes, str]:
    """The request body and its Content-Type for one record shaped like the sample."""
    if format == XML:
        body = tostring(xml_record(flat, root), encoding="utf-8", xml_declaration=True)
        return body, "application/xml"
    return json.dumps(nest(flat)).encode(), "application/json"
