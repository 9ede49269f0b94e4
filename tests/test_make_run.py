"""`make run` (scripts/run.sh) as a newcomer meets it: the tests build the demo with the same
commands in the same order, and whether the demo still needs its syncs and seeds is decided by
this checkout's database, never by a marker in `.venv` (a virtualenv may be shared between
checkouts, and outlives a removed db.sqlite3: the demo then started with no titles)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.scenarios import DEMO_COMMANDS

RUN_SH = (Path(__file__).resolve().parents[1] / "scripts" / "run.sh").read_text()


def test_the_tests_build_the_demo_with_make_runs_commands_in_its_order():
    ran = re.findall(r"^\s*\$PY manage\.py (\w+)", RUN_SH, re.M)
    seeds = [c for c in ran if c not in {"migrate", "runserver", "worker", "shell"}]
    assert seeds == [command[0] for command in DEMO_COMMANDS]


def test_the_demo_sync_is_decided_by_this_checkouts_database():
    assert ".venv/." not in RUN_SH.replace(".venv/.installed", "")
    condition = re.search(r"^if (.*demo.*|.*MARKER.*); then$", RUN_SH, re.M)
    assert condition, "the resync condition"
    # a marker file of this checkout, and the database itself: no titles, sync again
    assert '! -f "$MARKER"' in condition.group(1) and "! has_works" in condition.group(1)
    assert re.search(r"^MARKER=\.demo-synced$", RUN_SH, re.M)
    assert "Work.objects.exists()" in RUN_SH
    gitignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert ".demo-synced" in gitignore
