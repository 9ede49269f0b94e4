"""Four eyes binds everyone who drafted, edited or submitted a communication, not only its
submitter; and what approval binds is the content that is sent, never a save time."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from integration.communications import approval, create, revalidation
from integration.models import Approval, Communication, OutboxItem
from integration.selectors.communications import approvals_for
from integration.setup.transfer import setup_object_save, setup_object_snapshot
from tests.factories import communication_type, member

S = Communication.Status


@pytest.fixture
def third_rights_manager(imprint_a):
    return member(Role.RIGHTS_MANAGER, imprint_a, "rights3@a.test")


@pytest.fixture
def drafted(rights_setup, rights_manager, django_capture_on_commit_callbacks):
    """Drafted (and composed) by the rights manager."""
    with django_capture_on_commit_callbacks(execute=True):
        comm = create.communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
        )
    return Communication.objects.get(pk=comm.pk)


def _submit(comm, user, callbacks):
    with callbacks(execute=True):
        return approval.communication_submit(actor=user, communication=comm)


def test_the_drafter_may_not_approve_what_a_colleague_submitted(
    drafted,
    rights_manager,
    second_rights_manager,
    third_rights_manager,
    django_capture_on_commit_callbacks,
    exstream,
):
    comm = _submit(drafted, second_rights_manager, django_capture_on_commit_callbacks)
    assert comm.author_ids() == {rights_manager.pk, second_rights_manager.pk}
    # approvers are told, but neither the drafter nor the submitter
    assert set(mail.outbox[0].to) == {third_rights_manager.email}
    for author in (rights_manager, second_rights_manager):
        refusal = approval.approve_refusal(author, comm)
        assert refusal is not None and "drafted, edited or submitted" in refusal
        with pytest.raises(PermissionDenied, match="another person must approve"):
            approval.communication_approve(actor=author, communication=comm)
        with pytest.raises(PermissionDenied, match="another person must reject"):
            approval.communication_reject(actor=author, communication=comm, comment="No")
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SUBMITTED and not comm.approvals.exists()
    with django_capture_on_commit_callbacks(execute=True):
        approval.communication_approve(actor=third_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.SENT and comm.approved_by == third_rights_manager


def test_whoever_recomposed_it_is_an_author_too(
    drafted, rights_manager, second_rights_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create.communication_recompose(actor=second_rights_manager, communication=drafted)
    comm = _submit(
        Communication.objects.get(pk=drafted.pk), rights_manager, django_capture_on_commit_callbacks
    )
    with pytest.raises(PermissionDenied, match="drafted, edited or submitted"):
        approval.communication_approve(actor=second_rights_manager, communication=comm)


def test_a_save_that_changes_nothing_keeps_the_approval(
    drafted,
    rights_manager,
    second_rights_manager,
    admin_a,
    rights_setup,
    django_capture_on_commit_callbacks,
):
    comm = _submit(drafted, rights_manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        approval.communication_approve(actor=second_rights_manager, communication=comm)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.QUEUED
    # an admin opens the template and the audience and saves them unchanged
    for instance in (rights_setup.template, rights_setup.audience):
        with django_capture_on_commit_callbacks(execute=True):
            setup_object_save(
                actor=admin_a, instance=instance, before=setup_object_snapshot(instance)
            )
    assert revalidation.communication_revalidate(communication_id=comm.pk) is False
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.QUEUED
    assert comm.approved_hash == comm.payload_hash
    assert not comm.approvals.filter(decision=Approval.Decision.VOIDED).exists()
    assert OutboxItem.objects.get().status == OutboxItem.Status.PENDING


def test_the_approvals_queue_leaves_out_what_you_authored(
    drafted,
    rights_manager,
    second_rights_manager,
    third_rights_manager,
    django_capture_on_commit_callbacks,
):
    comm = _submit(drafted, second_rights_manager, django_capture_on_commit_callbacks)
    assert list(approvals_for(user=rights_manager)) == []
    assert list(approvals_for(user=second_rights_manager)) == []
    assert list(approvals_for(user=third_rights_manager)) == [comm]
