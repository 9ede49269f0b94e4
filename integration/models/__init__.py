"""Integration models, one module per area; import them here so Django sees them."""

from integration.models.catalogue import (
    ChangeEvent,
    Contact,
    Contract,
    Contribution,
    DeliveryDate,
    GratisCopy,
    LicensedRight,
    MarketingText,
    Price,
    Product,
    RoyaltyImport,
    RoyaltyLine,
    SupportingResource,
    SyncRun,
    Work,
)
from integration.models.exstream import ExstreamCommunication
from integration.models.operations import OutboxAttempt, OutboxItem, WorkerHeartbeat

__all__ = [
    "ChangeEvent",
    "Contact",
    "Contract",
    "Contribution",
    "DeliveryDate",
    "ExstreamCommunication",
    "GratisCopy",
    "LicensedRight",
    "MarketingText",
    "OutboxAttempt",
    "OutboxItem",
    "Price",
    "Product",
    "RoyaltyImport",
    "RoyaltyLine",
    "SupportingResource",
    "SyncRun",
    "Work",
    "WorkerHeartbeat",
]
