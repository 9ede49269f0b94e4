"""The one registry in integration/apps.py: every outbox kind has a handler, every schedule
names a real task, and nothing registers itself anywhere else."""

from __future__ import annotations

import pathlib

from django.utils.module_loading import import_string

from integration import apps
from integration.delivery import outbox
from integration.lib import schedules
from integration.models import OutboxItem


def test_every_outbox_kind_has_its_registered_handler():
    assert set(apps.OUTBOX_HANDLERS) == set(OutboxItem.Kind.values)
    for kind, path in apps.OUTBOX_HANDLERS.items():
        assert outbox.HANDLERS[kind] is import_string(path)
        for method in ("send", "reconcile", "on_success", "on_dead", "on_cancel"):
            assert callable(getattr(outbox.HANDLERS[kind], method))


def test_every_schedule_names_a_task_and_is_registered():
    for name, (func, _minutes) in apps.SCHEDULES.items():
        assert func.startswith("integration.tasks."), name
        assert callable(import_string(func)), name
        assert schedules.SCHEDULES[name][0] == func


def test_nothing_registers_handlers_or_schedules_outside_apps_py():
    root = pathlib.Path(apps.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "apps.py"
        and ("register_handler(" in path.read_text() or "schedules.register(" in path.read_text())
        and path.relative_to(root).as_posix() not in ("delivery/outbox.py", "lib/schedules.py")
    ]
    assert offenders == []
