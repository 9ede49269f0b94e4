"""The randomized fault suite at a large size (``BENCH_FAULT_SCENARIOS``, default 500; time
budget ``BENCH_FAULT_SECONDS``, default 1500), through pytest so it uses the same fixtures as
``make test``'s small run (tests/integration/test_fault_suite.py, engine in
tests/fault_suite.py).

On PostgreSQL the workers are threads claiming outbox rows concurrently. On SQLite, which has
no row locks, the workers take turns; the bench runs it there only at ``BENCH_FAULT_SQLITE``
scenarios (default 60) to keep ``make bench`` near its time budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, backend, row


def main() -> None:
    db = backend()
    if db == "postgresql":
        scenarios = int(os.environ.get("BENCH_FAULT_SCENARIOS", "500"))
        url = os.environ.get("BENCH_PG_URL") or os.environ["DATABASE_URL"]
        env_db = {"DATABASE_URL": url}
    else:
        scenarios = int(os.environ.get("BENCH_FAULT_SQLITE", "60"))
        env_db = {"DATABASE_URL": "sqlite:///:memory:"}
    report = Path(tempfile.mkdtemp(prefix="colophon-faults-")) / "report.json"
    env = {
        **os.environ,
        **env_db,
        "FAULT_SCENARIOS": str(scenarios),
        "FAULT_TIME_BUDGET": os.environ.get("BENCH_FAULT_SECONDS", "1500"),
        "FAULT_REPORT": str(report),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    env.pop("BENCH_DATABASE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db",
         "--tb=short", "tests/integration/test_fault_suite.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if not report.exists():
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-2000:])
    r = json.loads(report.read_text())
    faults = ", ".join(f"{k} {v}" for k, v in r["faults"].items())
    print(json.dumps(r))
    print(
        json.dumps(
            {
                "name": "faults",
                "database": db,
                "description": (
                    "The randomized fault suite (tests/fault_suite.py), seed "
                    f"{r['seed']}, asked for {scenarios} scenarios; figures and guarantees in "
                    "docs/reliability.md."
                ),
                "results": [
                    row("scenarios run", r["scenarios"], "", f"≥ {scenarios}",
                        r["scenarios"] >= scenarios),
                    row("faults injected", r["faults_injected"]),
                    row("messages submitted (in chunks)", f"{r['messages']} ({r['chunks']})"),
                    row("messages lost", r["messages_lost"], "", "0", r["messages_lost"] == 0),
                    row("messages duplicated", r["messages_duplicated"], "", "0",
                        r["messages_duplicated"] == 0),
                    row("distinct events (copies delivered)",
                        f"{r['events']} ({r['event_copies_delivered']})"),
                    row("events stored twice / wrong final status / status moved backwards",
                        f"{r['events_stored_twice']} / {r['wrong_final_status']} / "
                        f"{r['status_moved_backwards']}", "", "0 / 0 / 0",
                        r["events_stored_twice"] == r["wrong_final_status"]
                        == r["status_moved_backwards"] == 0),
                    row("write-backs to Consonance (lost / duplicated)",
                        f"{r['writebacks']} ({r['writebacks_lost']} / "
                        f"{r['writebacks_duplicated']})", "", "… (0 / 0)",
                        r["writebacks_lost"] == r["writebacks_duplicated"] == 0),
                    row("outbox rows stuck after recovery", r["stuck_after_recovery"], "", "0",
                        r["stuck_after_recovery"] == 0),
                    row("sync scenarios (attempts until converged) / not converged",
                        f"{r['sync_scenarios']} ({r['sync_attempts_until_converged']}) / "
                        f"{r['sync_not_converged']}", "", "… / 0",
                        r["sync_not_converged"] == 0),
                    row("sync runs caught up by the next scheduled run",
                        r["sync_caught_up_by_next_scheduled_run"]),
                    row("wall time", r["seconds"], "s"),
                ],
                "notes": [f"Faults by kind: {faults}."]
                + [f"Failure: {f}" for f in r["failures"][:5]],
            }
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
