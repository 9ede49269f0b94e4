"""The Consonance connector: client (``client``), record mapping (``mapping``), ONIX and royalty
readers (``onix``, ``royalties``). Services live in ``integration.services``."""

from __future__ import annotations


def register_schedule() -> None:
    from django.conf import settings

    from integration.lib import schedules

    schedules.register(
        "consonance-sync",
        "integration.tasks.consonance_scheduled_sync",
        int(settings.CONSONANCE_SYNC_MINUTES),
    )
