"""A composition whose worker died: heartbeat, the stalled notice, restart by hand (drafter or
imprint admin, audited, idempotent) and the scheduled sweep (bounded restarts, then draft)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from integration.communications import compose, create, stalls
from integration.lib.schedules import SCHEDULES
from integration.models import Communication, Message
from tests.factories import communication_type
from tests.scenarios import add_members

S = Communication.Status
T0 = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC)


def minutes(n: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=n)


class WorkerDied(BaseException):
    """Stands for a worker process killed mid-compose (not an ordinary exception)."""


@pytest.fixture
def stalled(rights_setup, rights_manager, django_capture_on_commit_callbacks, monkeypatch):
    """A 7-recipient composition whose worker died after writing its first chunk of 2, at T0."""
    monkeypatch.setattr(compose, "COMPOSE_CHUNK", 2)
    add_members(rights_setup.audience, 4, start=10)
    original = compose.insert_messages
    calls = []

    def dies_on_second_chunk(rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise WorkerDied()
        return original(rows)

    with time_machine.travel(T0, tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            comm = create.communication_create(
                actor=rights_manager,
                imprint=rights_setup.audience.imprint,
                communication_type=communication_type("rights-confirmation"),
                audience=rights_setup.audience,
                work=rights_setup.work,
            )
        monkeypatch.setattr(compose, "insert_messages", dies_on_second_chunk)
        with pytest.raises(WorkerDied):
            compose.communication_compose(communication_id=comm.pk)
    monkeypatch.setattr(compose, "insert_messages", original)
    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.COMPOSING and comm.compose_done == 2
    assert comm.messages.count() == 2 and comm.compose_heartbeat_at == T0
    return comm


def test_not_stalled_while_progress_is_recent(stalled, rights_manager):
    with time_machine.travel(minutes(4), tick=False):
        assert stalls.compose_stalled_minutes(stalled) is None
        with pytest.raises(ValidationError, match="still making progress"):
            stalls.communication_compose_restart(actor=rights_manager, communication=stalled)
    assert Communication.objects.get(pk=stalled.pk).compose_attempt == stalled.compose_attempt


def test_page_shows_stall_and_the_drafter_restarts_cleanly(
    stalled, rights_manager, login, django_capture_on_commit_callbacks
):
    client = login(rights_manager)
    url = reverse("communications:detail", args=[stalled.pk])
    with time_machine.travel(minutes(3), tick=False):
        assert b"seems stalled" not in client.get(url).content
    with time_machine.travel(minutes(7), tick=False):
        page = client.get(url).content.decode()
        assert "Composing seems stalled (no progress for 7 minutes)" in page
        assert "Restart composing" in page
        fragment = client.get(reverse("communications:progress", args=[stalled.pk]))
        assert b"no progress for 7 minutes" in fragment.content
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("communications:action", args=[stalled.pk, "restart-compose"])
            )
    assert response.status_code == 302
    comm = Communication.objects.get(pk=stalled.pk)
    assert comm.status == S.DRAFT and comm.compose_error == ""
    assert comm.recipient_count == 7 == comm.messages.count()
    assert list(comm.messages.values_list("sequence", flat=True)) == list(range(1, 8))
    assert comm.compose_restarts == 1 and comm.compose_attempt == stalled.compose_attempt + 1
    event = AuditEvent.objects.get(verb="communication.compose_restarted")
    assert event.actor == rights_manager and event.work_id == comm.work_id
    assert event.data["partial_messages_deleted"] == 2 and event.data["stalled_minutes"] == 7
    assert event.data["by"] == "hand"


def test_imprint_admin_may_restart_but_others_may_not(
    stalled, admin_a, second_rights_manager, viewer, outsider, login
):
    action = reverse("communications:action", args=[stalled.pk, "restart-compose"])
    with time_machine.travel(minutes(10), tick=False):
        for user in (second_rights_manager, viewer):
            with pytest.raises(PermissionDenied):
                stalls.communication_compose_restart(actor=user, communication=stalled)
            page = login(user).get(reverse("communications:detail", args=[stalled.pk]))
            assert b"seems stalled" in page.content and b"Restart composing" not in page.content
            assert login(user).post(action).status_code == 403
        assert login(outsider).post(action).status_code == 404
        assert Communication.objects.get(pk=stalled.pk).compose_restarts == 0
        stalls.communication_compose_restart(actor=admin_a, communication=stalled)
    comm = Communication.objects.get(pk=stalled.pk)
    assert comm.compose_restarts == 1 and comm.messages.count() == 0 and comm.compose_done == 0


def test_a_worker_of_a_superseded_attempt_writes_nothing(stalled, admin_a, monkeypatch):
    old_attempt = stalled.compose_attempt
    with time_machine.travel(minutes(10), tick=False):
        stalls.communication_compose_restart(actor=admin_a, communication=stalled)
    # The dead attempt's task, retried late, does nothing.
    compose.communication_compose(communication_id=stalled.pk, attempt=old_attempt)
    comm = Communication.objects.get(pk=stalled.pk)
    assert comm.status == S.COMPOSING and comm.messages.count() == 0
    # The new attempt is overtaken mid-way by another restart (committed elsewhere while it
    # composes): it stops at its next write and writes nothing.
    monkeypatch.setattr(compose, "COMPOSE_CHUNK", 2)
    original = compose.compliance_rules_for

    def restarted_meanwhile(**kwargs):
        Communication.objects.filter(pk=stalled.pk).update(compose_attempt=comm.compose_attempt + 1)
        return original(**kwargs)

    monkeypatch.setattr(compose, "compliance_rules_for", restarted_meanwhile)
    result = compose.communication_compose(
        communication_id=stalled.pk, attempt=comm.compose_attempt
    )
    assert result.status == S.COMPOSING and result.compose_error == ""
    assert Message.objects.filter(communication=stalled).count() == 0
    monkeypatch.setattr(compose, "compliance_rules_for", original)
    done = compose.communication_compose(
        communication_id=stalled.pk, attempt=comm.compose_attempt + 1
    )
    assert done.status == S.DRAFT and done.messages.count() == 7


def test_sweep_restarts_a_bounded_number_of_times_then_puts_it_back_to_draft(
    stalled, settings, django_capture_on_commit_callbacks
):
    settings.COMMUNICATION_COMPOSE_SWEEP_MINUTES = 15
    settings.COMMUNICATION_COMPOSE_MAX_RESTARTS = 2
    with django_capture_on_commit_callbacks(execute=False) as queued:
        with time_machine.travel(minutes(14), tick=False):
            assert stalls.communications_compose_sweep().startswith("0 stalled")
        with time_machine.travel(minutes(16), tick=False):
            assert stalls.communications_compose_sweep().startswith("1 stalled")
        comm = Communication.objects.get(pk=stalled.pk)
        assert comm.compose_restarts == 1 and comm.messages.count() == 0
        assert comm.compose_heartbeat_at == minutes(16)
        with time_machine.travel(minutes(30), tick=False):  # only 14 minutes since the restart
            assert stalls.communications_compose_sweep().startswith("0 stalled")
        with time_machine.travel(minutes(32), tick=False):
            stalls.communications_compose_sweep()
        assert Communication.objects.get(pk=stalled.pk).compose_restarts == 2
        with time_machine.travel(minutes(48), tick=False):
            assert "1 put back to draft" in stalls.communications_compose_sweep()
    assert len(queued) == 2  # one compose task per restart, none for giving up
    comm = Communication.objects.get(pk=stalled.pk)
    assert comm.status == S.DRAFT
    assert "stalled 3 times" in comm.compose_error and "restarted 2 times" in comm.compose_error
    assert comm.payload_hash == "" and comm.messages.count() == 0
    assert AuditEvent.objects.filter(verb="communication.compose_restarted").count() == 2
    assert AuditEvent.objects.filter(verb="communication.compose_abandoned").count() == 1
    assert set(
        AuditEvent.objects.filter(verb="communication.compose_restarted").values_list(
            "data__by", flat=True
        )
    ) == {"sweep"}


def test_sweep_leaves_healthy_and_finished_compositions_alone(
    stalled, rights_setup, rights_manager, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(minutes(100), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fresh = create.communication_create(
            actor=rights_manager,
            imprint=rights_setup.audience.imprint,
            communication_type=communication_type("rights-confirmation"),
            audience=rights_setup.audience,
            work=rights_setup.work,
        )
    with time_machine.travel(minutes(200), tick=False):
        stalls.communications_compose_sweep()
    fresh = Communication.objects.get(pk=fresh.pk)
    assert fresh.status == S.DRAFT and fresh.compose_restarts == 0
    assert Communication.objects.get(pk=stalled.pk).compose_restarts == 1


def test_the_sweep_is_scheduled():
    func, every = SCHEDULES["communications-compose-sweep"]
    assert func == "integration.tasks.communications_compose_sweep" and every <= 15
