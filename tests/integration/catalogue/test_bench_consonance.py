"""A tiny run of bench/consonance_sync.py so the benchmark script keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_benchmark_script_runs_and_a_no_change_resync_writes_nothing():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "consonance_sync.py"), "--products", "50"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report, _ = json.JSONDecoder().raw_decode(result.stdout)
    summary = json.loads(result.stdout.strip().splitlines()[-1])  # what bench/run.py collects
    assert summary["name"] == "consonance_sync"
    rows = {row["metric"]: row for row in summary["results"]}
    assert rows["B2 rows written by the no-change resync"]["met"] is True
    assert rows["B1 initial sync ÷ replay of its requests"]["value"] > 0
    assert report["products"] == 50
    assert report["noop_resync_rows_written"] == 0
    assert report["noop_resync_unchanged"] == report["works"] + report["contracts"]
    assert report["products_per_second"] > 0
