"""What was approved is what is sent, cheaply: the approval records the versions of every input
the payload was built from; before each chunk the dispatcher compares them with current ones and
recomputes the payload only when one moved."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from integration.communications import approval, compose, create, revalidation
from integration.communications.common import canonical_json
from integration.communications.payload import Composer, composed_on
from integration.communications.replay import communication_replay
from integration.delivery.outbox import outbox_claim, outbox_dispatch, outbox_process
from integration.models import (
    Approval,
    Communication,
    ExstreamCommunication,
    FieldMapping,
    OutboxItem,
)
from integration.setup.audiences import audience_list_upload
from integration.setup.transfer import setup_object_snapshot
from tests.factories import communication_type
from tests.scenarios import add_members

S = Communication.Status


@pytest.fixture
def recomputes(monkeypatch):
    """Counts every recompute of the payload the checks make."""
    calls = []
    original = revalidation.payload_hash_and_versions

    def spy(**kwargs):
        calls.append(kwargs["communication"].pk)
        return original(**kwargs)

    monkeypatch.setattr(revalidation, "payload_hash_and_versions", spy)
    return calls


@pytest.fixture
def queued(rights_setup, rights_manager, second_rights_manager, django_capture_on_commit_callbacks):
    """Composed, submitted and approved in chunks of two (three readers: two chunks); no
    worker has run yet."""
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
        )
    comm = Communication.objects.get(pk=comm.pk)
    with django_capture_on_commit_callbacks(execute=True):
        comm = approval.communication_submit(actor=rights_manager, communication=comm)
    with django_capture_on_commit_callbacks(execute=False):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.QUEUED
    return comm


@pytest.fixture(autouse=True)
def _chunks_of_two(settings):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2


def test_approval_records_the_versions_the_payload_was_built_from(queued):
    assert set(queued.approved_inputs) == {"header", "template", "title", "audience"}
    assert queued.approved_inputs == queued.input_versions
    granted = queued.approvals.get(decision=Approval.Decision.APPROVED)
    assert granted.input_versions == queued.approved_inputs
    assert granted.payload_hash == queued.approved_hash


def test_nothing_changed_nothing_recomputed(queued, exstream, recomputes):
    outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=queued.pk)
    assert comm.status == S.SENT
    assert len(exstream.submissions) == 2
    assert recomputes == []


def test_a_save_that_changes_nothing_recomputes_once_and_sends(
    queued, rights_setup, exstream, recomputes
):
    mapping = rights_setup.template.mappings.get(driver_field="workTitle")
    mapping.save()  # same content
    rights_setup.work.save()  # same title
    outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=queued.pk)
    assert comm.status == S.SENT
    assert len(exstream.submissions) == 2
    assert recomputes == []  # content versions: a no-op save moves none of them


def _assert_voided_before_sending(comm, exstream, recomputes, callbacks):
    with callbacks(execute=True):  # the void recomposes from current data after commit
        outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=comm.pk)
    assert exstream.submissions == []
    assert comm.status == S.DRAFT
    assert comm.approved_hash == "" and comm.approved_inputs == {}
    assert "data changed between approval and sending" in comm.void_reason
    assert comm.approvals.filter(decision=Approval.Decision.VOIDED).exists()
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"cancelled"}
    assert recomputes  # the versions moved, so the payload was recomputed and compared


def test_template_change_is_caught_before_the_first_chunk(
    queued, rights_setup, django_capture_on_commit_callbacks, exstream, recomputes
):
    # Straight to the database: no setup hook re-checks it, the dispatcher must.
    type(rights_setup.template).objects.filter(pk=rights_setup.template.pk).update(
        name="Renamed behind our back"
    )
    _assert_voided_before_sending(queued, exstream, recomputes, django_capture_on_commit_callbacks)


def test_mapping_change_is_caught_before_the_first_chunk(
    queued, rights_setup, django_capture_on_commit_callbacks, exstream, recomputes
):
    FieldMapping.objects.filter(template=rights_setup.template, driver_field="workTitle").update(
        transforms=[{"op": "upper"}]
    )
    _assert_voided_before_sending(queued, exstream, recomputes, django_capture_on_commit_callbacks)


def test_audience_member_change_is_caught_before_the_first_chunk(
    queued, rights_setup, django_capture_on_commit_callbacks, exstream, recomputes
):
    add_members(rights_setup.audience, 1, start=50)
    _assert_voided_before_sending(queued, exstream, recomputes, django_capture_on_commit_callbacks)


def test_audience_list_replaced_is_caught_before_the_first_chunk(
    queued, rights_setup, django_capture_on_commit_callbacks, admin_a, exstream, recomputes
):
    audience_list_upload(
        actor=admin_a,
        audience=rights_setup.audience,
        filename="readers.csv",
        data=b"email,name,country,consent,channel\nreader1@members.test,Reader One,GB,yes,print\n",
    )
    _assert_voided_before_sending(queued, exstream, recomputes, django_capture_on_commit_callbacks)


def test_title_data_change_is_caught_before_the_first_chunk(
    queued, rights_setup, django_capture_on_commit_callbacks, exstream, recomputes
):
    rights_setup.work.title = "The Lamplighter"
    rights_setup.work.save()
    _assert_voided_before_sending(queued, exstream, recomputes, django_capture_on_commit_callbacks)


def test_title_data_change_between_chunks_refuses_the_next_chunk(
    queued, rights_setup, exstream, recomputes
):
    first = outbox_claim(worker="w", limit=1)
    assert outbox_process(item_id=first[0], worker="w") == "succeeded"
    assert recomputes == []
    assert Communication.objects.get(pk=queued.pk).status == S.SENDING
    rights_setup.work.title = "The Lamplighter"
    rights_setup.work.save()
    outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=queued.pk)
    assert len(exstream.submissions) == 1  # the second chunk differs from what was approved
    assert comm.status == S.PARTIALLY_FAILED
    dead = OutboxItem.objects.get(status="dead")
    assert "changed after approval" in dead.dead_reason
    assert len(recomputes) == 1
    assert set(comm.messages.filter(chunk=2).values_list("status", flat=True)) == {"failed"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY streams on PostgreSQL only")
def test_a_query_while_rows_stream_to_copy_fails_instead_of_waiting_forever(queued):
    def rows():
        Communication.objects.count()  # the connection is busy with the COPY
        yield from ()

    with pytest.raises(RuntimeError, match="streamed to COPY"), transaction.atomic():
        compose.insert_messages(rows())
    assert Communication.objects.filter(pk=queued.pk).exists()  # the connection still works


def test_the_template_version_is_the_one_approvals_recorded_before(queued):
    """The template's version digests its mappings as ``.values()`` rows in pk order; read
    from the mappings the composer already loaded it must stay exactly that, or every
    approval recorded before would look moved (and recompute once)."""
    composer = Composer.load(queued, on_date=composed_on(queued))
    template = composer.template
    before = [
        setup_object_snapshot(template),
        template.customer_key_path,
        template.required_driver_fields,
        setup_object_snapshot(template.exstream_communication),
        list(type(template).objects.get(pk=template.pk).mappings.order_by("pk").values()),
    ]
    expected = hashlib.sha256(canonical_json(before).encode()).hexdigest()
    assert composer.input_versions()["template"] == expected == queued.approved_inputs["template"]


def test_a_chunk_when_nothing_moved_takes_a_fixed_handful_of_queries(
    queued, exstream, recomputes, django_assert_max_num_queries
):
    """Before each chunk the check reads the versions (the title context, the template with
    its mappings, the audience's member count) and recomputes nothing; the communication is
    read once for the check and locked once per transaction, with what the send reads."""
    first, second = outbox_claim(worker="w", limit=2)
    assert outbox_process(item_id=first, worker="w") == "succeeded"
    with django_assert_max_num_queries(34):
        assert outbox_process(item_id=second, worker="w") == "succeeded"
    assert recomputes == []
    assert Communication.objects.get(pk=queued.pk).status == S.SENT


# --- the Exstream design's driver data source, between approval and each chunk ----------------


def _first_chunk_sent(comm):
    first = outbox_claim(worker="w", limit=1)
    assert outbox_process(item_id=first[0], worker="w") == "succeeded"
    assert Communication.objects.get(pk=comm.pk).status == S.SENDING


def _design(comm):
    return comm.template.exstream_communication


def test_a_routine_catalogue_sync_between_chunks_does_not_stop_sending(queued, exstream):
    """What a sync refreshes without touching what the records fit — the design's version,
    queues, raw answers, when it ran, a new field the records do not carry — sends on."""
    _first_chunk_sent(queued)
    design = _design(queued)
    design.version = "7"
    design.queues = [*design.queues, {"name": "HTML", "driver": "HTML", "use": "email"}]
    design.raw = {"resource": {"id": design.communication_id, "version": 7}}
    design.driver_fields = [*design.driver_fields, {"name": "footnote", "type": "string"}]
    design.synced_at = timezone.now()
    design.save()
    outbox_dispatch(worker="w")
    assert Communication.objects.get(pk=queued.pk).status == S.SENT
    assert len(exstream.submissions) == 2


def _assert_second_chunk_refused(comm, exstream, *words, client, user):
    outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=comm.pk)
    assert len(exstream.submissions) == 1  # the second chunk no longer fits the design
    assert comm.status == S.PARTIALLY_FAILED
    dead = OutboxItem.objects.get(status="dead")
    assert dead.attempts == 1  # refused at once, never retried
    for text in ("changed after approval", "no longer fit", "this chunk is not sent", *words):
        assert text in dead.dead_reason
    assert AuditEvent.objects.filter(
        verb="outbox.dead_letter", data__reason=dead.dead_reason
    ).exists()
    failed = comm.messages.filter(chunk=2)
    assert {m.status for m in failed} == {"failed"}
    assert all("no longer fit" in m.status_detail for m in failed)
    client.force_login(user)
    page = client.get(reverse("communications:detail", args=[comm.pk])).content.decode()
    assert "no longer fit" in page
    return dead


def test_a_mapped_field_gone_from_the_design_between_chunks_refuses_the_next_chunk(
    queued, exstream, client, rights_manager
):
    _first_chunk_sent(queued)
    design = _design(queued)
    design.driver_fields = [f for f in design.driver_fields if f["name"] != "workTitle"]
    design.save()
    _assert_second_chunk_refused(
        queued, exstream, "no longer has workTitle", client=client, user=rights_manager
    )


def test_a_new_driver_data_source_between_chunks_refuses_the_next_chunk(
    queued, exstream, client, rights_manager
):
    _first_chunk_sent(queued)
    ExstreamCommunication.objects.filter(pk=_design(queued).pk).update(prod_dsn="OtherDriver")
    _assert_second_chunk_refused(
        queued, exstream, "'OtherDriver'", "'ColophonDriver'", client=client, user=rights_manager
    )


def test_a_driver_sample_now_xml_between_chunks_refuses_the_next_chunk(
    queued, exstream, client, rights_manager
):
    _first_chunk_sent(queued)
    ExstreamCommunication.objects.filter(pk=_design(queued).pk).update(
        driver_format="xml", driver_root="letter"
    )
    _assert_second_chunk_refused(queued, exstream, "XML rooted at <letter>", client=client,
                                 user=rights_manager)  # fmt: skip


def test_the_chunk_is_sent_again_once_the_design_fits_again(queued, exstream, admin_a):
    """Refused, not lost: with the design back as approved, a replay sends the chunk."""
    _first_chunk_sent(queued)
    design = _design(queued)
    ExstreamCommunication.objects.filter(pk=design.pk).update(prod_dsn="OtherDriver")
    outbox_dispatch(worker="w")
    ExstreamCommunication.objects.filter(pk=design.pk).update(prod_dsn=design.prod_dsn)
    communication_replay(actor=admin_a, communication=queued)
    outbox_dispatch(worker="w")
    assert Communication.objects.get(pk=queued.pk).status == S.SENT
    assert len(exstream.submissions) == 2


def test_a_design_change_before_the_first_chunk_voids_the_approval(
    queued, exstream, django_capture_on_commit_callbacks
):
    design = _design(queued)
    design.driver_fields = [f for f in design.driver_fields if f["name"] != "isbn"]
    design.save()
    with django_capture_on_commit_callbacks(execute=True):
        outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=queued.pk)
    assert exstream.submissions == []
    assert comm.status in (S.DRAFT, S.COMPOSING) and comm.approved_hash == ""
    assert "no longer has isbn" in comm.void_reason and "submit it again" in comm.void_reason
    assert comm.approvals.filter(decision=Approval.Decision.VOIDED).exists()
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"cancelled"}
