"""The demo seeds refuse to run outside the demo: with the sandbox off (production) or a vendor
pointed at a real system they would create a superuser with the published demo password, or
draft, submit, approve — as two demo people, four eyes only in name — and send communications to
real people through the real Exstream. They stop with a reason and change nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent, User
from integration.models import Communication, OutboxItem

pytestmark = pytest.mark.django_db

SEEDS = [
    "seed_demo",
    "seed_demo_outcomes",
    "seed_demo_royalties",
    "seed_demo_actions",
    "seed_demo_flows",
]


def _nothing_changed(users: int) -> None:
    assert User.objects.count() == users
    assert not Communication.objects.exists()
    assert not OutboxItem.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("command", SEEDS)
def test_demo_seeds_refuse_production_settings(command, settings):
    settings.SANDBOX_ENABLED = False
    users = User.objects.count()
    with pytest.raises(CommandError, match="SANDBOX_ENABLED is off"):
        call_command(command)
    _nothing_changed(users)


@pytest.mark.parametrize("command", SEEDS)
@pytest.mark.parametrize("setting", ["EXSTREAM_URL", "CONSONANCE_URL"])
def test_demo_seeds_refuse_a_real_vendor(command, setting, settings):
    settings.SANDBOX_ENABLED = True
    setattr(settings, setting, "https://vendor.example.com")
    users = User.objects.count()
    with pytest.raises(CommandError, match=f"{setting} points at a real system"):
        call_command(command)
    _nothing_changed(users)


def test_seed_demo_runs_in_the_demo(settings):
    settings.SANDBOX_ENABLED = True
    settings.EXSTREAM_URL = settings.CONSONANCE_URL = ""
    call_command("seed_demo", stdout=None)
    assert User.objects.filter(email="super@demo.colophon.test", is_superuser=True).exists()
