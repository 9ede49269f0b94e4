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
from integration.models.exstream import (
    EventCursor,
    ExstreamCommunication,
    ExstreamJob,
    InboundEvent,
    MessageStatusEvent,
    PreviewOutput,
)
from integration.models.operations import WorkerHeartbeat

__all__ = [
    "ChangeEvent",
    "Contact",
    "Contract",
    "Contribution",
    "DeliveryDate",
    "EventCursor",
    "ExstreamCommunication",
    "ExstreamJob",
    "GratisCopy",
    "InboundEvent",
    "LicensedRight",
    "MarketingText",
    "MessageStatusEvent",
    "PreviewOutput",
    "Price",
    "Product",
    "RoyaltyImport",
    "RoyaltyLine",
    "SupportingResource",
    "SyncRun",
    "Work",
    "WorkerHeartbeat",
]
