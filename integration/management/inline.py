"""Run queued background tasks inline, for demo seed commands that must finish their work
(compose, dispatch, triggers) before they return, with or without a worker running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django_q.conf import Conf


@contextmanager
def tasks_inline() -> Iterator[None]:
    """Run queued tasks in this process (django-q's sync mode, as in the tests) while the
    block runs."""
    before = Conf.SYNC
    Conf.SYNC = True
    try:
        yield
    finally:
        Conf.SYNC = before
