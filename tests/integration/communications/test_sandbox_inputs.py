"""A communication sent to the sandbox Exstream over real HTTP when Exstream refuses the batch's
driver data source (reference §3): compose, four eyes, dispatch."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.test import Client

from integration.communications import approval
from integration.models import Communication, OutboxItem
from sandbox.models import ExstreamSandboxCommunication, ExstreamSandboxJob
from tests.scenarios import LETTER, rights_letter_setup, sandbox_clients_forgotten

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status


def _seeded_types() -> None:
    # a transactional test before this one flushed the seeded communication types
    importlib.import_module("integration.migrations.0003_seed_communication_types").seed(
        django_apps, None
    )


@pytest.fixture
def letter(sandbox, imprint_a, settings):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    _seeded_types()
    yield rights_letter_setup(imprint=imprint_a, domains=["production"])
    sandbox_clients_forgotten()


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _created(letter, user) -> Communication:
    response = _api(user).post(
        "/api/v1/communications/",
        {
            "imprint": letter["audience"].imprint_id,
            "communication_type": "rights-confirmation",
            "audience": letter["audience"].pk,
            "work": letter["work"].pk,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return Communication.objects.get(pk=response.json()["id"])


def test_a_batch_whose_driver_data_source_exstream_refuses_is_failed_not_retried(
    letter, rights_manager, second_rights_manager
):
    # The Exstream team renamed the design's driver data source; Colophon has not synced since.
    ExstreamSandboxCommunication.objects.filter(name=LETTER).update(dsn="RightsLetterV2Driver")
    comm = _created(letter, rights_manager)
    assert _api(rights_manager).post(f"/api/v1/communications/{comm.pk}/submit/").status_code == 200

    approval.communication_approve(actor=second_rights_manager, communication=comm)

    comm = Communication.objects.get(pk=comm.pk)
    assert comm.status == S.FAILED
    assert not ExstreamSandboxJob.objects.exists()
    first = OutboxItem.objects.order_by("id").first()
    assert first is not None and first.status == "dead"
    assert "'RightsConfirmationLetterDriver' does not belong" in first.dead_reason
    assert list(first.attempt_rows.values_list("outcome", "status_code")) == [("dead", 400)]
