from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from integration.delivery.gateway import Submitted, use_gateway
from integration.lib.http import ExternalServiceError
from integration.models import Audience, CommunicationTemplate, Work
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    FieldMappingFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)
from tests.scenarios import add_members


@dataclass
class FakeExstream:
    """Records every batch by external id; ``fail`` queues errors for the next submissions."""

    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    submissions: list[str] = field(default_factory=list)
    fail: list[ExternalServiceError] = field(default_factory=list)
    previews: list[dict[str, Any]] = field(default_factory=list)
    crash_after_send: bool = False

    def submit_batch(self, *, external_id: str, communication: Any, records: list) -> Submitted:
        if self.fail:
            raise self.fail.pop(0)
        self.submissions.append(external_id)
        self.batches[external_id] = records
        if self.crash_after_send:
            self.crash_after_send = False
            raise KeyboardInterrupt("worker died after the call")
        return Submitted(job_id=f"job-{len(self.submissions)}", flow_instance_ids=["fi-1"])

    def find_batch(self, external_id: str) -> Submitted | None:
        if external_id in self.batches:
            return Submitted(job_id=f"job-found-{external_id[-4:]}")
        return None

    def record_job(self, **kwargs: Any) -> None:
        pass

    def preview(self, *, driver_data: dict, customer_key: str, **kwargs: Any) -> list[dict]:
        self.previews.append(driver_data)
        return [{"id": len(self.previews), "mime_type": "application/pdf", "queue_name": "PDF"}]


@pytest.fixture
def exstream():
    fake = FakeExstream()
    with use_gateway(fake):
        yield fake


@dataclass
class Setup:
    work: Work
    template: CommunicationTemplate
    audience: Audience


@pytest.fixture
def rights_setup(imprint_a) -> Setup:
    """A rights-category type with an active template mapping name and title, and an
    uploaded-list audience of three readers."""
    work = WorkFactory(imprint=imprint_a, title="The Lighthouse Keeper")
    ProductFactory(work=work)
    template = CommunicationTemplateFactory(
        imprint=imprint_a, communication_type=communication_type("rights-confirmation")
    )
    FieldMappingFactory(
        template=template,
        driver_field="recipientName",
        context_field="recipient.name",
        required=True,
    )
    FieldMappingFactory(template=template, driver_field="workTitle", context_field="work.title")
    FieldMappingFactory(template=template, driver_field="isbn", context_field="product.isbn")
    audience = AudienceFactory(imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Readers")
    add_members(audience, 3)
    return Setup(work=work, template=template, audience=audience)
