"""The one small adapter between Compose/dispatch and the Exstream connector.

Everything Compose needs from Exstream goes through ``gateway()``: on-demand previews, batch
submission with a stable external id, and the look-up by external id that the outbox asks for
before it ever submits a chunk a second time. Tests may swap the gateway with ``use_gateway``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from integration.http import ExternalServiceError
from integration.models import ExstreamCommunication


@dataclass
class Submitted:
    job_id: str
    flow_instance_ids: list[str] = field(default_factory=list)
    domain: str = ""
    channel: str = ""
    flow_instances: list[dict[str, Any]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "flow_instance_ids": self.flow_instance_ids,
            "domain": self.domain,
            "channel": self.channel,
        }


class Gateway(Protocol):
    def submit_batch(
        self,
        *,
        external_id: str,
        communication: ExstreamCommunication,
        records: list[dict[str, Any]],
    ) -> Submitted: ...

    def find_batch(self, external_id: str) -> Submitted | None: ...

    def record_job(
        self,
        *,
        submitted: Submitted,
        external_id: str,
        communication: ExstreamCommunication,
        imprint_id: int | None,
        customer_keys: list[str],
    ) -> None: ...

    def preview(
        self,
        *,
        actor: Any,
        exstream_communication: ExstreamCommunication,
        driver_data: dict[str, Any],
        imprint: Any,
        customer_key: str,
    ) -> list[dict[str, Any]]: ...


class ConnectorMissing:
    """Used until the Exstream connector is installed in this build: every call fails
    retryably with a readable reason, so nothing is lost (the outbox keeps the chunks)."""

    def _fail(self) -> ExternalServiceError:
        return ExternalServiceError(
            "The Exstream connector is not installed in this build.",
            service="exstream",
            retryable=True,
        )

    def submit_batch(self, **kwargs: Any) -> Submitted:
        raise self._fail()

    def find_batch(self, external_id: str) -> Submitted | None:
        raise self._fail()

    def record_job(self, **kwargs: Any) -> None:
        return None

    def preview(self, **kwargs: Any) -> list[dict[str, Any]]:
        raise self._fail()


_override: list[Gateway] = []


def gateway() -> Gateway:
    if _override:
        return _override[-1]
    return ConnectorMissing()


@contextmanager
def use_gateway(replacement: Gateway) -> Iterator[Gateway]:
    _override.append(replacement)
    try:
        yield replacement
    finally:
        _override.remove(replacement)
