"""A tiny run of bench/consonance_sync.py so the benchmark script keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_benchmark_script_runs_and_a_no_change_resync_writes_nothing():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "consonance_sync.py"),
            "--products",
            "50",
            "--pairs",
            "2",
        ],
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
    assert rows["B2 rows written by all the no-change resyncs"]["met"] is True
    assert rows["B2 replays that differ from their resync (requests, answers, retries)"]["met"]
    assert rows["B1 initial sync ÷ replay of its requests"]["value"] > 0
    assert report["products"] == 50
    assert report["noop_resync_rows_written"] == 0
    assert report["noop_resync_unchanged"] == report["works"] + report["contracts"]
    assert report["products_per_second"] > 0
    # B2 is interleaved pairs (resync, replay, …): the median with its spread, every replay the
    # same requests as its resync and the same answers.
    assert report["noop_resync_pairs"] == 2
    assert len(report["resync_to_replay_ratios"]) == 2
    low, mid, high = (
        report["resync_to_replay_ratio_min"],
        report["resync_to_replay_ratio"],
        report["resync_to_replay_ratio_max"],
    )
    assert 0 < low <= mid <= high
    assert report["noop_resync_requests"] > 0
    assert report["noop_resync_requests_differ"] == 0
    assert report["noop_resync_replay_answers_differ"] == 0
    assert report["replay_answers_differ"] == 0
    assert report["noop_resync_unlogged_wire_requests"] == 0
    assert len(report["noop_resync_load_average"]) == 2
