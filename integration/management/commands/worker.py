"""``manage.py worker``: the django-q2 cluster (``qcluster``), stoppable twice.

django-q2's own ``qcluster`` answers every SIGTERM or SIGINT the same way: it asks its sentinel
to stop and waits for it, and the sentinel waits for each worker to finish the task it is
running, however long it takes (its guard loop, which enforces ``Q_CLUSTER["timeout"]``, has
ended by then). A second signal only starts the same wait again, so a worker asked twice to
stop still hangs until its task ends. Here the first signal is that graceful stop (running
tasks finish and are recorded); a second one stops at once: the sentinel, its task workers,
monitor and pusher are ended and the command exits. A task cut short that way was never
acknowledged, so the ORM broker delivers it again once ``Q_CLUSTER["retry"]`` seconds have
passed since it was taken. Colophon's tasks are written to run again safely (outbox rows are
leased and reconciled by external id before a second submission; compose checks its attempt).
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster

from integration.lib.processes import descendants, end_processes


class Command(BaseCommand):
    help = (
        "Start the django-q2 worker cluster. SIGTERM or Ctrl-C stops it after the tasks it is "
        "running; a second one stops it at once (those tasks are delivered again later)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        settings.SECRET_KEY  # noqa: B018 - as qcluster: refuse to start without it
        cluster = Cluster()  # installs django-q2's handlers; ours replace them below
        signals = 0

        def on_signal(signum: int, frame: FrameType | None) -> None:
            nonlocal signals
            signals += 1
            if signals == 1 and cluster.sentinel is not None:
                self.stderr.write(
                    "Worker stopping: the tasks it is running finish first "
                    "(signal it again to stop at once)."
                )
                # Runs in this handler until the sentinel is gone; a second signal interrupts
                # the wait and runs this handler again, below.
                cluster.stop()
                return
            self.stderr.write(
                "Worker stopping at once: running tasks are cut short; they are delivered again "
                f"{settings.Q_CLUSTER.get('retry', 60)} s after they were taken."
            )
            self.stderr.flush()
            end_processes(descendants(os.getpid()))
            os._exit(128 + signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        cluster.start()
        while cluster.sentinel is not None and cluster.sentinel.is_alive():
            cluster.sentinel.join(0.5)
