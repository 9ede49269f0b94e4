"""Normalized status events: what every Exstream source (runtime delivery files, pulled CXI
e-mail events, pushed webhook events) is turned into before it reaches the status sink."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

SUBMITTED = "submitted"
GENERATED = "generated"
DELIVERED = "delivered"
OPENED = "opened"
NOT_DELIVERED = "not_delivered"
BOUNCED = "bounced"
FAILED = "failed"
STATUSES = (SUBMITTED, GENERATED, DELIVERED, OPENED, NOT_DELIVERED, BOUNCED, FAILED)

# Sources
SOURCE_RUNTIME = "exstream-runtime"
SOURCE_EMAIL_PULL = "exstream-email"
SOURCE_WEBHOOK = "exstream-webhook"


@dataclass(frozen=True)
class StatusEvent:
    message_key: str  # Colophon message id = Exstream customer key
    status: str  # one of STATUSES
    occurred_at: datetime.datetime
    source: str
    external_event_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Unknown message status {self.status!r}.")


# CXI e-mail eventType strings (pull) and the tail of Exstream-Email-<status> schemaTypes (push).
EMAIL_EVENT_STATUS = {
    "SUBMIT": SUBMITTED,
    "POST": DELIVERED,
    "DLVR": DELIVERED,
    "DELIVERED": DELIVERED,
    "OPEN": OPENED,
    "NDLV": NOT_DELIVERED,
    "BOUNCE": BOUNCED,
    "BNCE": BOUNCED,
    "FAIL": FAILED,
    "FAILED": FAILED,
}


def status_for_schema_type(schema_type: str) -> str | None:
    """Map a CXI ``schemaType`` to a message status; None when we do not know it.

    ``Exstream-Generated`` → generated; ``Exstream-Email-<X>`` → by X; ``Exstream-<ch>-Failed``
    → failed; any other ``Exstream-<channel>`` → delivered (written to that channel)."""
    if not schema_type.startswith("Exstream-"):
        return None
    rest = schema_type[len("Exstream-") :]
    if rest == "Generated":
        return GENERATED
    if rest.startswith("Email-"):
        return EMAIL_EVENT_STATUS.get(rest[len("Email-") :].upper())
    if rest.endswith("-Failed"):
        return FAILED
    if rest and "-" not in rest:
        return DELIVERED
    return None


def from_epoch_ms(value: Any) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
