"""seed_sandbox_changes is idempotent on make run's sixty-work sandbox: a rerun (make run
RESYNC=1, or the tests' rebuild) changed the next title with two forthcoming formats too, since
the first no longer has two once one is published, and the next sync drafted its notices."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sandbox.consonance import store
from sandbox.models import SandboxProduct, SandboxWork

pytestmark = pytest.mark.django_db


def _state() -> tuple[list[tuple[int, str]], list[tuple[int, str, str]]]:
    works = [(w.pk, str(w.data.get("projectStage"))) for w in SandboxWork.objects.order_by("pk")]
    products = [
        (p.pk, str(p.data.get("onixPublishingStatusCode")), str(p.data.get("publicationDate")))
        for p in SandboxProduct.objects.order_by("pk")
    ]
    return works, products


@pytest.mark.parametrize("works", [6, 60])
def test_a_second_run_changes_nothing(works):
    store.seed(works=works, reset=True)
    out = io.StringIO()
    call_command("seed_sandbox_changes", stdout=out)
    assert "approved;" in out.getvalue()
    approved = [pk for pk, stage in _state()[0] if stage == "Approved"]
    assert len(approved) == 1
    before = _state()

    out = io.StringIO()
    call_command("seed_sandbox_changes", stdout=out)
    assert "already made" in out.getvalue()
    assert _state() == before
