"""A tiny run of bench/consonance_sync.py so the benchmark script keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    report = json.loads(result.stdout)
    assert report["products"] == 50
    assert report["noop_resync_rows_written"] == 0
    assert report["noop_resync_unchanged"] == report["works"] + report["contracts"]
    assert report["products_per_second"] > 0
