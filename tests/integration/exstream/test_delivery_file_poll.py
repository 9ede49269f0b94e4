"""A finished job's delivery file: failure markers honoured; a file Colophon cannot read is
kept and recorded as unparsed, and nobody in it counts as delivered."""

from __future__ import annotations

import pytest

from integration.lib.http import ExternalServiceError
from integration.models import ExstreamDeliveryFile, ExstreamJob, MessageEvent
from integration.status.polling import exstream_job_poll
from tests.factories import ExstreamCommunicationFactory

pytestmark = pytest.mark.django_db


class FinishedJob:
    def __init__(self, delivery: bytes) -> None:
        self.delivery = delivery

    def get_job(self, job_id, *, domain=None):
        return {"id": job_id, "status": "complete"}

    def list_flow_instances(self, job_id, *, domain=None):
        return [{"id": "fi-1", "jobId": job_id, "status": "complete"}]

    def list_flow_steps(self, fi, *, domain=None):
        return [{"id": "st-1", "status": "complete", "deliveryFileRetrievable": True}]

    def delivery_file(self, step_id, *, domain=None):
        return self.delivery


def _job(imprint_a):
    return ExstreamJob.objects.create(
        job_id="j-1",
        external_id="e-1",
        domain="production",
        exstream_communication=ExstreamCommunicationFactory.create(),
        imprint=imprint_a,
        customer_keys=["k1", "k2"],
    )


def test_failure_marker_on_a_customer_is_failed_not_delivered(imprint_a):
    job = _job(imprint_a)
    xml = (
        b'<outputList><customer><key name="customerNumber">k1</key><queueName>Q</queueName>'
        b'</customer><customer status="failed"><key name="customerNumber">k2</key>'
        b"<errorMessage>Bad address</errorMessage></customer></outputList>"
    )
    events = exstream_job_poll(job_pk=job.pk, client=FinishedJob(xml))
    assert {(e.message_key, e.status) for e in events} == {("k1", "delivered"), ("k2", "failed")}
    stored = ExstreamDeliveryFile.objects.get(job=job)
    assert stored.status == "parsed" and (stored.delivered, stored.failed) == (1, 1)


@pytest.mark.parametrize(
    "data",
    [
        b"<report><done/></report>",
        b"%PDF-1.7 not xml",
        b'<outputList><customer><key name="a">1</key><key name="b">2</key></customer></outputList>',
    ],
)
def test_unreadable_delivery_file_is_kept_as_unparsed_and_delivers_nobody(imprint_a, data):
    job = _job(imprint_a)
    events = exstream_job_poll(job_pk=job.pk, client=FinishedJob(data))
    assert events == []
    assert not MessageEvent.objects.exists()
    stored = ExstreamDeliveryFile.objects.get(job=job)
    assert stored.status == "unparsed" and stored.problem
    stored.raw.open("rb")
    assert stored.raw.read() == data
    job.refresh_from_db()
    assert "unparsed" in job.last_error and job.terminal


class NoArtifactFlags(FinishedJob):
    """A server that does not say ``deliveryFileRetrievable`` on its steps (an optional field in
    the OpenAPI FlowStep; ``flow-steps`` takes ``checkArtifacts``, whose meaning is not
    documented). Its output step has the file; its other steps have none (404)."""

    def __init__(self, delivery: bytes) -> None:
        super().__init__(delivery)
        self.asked: list[str] = []

    def list_flow_steps(self, fi, *, domain=None):
        return [
            {"id": "st-in", "status": "complete", "stepType": "input"},
            {"id": "st-out", "status": "complete", "stepType": "output"},
            {"id": "st-mail", "status": "complete", "stepType": "output"},
        ]

    def delivery_file(self, step_id, *, domain=None):
        self.asked.append(step_id)
        if step_id == "st-mail":
            raise ExternalServiceError("not found", service="Exstream", retryable=False, status=404)
        return self.delivery


def test_without_artifact_flags_the_output_steps_delivery_file_is_read(imprint_a):
    job = _job(imprint_a)
    xml = (
        b'<outputList><customer><key name="customerNumber">k1</key><queueName>Q</queueName>'
        b'</customer><customer><key name="customerNumber">k2</key><queueName>Q</queueName>'
        b"</customer></outputList>"
    )
    client = NoArtifactFlags(xml)
    events = exstream_job_poll(job_pk=job.pk, client=client)  # type: ignore[arg-type]
    assert client.asked == ["st-out", "st-mail"]
    assert {(e.message_key, e.status) for e in events} == {("k1", "delivered"), ("k2", "delivered")}
