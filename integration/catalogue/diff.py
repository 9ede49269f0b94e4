"""Field-level differences between two versions of a mirrored record, as change events
(price, date, status, stage, availability …), and the outcome counts a mirror run reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from integration.models import (
    ChangeEvent,
)

logger = logging.getLogger(__name__)


Kind = ChangeEvent.Kind


WORK_FIELDS = {
    "title": "title",
    "subtitle": "subtitle",
    "in_house_reference": "in_house_reference",
    "work_type": "work_type",
    "project_stage": "project_stage",
    "season": "season",
    "marketing_tier": "marketing_tier",
    "audience": "audience",
    "contributor_list": "contributor_list",
}


PRODUCT_FIELDS = [
    "isbn13",
    "full_title",
    "product_form",
    "product_form_description",
    "publication_date",
    "planned_publication_date",
    "publishing_status",
    "availability",
]


PRODUCT_EVENT_KINDS = {
    "publication_date": Kind.PUBLICATION_DATE,
    "publishing_status": Kind.PUBLISHING_STATUS,
    "availability": Kind.AVAILABILITY,
}


CONTRACT_FIELDS = [
    "name",
    "signed_date",
    "term_months",
    "terminated_date",
    "ms_delivery_date",
    "pub_before_date",
    "review_date",
]


@dataclass
class Outcome:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    work_ids: set[int] = field(default_factory=set)

    def add(self, other: Outcome) -> None:
        self.seen += other.seen
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.work_ids |= other.work_ids

    def fail(self, record_type: str, record_id: Any, message: str) -> None:
        self.failed += 1
        self.errors.append({"type": record_type, "id": record_id, "error": message[:500]})


@dataclass
class EventSpec:
    kind: str
    field: str
    old: Any
    new: Any
    product_id: int | None = None  # Consonance product id


def _price_key(p: dict[str, Any]) -> str:
    return " ".join(x for x in (p["currency"], p["type"], p["qualifier"], p["territory"]) if x)


def diff_work(old: dict[str, Any], new: dict[str, Any]) -> list[EventSpec]:
    """Field-level differences between two versions of a work document."""
    events: list[EventSpec] = []
    for key in WORK_FIELDS:
        if old.get(key) != new.get(key):
            kind = Kind.PROJECT_STAGE if key == "project_stage" else Kind.METADATA
            events.append(EventSpec(kind, key, old.get(key), new.get(key)))
    if (old.get("imprint") or {}).get("name") != (new.get("imprint") or {}).get("name"):
        events.append(
            EventSpec(Kind.METADATA, "imprint", old["imprint"]["name"], new["imprint"]["name"])
        )
    old_products = {p["id"]: p for p in old.get("products", [])}
    for product in new.get("products", []):
        pid = product["id"]
        before = old_products.pop(pid, None)
        if before is None:
            events.append(EventSpec(Kind.CREATED, "product", None, product["isbn13"], pid))
            continue
        for key in [*PRODUCT_FIELDS, "for_sale", "not_for_sale"]:
            if before.get(key) != product.get(key):
                kind = PRODUCT_EVENT_KINDS.get(key, Kind.METADATA)
                events.append(EventSpec(kind, key, before.get(key), product.get(key), pid))
        old_prices = {_price_key(p): p for p in before.get("prices", [])}
        for price in product.get("prices", []):
            key = _price_key(price)
            was = old_prices.pop(key, None)
            if was is None or was["amount"] != price["amount"]:
                events.append(
                    EventSpec(Kind.PRICE, key, was["amount"] if was else None, price["amount"], pid)
                )
            elif (was.get("from"), was.get("to")) != (price.get("from"), price.get("to")):
                events.append(
                    EventSpec(
                        Kind.PRICE,
                        f"{key} dates",
                        [was["from"], was["to"]],
                        [price["from"], price["to"]],
                        pid,
                    )
                )
        for key, was in old_prices.items():
            events.append(EventSpec(Kind.PRICE, key, was["amount"], None, pid))
    for pid, gone in old_products.items():
        events.append(EventSpec(Kind.WITHDRAWN, "product", gone["isbn13"], None, pid))

    def people(doc: dict[str, Any]) -> list[list[Any]]:
        return [[c["contact"]["name"], c["role"], c["sequence"]] for c in doc["contributions"]]

    if people(old) != people(new):
        events.append(EventSpec(Kind.METADATA, "contributors", people(old), people(new)))
    for key in ("marketing_texts", "resources"):
        if old.get(key) != new.get(key):
            events.append(EventSpec(Kind.METADATA, key, None, len(new.get(key, []))))
    return events


def diff_contract(old: dict[str, Any], new: dict[str, Any]) -> list[EventSpec]:
    events: list[EventSpec] = []
    for key in CONTRACT_FIELDS:
        if old.get(key) != new.get(key):
            events.append(EventSpec(Kind.METADATA, f"contract.{key}", old.get(key), new.get(key)))
    old_rights = {r["id"]: r for r in old.get("rights", [])}
    for right in new.get("rights", []):
        if old_rights.pop(right["id"], None) is None:
            label = {"right_type": right["right_type"], "territory": right["territory"]}
            events.append(EventSpec(Kind.LICENSED_RIGHT_ADDED, "licensed_right", None, label))
    for right in old_rights.values():
        label = {"right_type": right["right_type"], "territory": right["territory"]}
        events.append(EventSpec(Kind.LICENSED_RIGHT_ENDED, "licensed_right", label, None))
    old_deliveries = {d["id"]: d for d in old.get("deliveries", [])}
    for delivery in new.get("deliveries", []):
        before = old_deliveries.get(delivery["id"])
        if before is None:
            continue
        was = before["slipped"] or before["due"]
        now = delivery["slipped"] or delivery["due"]
        if was != now:
            events.append(
                EventSpec(Kind.DELIVERY_DATE_SLIPPED, f"delivery:{delivery['type']}", was, now)
            )
    if old.get("gratis") != new.get("gratis"):
        events.append(EventSpec(Kind.METADATA, "gratis_copies", None, len(new.get("gratis", []))))
    return events
