"""Seeding and simulated changes for the sandbox Consonance."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from sandbox.consonance.generator import generate
from sandbox.models import SandboxContact, SandboxContract, SandboxProduct, SandboxWork

BATCH = 2000


def _stale() -> bool:
    """Data seeded before the sandbox served the documented schema (issue 11): string price ids,
    a contract ``client`` that was a contact. Such data cannot be served any more: reseed it."""
    contract = SandboxContract.objects.order_by("id").first()
    product = SandboxProduct.objects.order_by("id").first()
    if contract is not None and "__typename" in (contract.data.get("client") or {}):
        return True
    prices = (product.data.get("prices") or []) if product is not None else []
    return any(not isinstance(p.get("id"), int) for p in prices)


def seed(*, works: int = 60, reset: bool = False) -> dict[str, int]:
    """Load the deterministic data set. Idempotent: when the sandbox already holds exactly this
    many works it is left alone (so changes simulated since survive), unless ``reset``."""
    if not reset and SandboxWork.objects.count() == works and not _stale():
        return {"works": works, "products": SandboxProduct.objects.count(), "created": 0}
    data = generate(works=works)
    today = timezone.localdate()
    with transaction.atomic():
        SandboxContract.objects.all().delete()
        SandboxProduct.objects.all().delete()
        SandboxWork.objects.all().delete()
        SandboxContact.objects.all().delete()
        SandboxContact.objects.bulk_create(
            [SandboxContact(id=c["id"], data=c, changed_on=today) for c in data.contacts],
            batch_size=BATCH,
        )
        SandboxWork.objects.bulk_create(
            [
                SandboxWork(id=w["id"], data=w, imprint_id=w["imprint"]["id"], changed_on=today)
                for w in data.works
            ],
            batch_size=BATCH,
        )
        SandboxProduct.objects.bulk_create(
            [
                SandboxProduct(id=p["id"], work_id=wid, data=p, changed_on=today)
                for wid, products in data.products.items()
                for p in products
            ],
            batch_size=BATCH,
        )
        SandboxContract.objects.bulk_create(
            [
                SandboxContract(id=c["id"], work_id=c["work"]["id"], data=c, changed_on=today)
                for c in data.contracts
            ],
            batch_size=BATCH,
        )
    return {
        "works": len(data.works),
        "products": sum(len(p) for p in data.products.values()),
        "created": 1,
    }


def _touch_work(work_id: int, when: datetime.date | None = None) -> None:
    SandboxWork.objects.filter(pk=work_id).update(changed_on=when or timezone.localdate())


def save_product(product: SandboxProduct, when: datetime.date | None = None) -> None:
    product.changed_on = when or timezone.localdate()
    product.save()
    _touch_work(product.work_id, when)


def save_contract(contract: SandboxContract, when: datetime.date | None = None) -> None:
    contract.changed_on = when or timezone.localdate()
    contract.save()
    if contract.work_id:
        _touch_work(contract.work_id, when)


def change_price(
    product_id: int, *, currency: str = "GBP", amount: Decimal | float | None = None
) -> dict[str, Any]:
    product = SandboxProduct.objects.get(pk=product_id)
    for price in product.data["prices"]:
        if price["currencyCode"] == currency:
            new = float(amount) if amount is not None else round(price["amount"] + 1.0, 2)
            price["amount"] = new
            price["amountWithCurrencyCode"] = f"{new:.2f} {currency}"
            save_product(product)
            return price
    raise ValueError(f"Product {product_id} has no {currency} price.")


def slip_publication_date(product_id: int, *, days: int = 30) -> str:
    product = SandboxProduct.objects.get(pk=product_id)
    old = datetime.date.fromisoformat(product.data["publicationDate"])
    product.data["publicationDate"] = (old + datetime.timedelta(days=days)).isoformat()
    save_product(product)
    return str(product.data["publicationDate"])


def slip_delivery_date(contract_id: int, *, days: int = 30) -> str:
    contract = SandboxContract.objects.get(pk=contract_id)
    delivery = contract.data["deliveryDates"][0]
    base = datetime.date.fromisoformat(delivery["slippedDate"] or delivery["dateDue"])
    delivery["slippedDate"] = (base + datetime.timedelta(days=days)).isoformat()
    save_contract(contract)
    return str(delivery["slippedDate"])


def change_stage(work_id: int, *, stage: str = "Production") -> str:
    work = SandboxWork.objects.get(pk=work_id)
    work.data["projectStage"] = stage
    work.changed_on = timezone.localdate()
    work.save()
    return stage


def add_licensed_right(
    contract_id: int, *, right_type: str = "Audio", territory: str = "WORLD"
) -> dict[str, Any]:
    contract = SandboxContract.objects.get(pk=contract_id)
    rights = contract.data["licensedRights"]
    new_id = max([r["id"] for r in rights] + [contract_id * 10]) + 1
    right = {"id": new_id, "rightType": right_type, "territory": territory, "authorCut": 50.0}
    rights.append(right)
    save_contract(contract)
    return right


def remove_product(product_id: int) -> None:
    product = SandboxProduct.objects.get(pk=product_id)
    work_id = product.work_id
    product.delete()
    _touch_work(work_id)
