"""Finding and ending a process's descendants (the worker's forced stop: django-q2's sentinel
forks the task workers, its monitor and pusher, which the worker's main process does not know).
psutil does the finding and the waiting, on every platform it supports."""

from __future__ import annotations

import contextlib

import psutil


def descendants(pid: int) -> list[psutil.Process]:
    """``pid``'s children, their children and so on (none if ``pid`` is gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def end_processes(processes: list[psutil.Process], *, grace: float = 2.0) -> None:
    """SIGTERM each process, then SIGKILL whichever is still there after ``grace`` seconds.
    ``wait_procs`` reaps those that are our own children, so none lingers as a zombie."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)
