"""THE one place normalized Exstream status events go.

Every source (runtime polling with delivery-file outcomes, pulled e-mail events, the signed push
webhook) hands its ``StatusEvent`` objects here. They are applied by
``integration.status.apply.message_status_apply``: each event is stored once in
``MessageEvent`` (unique on source + external event id, the raw/dedupe layer and the history),
and each message's status only moves forward. Keys that match no message are kept as orphans.
"""

from __future__ import annotations

from collections.abc import Iterable

from integration.connectors.exstream.events import StatusEvent
from integration.status.apply import message_status_apply


def deliver_status_events(events: Iterable[StatusEvent]) -> int:
    """Apply the events; returns how many were new (stored for the first time). Idempotent."""
    result = message_status_apply(events=[e for e in events if e.message_key])
    return result.recorded
