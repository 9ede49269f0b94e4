"""What was approved is what is sent, for every chunk — also when the audience has no cheap
content version (a title's contributors, read from the Consonance mirror). An imprint admin who
drafted a communication, had a colleague approve it and then changed the template, its mapping
or its Exstream communication while it was sending must not get the remaining chunks out in a
form nobody approved (the chunks are read through the *current* template: its Exstream
communication, customer-key field and driver fields)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from integration.communications import approval, create
from integration.delivery.outbox import outbox_claim, outbox_dispatch, outbox_process
from integration.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    ExstreamCommunication,
    FieldMapping,
    OutboxItem,
)
from tests.factories import (
    AudienceFactory,
    ContributionFactory,
    ExstreamCommunicationFactory,
    communication_type,
)

S = Communication.Status


@pytest.fixture(autouse=True)
def _chunks_of_two(settings):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2


@pytest.fixture
def sending(
    rights_setup,
    rights_manager,
    second_rights_manager,
    django_capture_on_commit_callbacks,
    exstream,
):
    """Three contributors (two chunks), approved by a second person; the first chunk sent."""
    for n in range(3):
        ContributionFactory(work=rights_setup.work, sequence=n + 1)
    audience = AudienceFactory(
        imprint=rights_setup.audience.imprint, kind=Audience.Kind.CONTRIBUTORS, name="Authors"
    )
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager,
            imprint=audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=audience,
            work=rights_setup.work,
        )
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.recipient_count == 3
    with django_capture_on_commit_callbacks(execute=True):
        comm = approval.communication_submit(actor=rights_manager, communication=comm)
    with django_capture_on_commit_callbacks(execute=False):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.approved_inputs == {}  # contributors: no cheap version of the recipients
    first = outbox_claim(worker="w", limit=1)
    assert outbox_process(item_id=first[0], worker="w") == "succeeded"
    assert Communication.objects.get(pk=comm.pk).status == S.SENDING
    return comm


def _assert_second_chunk_refused(comm, exstream):
    outbox_dispatch(worker="w")
    assert len(exstream.submissions) == 1
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.PARTIALLY_FAILED
    dead = OutboxItem.objects.get(status="dead")
    assert "not sent" in dead.dead_reason
    assert AuditEvent.objects.filter(verb="communication.partially_failed").exists()


def test_exstream_communication_swapped_between_chunks_refuses_the_next(
    sending, rights_setup, exstream
):
    other = ExstreamCommunicationFactory(name="A letter nobody approved")
    CommunicationTemplate.objects.filter(pk=rights_setup.template.pk).update(
        exstream_communication=other
    )
    _assert_second_chunk_refused(sending, exstream)


def test_mapping_changed_between_chunks_refuses_the_next(sending, rights_setup, exstream):
    FieldMapping.objects.filter(template=rights_setup.template, driver_field="workTitle").update(
        driver_field="customer.customerNumber"
    )
    _assert_second_chunk_refused(sending, exstream)


def test_an_exstream_sync_between_chunks_does_not_stop_the_next(sending, rights_setup, exstream):
    # A routine sync refreshes when it saw the design and its raw record, not the letter.
    ExstreamCommunication.objects.filter(pk=rights_setup.template.exstream_communication_id).update(
        synced_at=timezone.now(), raw={"lastModified": "now"}
    )
    outbox_dispatch(worker="w")
    assert len(exstream.submissions) == 2
    assert Communication.objects.get(pk=sending.pk).status == S.SENT


def test_nothing_changed_between_chunks_sends_both(sending, exstream):
    outbox_dispatch(worker="w")
    assert len(exstream.submissions) == 2
    assert Communication.objects.get(pk=sending.pk).status == S.SENT
