"""XML driver data in the sandbox: the XML driver sample a designer may upload, and XML bodies
read back into the nested records the rest of the sandbox works on.

Reference §4 documents ``Content-Type: application/xml`` for on-demand generation, with the body
shaped like the communication's driver sample; Appendix A says the sample is "typically JSON or
XML" and that on-demand and batch bodies follow its shape. Bodies are parsed with defusedxml (no
DTDs, no entities, no external references).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from sandbox.exstream.catalogue import driver_sample

# The root element of the sandbox designs' XML driver samples (a designer's choice; Colophon
# reads it from the sample and must send records under it).
XML_ROOT = "driverData"

XML_TYPES = ("application/xml", "text/xml")


class DriverDataError(ValueError):
    """The body could not be read as driver data; the message says why."""


def is_xml(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in XML_TYPES or media.endswith("+xml")


def _array_fields(driver_fields: list[dict]) -> set[str]:
    return {str(f["name"]) for f in driver_fields if f.get("type") == "array"}


def _to_xml(parent: Element, value: dict[str, Any], prefix: str, arrays: set[str]) -> None:
    for key, child in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, dict):
            _to_xml(SubElement(parent, key), child, path, arrays)
        elif path in arrays:  # a list shows as a repeated element
            for _ in range(2):
                SubElement(parent, key).text = str(child)
        else:
            SubElement(parent, key).text = str(child)


def sample_xml(driver_fields: list[dict]) -> bytes:
    """The XML driver sample: the JSON sample's fields under ``XML_ROOT``."""
    root = Element(XML_ROOT)
    _to_xml(root, driver_sample(driver_fields), "", _array_fields(driver_fields))
    return tostring(root, encoding="utf-8", xml_declaration=True)


def parse_xml(body: bytes) -> Element:
    if not body.strip():
        raise DriverDataError("The driver data is empty.")
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DriverDataError(
            f"The XML driver data declares a DTD or entities; refused ({exc})."
        ) from exc
    except ParseError as exc:
        raise DriverDataError(f"The driver data is not well-formed XML: {exc}.") from exc


def _node(element: Element, prefix: str, arrays: set[str]) -> dict[str, Any]:
    grouped: dict[str, list[Element]] = {}
    for child in element:
        grouped.setdefault(child.tag, []).append(child)
    out: dict[str, Any] = {}
    for tag, children in grouped.items():
        path = f"{prefix}.{tag}" if prefix else tag
        values = [_node(c, path, arrays) if len(c) else (c.text or "") for c in children]
        # A repeated element is a list; so is a single one where the design has an array.
        out[tag] = values if len(values) > 1 or path in arrays else values[0]
    return out


def xml_record(element: Element, driver_fields: list[dict]) -> dict[str, Any]:
    """One record (an element rooted as the sample) as nested data, like a JSON body."""
    if element.tag != XML_ROOT:
        raise DriverDataError(
            f"The XML driver data's root element is <{element.tag}>; the driver sample's is "
            f"<{XML_ROOT}>."
        )
    return _node(element, "", _array_fields(driver_fields))
