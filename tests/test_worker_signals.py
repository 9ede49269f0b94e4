"""`manage.py worker` (the django-q2 cluster `make run` starts) stopped by signals, as real
processes: the first SIGTERM lets the tasks it is running finish and be recorded; a second one
stops it at once (django-q2's own `qcluster` only waited for the tasks again, however long
they took), ending its task processes and leaving an unfinished task in the queue to be
delivered again. Each run gets its own SQLite file with only django-q2's tables; every wait
is bounded."""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(db: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "COLOPHON_TESTING")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="true",
        SECRET_KEY="worker-signals-secret-key-worker-signals-secret-key",
        DATABASE_URL=f"sqlite:///{db}",
        Q_WORKERS="2",
        PYTHONUNBUFFERED="1",
    )
    return env


def _queue_sleeps(db: Path, *seconds: float) -> None:
    """django-q2's tables in a fresh SQLite file, and one task ``time.sleep(s)`` per value."""
    script = (
        "from django.core.management import call_command; "
        "call_command('migrate', 'django_q', verbosity=0); "
        "from django_q.tasks import async_task; "
        + "; ".join(f"async_task('time.sleep', {s})" for s in seconds)
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT,
        env=_env(db),
        check=True,
        timeout=60,
        capture_output=True,
    )


class Worker:
    def __init__(self, db: Path) -> None:
        # Its own session, so whatever happens the test can end it and all it started.
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            cwd=ROOT,
            env=_env(db),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.task_pids: list[int] = []
        self.waited: dict[str, int] = {}

    def wait_for(self, text: str, timeout: float = 15) -> None:
        """Read its log until one more line than before holds ``text`` (lines already read
        count, whatever order they came in). Bounded: the reads are line by line, and the
        log ends when the process does."""
        assert self.process.stderr is not None
        self.waited[text] = self.waited.get(text, 0) + 1
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < self.waited[text]:
            line = self.process.stderr.readline()
            if not line or time.monotonic() > deadline:
                pytest.fail(f"the worker never logged {text!r}:\n{''.join(self.lines)}")
            self.lines.append(line)
            if "ready for work at" in line:
                self.task_pids.append(int(line.rsplit(" ", 1)[-1]))

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def exited_within(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def end(self) -> None:
        """End it and anything it left behind in its session (only what this test started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[Callable[..., Worker], Path]]:
    db = tmp_path / "worker.sqlite3"
    started: list[Worker] = []

    def start(*seconds: float) -> Worker:
        _queue_sleeps(db, *seconds)
        w = Worker(db)
        started.append(w)
        return w

    yield start, db
    for w in started:
        w.end()


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_first_sigterm_finishes_the_running_tasks_a_second_stops_at_once(worker):
    start, db = worker
    w = start(1.5, 60)  # two task workers: one task each
    w.wait_for("processing")
    w.wait_for("processing")
    w.signal()
    w.wait_for("stopping cluster processes")
    # the short task is let finish and is recorded; the worker waits on for the long one
    w.wait_for("Processed 'time.sleep'")
    assert not w.exited_within(0.5)
    assert _rows(db, "SELECT func, success FROM django_q_task") == [("time.sleep", 1)]
    w.signal()
    assert w.exited_within(5), "a second SIGTERM must stop the worker at once"
    assert w.process.returncode == 128 + signal.SIGTERM
    assert len(w.task_pids) == 2 and not any(_running(pid) for pid in w.task_pids)
    # the long task was never acknowledged: it stays in the broker's queue, to be delivered
    # again after Q_CLUSTER["retry"] seconds; nothing was recorded for it
    [(lock,)] = _rows(db, "SELECT lock FROM django_q_ormq")
    taken = datetime.datetime.fromisoformat(lock).replace(tzinfo=datetime.UTC)
    assert taken > datetime.datetime.now(datetime.UTC)  # delivered again once the lock passes
    assert _rows(db, "SELECT count(*) FROM django_q_task") == [(1,)]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_two_ctrl_c_stop_it_too(worker):
    start, _db = worker
    w = start(60)
    w.wait_for("processing")
    w.signal(signal.SIGINT)
    w.wait_for("stopping cluster processes")
    assert not w.exited_within(0.5)
    w.signal(signal.SIGINT)
    assert w.exited_within(5), "a second Ctrl-C must stop the worker at once"
    assert w.process.returncode == 128 + signal.SIGINT
    assert w.task_pids and not any(_running(pid) for pid in w.task_pids)
