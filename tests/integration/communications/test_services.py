"""Service-level lifecycle: compose, submit, four eyes, dispatch through the outbox, voiding."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from integration.communications import (
    approval,
    compose,
    create,
    payload,
    preview,
    replay,
    revalidation,
)
from integration.delivery.outbox import outbox_claim, outbox_dispatch, outbox_process
from integration.lib.http import ExternalServiceError
from integration.models import Approval, Communication, ComplianceRule, Message, OutboxItem
from integration.setup.mappings import mapping_save
from tests.factories import ComplianceRuleFactory, communication_type
from tests.scenarios import add_members

S = Communication.Status


def _create(setup, actor, **kwargs):
    return create.communication_create(
        actor=actor,
        imprint=setup.audience.imprint,
        communication_type=communication_type("rights-confirmation"),
        audience=setup.audience,
        work=setup.work,
        **kwargs,
    )


@pytest.fixture
def composed(rights_setup, rights_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comm = _create(rights_setup, rights_manager)
    comm = Communication.objects.get(pk=comm.pk)
    return comm


def _submit(comm, user, callbacks):
    with callbacks(execute=True):
        return approval.communication_submit(actor=user, communication=comm)


def test_compose_builds_one_message_per_recipient_with_driver_data_and_hash(composed):
    assert composed.status == S.DRAFT
    assert composed.recipient_count == 3 == composed.compose_done == composed.compose_total
    assert len(composed.payload_hash) == 64
    first = composed.messages.order_by("sequence").first()
    assert first.driver_data["recipientName"] == "Reader 1"
    assert first.driver_data["workTitle"] == "The Lighthouse Keeper"
    assert first.channel == "print"
    assert "rights-confirmation" not in composed.template_explanation
    assert "applies" in composed.template_explanation
    assert AuditEvent.objects.filter(
        verb="communication.composed", work_id=composed.work_id
    ).exists()


def test_hash_is_stable_and_matches_recompute(composed):
    again = payload.payload_hash_compute(
        communication=composed, on_date=payload.composed_on(composed)
    )
    assert again == composed.payload_hash


def test_compose_in_chunks_reports_progress(
    rights_setup, rights_manager, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(compose, "COMPOSE_CHUNK", 2)
    add_members(rights_setup.audience, 4, start=10)
    seen = []
    original = compose.insert_messages

    def spy(rows):
        # progress as a poller sees it when each chunk is written
        seen.append((len(rows), Communication.objects.get().compose_done))
        return original(rows)

    monkeypatch.setattr(compose, "insert_messages", spy)
    with django_capture_on_commit_callbacks(execute=True):
        comm = _create(rights_setup, rights_manager)
    comm = Communication.objects.get(pk=comm.pk)
    assert seen == [(2, 0), (2, 2), (2, 4), (1, 6)]
    assert comm.compose_done == comm.compose_total == 7
    assert list(comm.messages.values_list("sequence", flat=True)) == list(range(1, 8))


def test_drafting_needs_a_drafting_role_for_the_category(rights_setup, marketing, viewer):
    for user in (marketing, viewer):
        with pytest.raises(PermissionDenied):
            _create(rights_setup, user)
    assert not Communication.objects.exists()


def test_no_template_is_a_readable_error(rights_setup, rights_manager):
    rights_setup.template.status = "retired"
    rights_setup.template.save()
    with pytest.raises(ValidationError) as err:
        _create(rights_setup, rights_manager)
    assert "No active template" in str(err.value)


def test_four_eyes(
    composed,
    rights_manager,
    second_rights_manager,
    marketing,
    outsider,
    django_capture_on_commit_callbacks,
    exstream,
    settings,
):
    settings.SITE_URL = "https://colophon.example.test"
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    assert comm.status == S.SUBMITTED
    # the e-mail goes to approvers of the category in the imprint, never the submitter
    assert len(mail.outbox) == 1
    assert second_rights_manager.email in mail.outbox[0].to
    assert rights_manager.email not in mail.outbox[0].to
    assert marketing.email not in mail.outbox[0].to
    assert f"https://colophon.example.test/communications/{comm.pk}/" in mail.outbox[0].body
    with pytest.raises(PermissionDenied, match="another person must approve"):
        approval.communication_approve(actor=rights_manager, communication=comm)
    with pytest.raises(PermissionDenied, match="Rights manager"):
        approval.communication_approve(actor=marketing, communication=comm)
    with pytest.raises(PermissionDenied):
        approval.communication_approve(actor=outsider, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SUBMITTED and not comm.approvals.exists()
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert comm.approved_by == second_rights_manager
    assert comm.approved_hash == comm.payload_hash
    assert comm.approvals.get().decision == Approval.Decision.APPROVED


def test_reject_needs_a_comment_and_returns_to_drafter(
    composed, rights_manager, second_rights_manager, django_capture_on_commit_callbacks
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        approval.communication_reject(actor=second_rights_manager, communication=comm, comment=" ")
    approval.communication_reject(
        actor=second_rights_manager, communication=comm, comment="Wrong territory"
    )
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.REJECTED and comm.rejection_comment == "Wrong territory"
    # it can be resubmitted after edits
    comm = _submit(comm, rights_manager, django_capture_on_commit_callbacks)
    assert comm.status == S.SUBMITTED


def test_blocking_findings_prevent_submit(
    rights_setup, imprint_a, rights_manager, admin_a, django_capture_on_commit_callbacks
):
    ComplianceRuleFactory(imprint=imprint_a, kind=ComplianceRule.Kind.CONSENT_REQUIRED)
    rights_setup.audience.members.filter(row_number=2).update(consent=False)
    with django_capture_on_commit_callbacks(execute=True):
        comm = _create(rights_setup, rights_manager)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.blocking_count == 1
    bad = comm.messages.get(blocking=True)
    assert "has not consented" in bad.findings[0]["message"]
    for user in (rights_manager, admin_a):
        with pytest.raises(ValidationError, match="blocking findings"):
            approval.communication_submit(actor=user, communication=comm)


def test_dispatch_in_chunks_with_stable_external_ids(
    composed,
    rights_manager,
    second_rights_manager,
    django_capture_on_commit_callbacks,
    exstream,
    settings,
):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    h = comm.approved_hash[:12]
    assert sorted(exstream.submissions) == [
        f"colophon-comm-{comm.pk}-chunk-1-{h}",
        f"colophon-comm-{comm.pk}-chunk-2-{h}",
    ]
    assert [len(exstream.batches[e]) for e in sorted(exstream.batches)] == [2, 1]
    record = exstream.batches[f"colophon-comm-{comm.pk}-chunk-1-{h}"][0]
    # the message key goes to the design's customer-key field, not a top-level customerKey
    assert record["recipientName"] == "Reader 1" and record["customer.customerNumber"]
    assert "customerKey" not in record
    assert comm.status == S.SENT
    assert set(comm.messages.values_list("status", flat=True)) == {Message.Status.SUBMITTED}
    assert AuditEvent.objects.filter(verb="communication.sent", work_id=comm.work_id).exists()


def _approve_without_dispatch(comm, approver, callbacks):
    """Approve, keeping the outbox rows pending (no worker runs)."""
    with callbacks(execute=False):
        approval.communication_approve(actor=approver, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    return comm


def test_worker_crash_after_the_call_causes_no_duplicate(
    composed, rights_manager, second_rights_manager, django_capture_on_commit_callbacks, exstream
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    assert comm.status == S.QUEUED
    exstream.crash_after_send = True
    claimed = outbox_claim(worker="w1")
    with pytest.raises(KeyboardInterrupt):
        outbox_process(item_id=claimed[0], worker="w1")
    # the lease expires; another worker reconciles instead of resubmitting
    from datetime import timedelta

    from django.utils import timezone

    later = timezone.now() + timedelta(hours=1)
    outbox_dispatch(worker="w2", now=later)
    comm = Communication.objects.get(pk=comm.pk)
    assert len(exstream.submissions) == 1
    assert comm.status == S.SENT
    item = OutboxItem.objects.get()
    assert item.attempt_rows.get().outcome == "reconciled"


def test_retryable_errors_back_off_then_succeed(
    composed, rights_manager, second_rights_manager, django_capture_on_commit_callbacks, exstream
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    exstream.fail = [
        ExternalServiceError("503", service="exstream", retryable=True, status=503)
        for _ in range(2)
    ]
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for step in range(3):
        outbox_dispatch(worker="w", now=now + timedelta(hours=step))
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert list(OutboxItem.objects.get().attempt_rows.values_list("outcome", flat=True)) == [
        "retry",
        "retry",
        "succeeded",
    ]


def test_permanent_error_dead_letter_then_replay(
    composed,
    rights_manager,
    second_rights_manager,
    admin_a,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    exstream.fail = [
        ExternalServiceError(
            "Exstream rejected the driver data; missing required field(s): record 1: isbn.",
            service="exstream",
            retryable=False,
            status=422,
        )
    ]
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.FAILED
    item = OutboxItem.objects.get()
    assert item.status == "dead" and "isbn" in item.dead_reason
    assert set(comm.messages.values_list("status", flat=True)) == {"failed"}
    with pytest.raises(PermissionDenied):
        replay.communication_replay(actor=rights_manager, communication=comm)
    with django_capture_on_commit_callbacks(execute=True):
        replay.communication_replay(actor=admin_a, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(comm.messages.values_list("status", flat=True)) == {"submitted"}


def test_some_chunks_dead_is_partially_failed(
    composed,
    rights_manager,
    second_rights_manager,
    django_capture_on_commit_callbacks,
    exstream,
    settings,
):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    exstream.fail = [ExternalServiceError("bad", service="exstream", retryable=False, status=422)]
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.PARTIALLY_FAILED


def test_approval_voided_by_mapping_change(
    composed,
    rights_manager,
    second_rights_manager,
    admin_a,
    rights_setup,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    approved_hash = comm.approved_hash
    mapping = rights_setup.template.mappings.get(driver_field="workTitle")
    with django_capture_on_commit_callbacks(execute=True):
        mapping_save(
            actor=admin_a,
            template=rights_setup.template,
            driver_field="workTitle",
            context_field="work.title",
            transforms=[{"op": "upper"}],
            mapping=mapping,
        )
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT
    assert "changed while it was queued" in comm.void_reason
    assert comm.approved_hash == ""
    assert comm.payload_hash != approved_hash  # recomposed from current data
    assert comm.messages.first().driver_data["workTitle"] == "THE LIGHTHOUSE KEEPER"
    assert comm.approvals.filter(decision=Approval.Decision.VOIDED).exists()
    assert OutboxItem.objects.get().status == "cancelled"
    # nothing was sent even when a worker runs
    outbox_dispatch(worker="w")
    assert exstream.submissions == []


def test_catalogue_change_voids_and_dispatcher_rechecks(
    composed,
    rights_manager,
    second_rights_manager,
    rights_setup,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    rights_setup.work.title = "The Lamplighter"
    rights_setup.work.save()
    # the sync has not told us yet: the dispatcher's own re-check catches it
    with django_capture_on_commit_callbacks(execute=True):
        outbox_dispatch(worker="w")
    comm = Communication.objects.get(pk=comm.pk)
    assert exstream.submissions == []
    assert comm.status == S.DRAFT
    assert "data changed between approval and sending" in comm.void_reason


def test_revalidate_for_work_leaves_unchanged_alone(
    composed, rights_manager, rights_setup, django_capture_on_commit_callbacks
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert revalidation.communications_revalidate_for_work(rights_setup.work.pk) == 1
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SUBMITTED
    rights_setup.work.title = "Changed"
    rights_setup.work.save()
    with django_capture_on_commit_callbacks(execute=True):
        revalidation.communications_revalidate_for_work(rights_setup.work.pk)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT
    assert "catalogue data" in comm.void_reason


def test_cancel_before_sending(
    composed, rights_manager, second_rights_manager, django_capture_on_commit_callbacks, viewer
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    with pytest.raises(PermissionDenied):
        approval.communication_cancel(actor=viewer, communication=comm)
    approval.communication_cancel(actor=rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.CANCELLED
    assert OutboxItem.objects.get().status == "cancelled"


def test_preview_samples_first_random_and_findings(composed, rights_manager, viewer, exstream):
    previews = preview.communication_preview(
        actor=rights_manager, communication=composed, random_count=1
    )
    assert previews[0].reason == "first recipient"
    assert len(previews) == 2
    assert exstream.previews[0]["recipientName"] == "Reader 1"
    with pytest.raises(PermissionDenied):
        preview.communication_preview(actor=viewer, communication=composed)


def test_composed_driver_data_equals_mapping_over_the_full_context(
    rights_setup, rights_manager, django_capture_on_commit_callbacks
):
    """Compose maps title-level fields once; the result is what the mapping gives per recipient."""
    from integration.setup.context import build_context
    from integration.setup.mappings import build_driver_data

    rights_setup.audience.members.filter(row_number=3).update(name="")
    with django_capture_on_commit_callbacks(execute=True):
        comm = _create(rights_setup, rights_manager)
    for message in comm.messages.order_by("sequence"):
        member = rights_setup.audience.members.get(pk=int(message.recipient_key.split(":")[1]))
        context = build_context(
            work=rights_setup.work, recipient={"name": member.name, "email": member.email}
        )
        expected, problems = build_driver_data(template=rights_setup.template, context=context)
        assert message.driver_data == expected
        assert [f["message"] for f in message.findings if f["rule"] == "Mapping"] == problems
    assert Communication.objects.get(pk=comm.pk).blocking_count == 1  # the nameless member


def test_audience_list_upload_voids_a_submission(
    composed, rights_manager, admin_a, rights_setup, django_capture_on_commit_callbacks
):
    from integration.setup.audiences import audience_list_upload

    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    csv = b"email,name,country,consent,channel\nnew@members.test,New Reader,GB,yes,print\n"
    with django_capture_on_commit_callbacks(execute=True):
        audience_list_upload(
            actor=admin_a, audience=rights_setup.audience, filename="new.csv", data=csv
        )
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT
    assert "The audience Readers changed" in comm.void_reason
    assert comm.recipient_count == 1


def test_template_change_voids_the_submission(
    composed, rights_manager, admin_a, rights_setup, django_capture_on_commit_callbacks
):
    from integration.setup.transfer import setup_object_save

    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    template = rights_setup.template
    template.notes = "Reviewed by legal"
    with django_capture_on_commit_callbacks(execute=True):
        setup_object_save(actor=admin_a, instance=template, before={})
    comm = Communication.objects.get(pk=comm.pk)
    # any change to the template after submission voids: it is part of what was approved
    assert comm.status == S.DRAFT and "template" in comm.void_reason
    assert AuditEvent.objects.filter(verb="communication.approval_voided").exists()


def _change(work, **fields):
    from integration.models import ChangeEvent

    for name, value in fields.items():
        setattr(work, name, value)
    work.save()
    ChangeEvent.objects.create(
        imprint_id=work.imprint_id, work=work, kind=ChangeEvent.Kind.METADATA, field="title"
    )


def test_submit_refuses_a_stale_draft_but_not_an_irrelevant_change(
    composed, rights_manager, rights_setup, django_capture_on_commit_callbacks
):
    _change(rights_setup.work, season="Spring 2027")  # not in the letter
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    assert comm.status == S.SUBMITTED
    assert Communication.objects.get(pk=comm.pk).checked_at > comm.composed_at


def test_submit_refuses_when_the_payload_changed(composed, rights_manager, rights_setup):
    _change(rights_setup.work, title="The Lamplighter")
    with pytest.raises(ValidationError, match="recompose it"):
        approval.communication_submit(actor=rights_manager, communication=composed)
    assert Communication.objects.get(pk=composed.pk).status == S.DRAFT


def test_approve_rechecks_and_returns_a_changed_submission_to_draft(
    composed,
    rights_manager,
    second_rights_manager,
    rights_setup,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    _change(rights_setup.work, title="The Lamplighter")  # no sync hook ran
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="back in draft"),
    ):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.DRAFT and comm.approved_hash == ""
    assert comm.messages.first().driver_data["workTitle"] == "The Lamplighter"
    assert exstream.submissions == []


def test_same_payload_approved_again_after_a_void_is_sent_once(
    composed,
    rights_manager,
    second_rights_manager,
    rights_setup,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    comm = _approve_without_dispatch(
        comm, second_rights_manager, django_capture_on_commit_callbacks
    )
    first_ids = set(OutboxItem.objects.values_list("external_id", flat=True))
    work = rights_setup.work
    work.title = "Changed"
    work.save()
    with django_capture_on_commit_callbacks(execute=True):
        revalidation.communications_revalidate_for_work(work.pk)
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"cancelled"}
    work.title = "The Lighthouse Keeper"  # changed back: the very same payload again
    work.save()
    comm = Communication.objects.get(pk=comm.pk)
    with django_capture_on_commit_callbacks(execute=True):
        create.communication_recompose(actor=rights_manager, communication=comm)
    comm = _submit(
        Communication.objects.get(pk=comm.pk), rights_manager, django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(OutboxItem.objects.values_list("external_id", flat=True)) == first_ids
    assert sorted(exstream.submissions) == sorted(first_ids)


def test_customer_key_is_supplied_by_colophon_not_mapped(rights_setup):
    from integration.setup.context import build_context
    from integration.setup.mappings import build_driver_data, mapping_problems

    exstream = rights_setup.template.exstream_communication
    exstream.driver_fields = [
        *exstream.driver_fields,
        {"name": "customerKey", "type": "string", "required": True},
    ]
    exstream.save()
    assert mapping_problems(rights_setup.template) == []
    _, problems = build_driver_data(
        template=rights_setup.template,
        context=build_context(work=rights_setup.work, recipient={"name": "Reader"}),
    )
    assert problems == []


def test_replay_from_operations_also_settles_the_communication(
    composed,
    rights_manager,
    second_rights_manager,
    admin_a,
    django_capture_on_commit_callbacks,
    exstream,
):
    from integration.delivery.outbox import outbox_replay

    comm = _submit(composed, rights_manager, django_capture_on_commit_callbacks)
    exstream.fail = [ExternalServiceError("bad", service="exstream", retryable=False, status=422)]
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    assert Communication.objects.get(pk=comm.pk).status == S.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        outbox_replay(actor=admin_a, item=OutboxItem.objects.get())
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT
    assert set(comm.messages.values_list("status", flat=True)) == {"submitted"}


def test_suggestions_map_territories_and_royalty_statement_fields():
    from integration.setup.mappings import suggest_context_field, suggested_transforms

    assert suggest_context_field("territories") == "licensed_rights.all"
    assert suggested_transforms("licensed_rights.all", "territories") == [
        {"op": "join", "key": "territory"}
    ]
    assert suggested_transforms("licensed_rights.all", "rightsGranted") == [
        {"op": "join", "key": "right_type"}
    ]
    assert suggest_context_field("amountDue") == "royalty.balance"
    assert suggest_context_field("statementPeriod") == "royalty.period_end"
    assert suggest_context_field("currency") == "royalty.currency"
    assert suggest_context_field("imprintName") == "imprint.name"
