"""Run every benchmark script in bench/ and write the results to docs/benchmarks.md.

Each script (bench/<name>.py, standalone) prints one JSON object as its LAST line of stdout:
    {"name": "...", "description": "...", "results": [{"metric": "...", "value": ..., "unit": "...",
      "target": "...", "met": true|false|null}], "notes": ["..."]}
Speed targets are reported as ratios measured in the same run, never as timed unit tests.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = ROOT / "docs" / "benchmarks.md"


def run_script(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {
            "name": path.stem,
            "error": (proc.stderr or proc.stdout)[-2000:] or f"exit {proc.returncode}",
        }
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"name": path.stem, "error": f"last line was not JSON: {lines[-1][:200]}"}


def render(results: list[dict]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {now}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite unless stated. Ratios compare two "
        "measurements taken in the same run, so they hold across machines better than seconds.",
        "",
    ]
    for result in results:
        out.append(f"## {result.get('name')}")
        out.append("")
        if result.get("description"):
            out += [result["description"], ""]
        if "error" in result:
            out += ["**Failed to run:**", "", "```", result["error"], "```", ""]
            continue
        out += ["| metric | value | target | met |", "|---|---|---|---|"]
        for row in result.get("results", []):
            value = row.get("value")
            if isinstance(value, float):
                value = f"{value:,.2f}"
            met = {True: "yes", False: "**no**", None: "—"}[row.get("met")]
            out.append(
                f"| {row['metric']} | {value} {row.get('unit', '')} | {row.get('target', '—')} "
                f"| {met} |"
            )
        out.append("")
        for note in result.get("notes", []):
            out.append(f"- {note}")
        out.append("")
    return "\n".join(out)


def main() -> int:
    only = set(sys.argv[1:])
    scripts = sorted(
        p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")
    )
    if only:
        scripts = [p for p in scripts if p.stem in only]
    results = []
    for script in scripts:
        print(f"bench: running {script.name} …", flush=True)
        results.append(run_script(script))
        print(json.dumps(results[-1], indent=2)[:2000], flush=True)
    OUT.write_text(render(results), encoding="utf-8")
    print(f"bench: wrote {OUT.relative_to(ROOT)}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
