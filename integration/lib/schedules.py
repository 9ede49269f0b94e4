"""Recurring background work, created in django-q2's scheduler after every migrate from the
one registry in ``integration/apps.py`` (``SCHEDULES``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_q.models import Schedule

# name -> (task path, minutes between runs); filled from integration/apps.py at start-up.
SCHEDULES: dict[str, tuple[str, int]] = {}


def register(name: str, func: str, minutes: int) -> None:
    SCHEDULES[name] = (func, minutes)


def ensure_schedules(**kwargs: Any) -> None:
    if getattr(settings, "TESTING", False):
        return
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
