"""Run every benchmark script in bench/ on PostgreSQL and on SQLite, print the ratio table and
write docs/benchmarks.md.

Each script (bench/<name>.py, standalone) prints one JSON object as its LAST line of stdout:
    {"name": "...", "database": "postgresql|sqlite", "description": "...",
     "results": [{"metric": "...", "value": ..., "unit": "...", "target": "...",
                  "met": true|false|null}], "notes": ["..."],
     "files": {"docs/...": "text"}}   (optional: attachments the notes link to, e.g. a profile)
Speed targets are reported as ratios (or rates) measured in the same run, each beside its floor,
never as timed unit tests.

PostgreSQL runs inside ``scripts/with-postgres.sh`` (a throwaway cluster, every script its own
database); SQLite on temporary files. ``BENCH_BACKENDS=postgresql`` (or ``sqlite``) runs one.
Sizes come from the ``BENCH_*`` variables each script documents; the defaults fit a full run of
both backends in about ten minutes on a 2-core machine.

Usage: ``make bench`` or ``.venv/bin/python bench/run.py [script names...]``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = ROOT / "docs" / "benchmarks.md"
BACKENDS = ("postgresql", "sqlite")


def run_script(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
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
    result: dict[str, Any]
    if proc.returncode != 0 or not lines:
        result = {
            "name": path.stem,
            "error": (proc.stderr or proc.stdout)[-2000:] or f"exit {proc.returncode}",
        }
    else:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = {"name": path.stem, "error": f"last line was not JSON: {lines[-1][:200]}"}
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _server_version() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def inner(backend: str, out: Path, only: set[str]) -> int:
    """Run the scripts against one backend (already provisioned) and save their results."""
    os.environ["BENCH_DATABASE"] = backend
    scripts = sorted(
        p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")
    )
    if only:
        scripts = [p for p in scripts if p.stem in only]
    results = []
    for script in scripts:
        print(f"bench[{backend}]: running {script.name} …", flush=True)
        results.append(run_script(script))
        print(json.dumps(results[-1])[:600], flush=True)
    out.write_text(json.dumps({"server": _server_version(), "results": results}), encoding="utf-8")
    return 0


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        mem = f"{mem_kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration, ValueError):
        mem = "RAM unknown"
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(runs: dict[str, dict], load: tuple[str, str], wall: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    servers = ", ".join(runs[b]["server"] for b in runs)
    out = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {now}: {_machine()}; {servers}. Load average "
        f"(1/5/15 min) {load[0]} before and {load[1]} after; the run took {wall / 60:.1f} "
        "minutes. The machine is shared with other work, so absolute figures move between "
        "runs; each ratio divides two measurements taken minutes apart in the same run.",
        "",
        "Production settings on both backends (DEBUG off, tasks to the django-q ORM broker). "
        "PostgreSQL is a throwaway local cluster from `scripts/with-postgres.sh` "
        "(fsync off, as in the test runs); SQLite is a file in /tmp. The sandbox vendors run "
        "in their own processes on their own SQLite files, the same for a measurement and its "
        "floor.",
        "",
    ]
    by_name: dict[str, dict[str, dict]] = {}
    for backend, data in runs.items():
        for result in data["results"]:
            by_name.setdefault(result["name"], {})[backend] = result
    backends = list(runs)
    header = " | ".join(b for b in backends)
    out += ["## Goals", "", f"| benchmark | metric | {header} | target |", "|---|---|"
            + "---|" * len(backends) + "---|"]  # fmt: skip
    for name, per in by_name.items():
        metrics: list[str] = []
        for result in per.values():
            for r in result.get("results", []):
                if r.get("met") is not None and r["metric"] not in metrics:
                    metrics.append(r["metric"])
        for metric in metrics:
            cells = []
            target = "—"
            for backend in backends:
                found = next(
                    (r for r in per.get(backend, {}).get("results", []) if r["metric"] == metric),
                    None,
                )
                if found is None:
                    cells.append("—")
                    continue
                target = found.get("target", target)
                mark = {True: "", False: " **(not met)**", None: ""}[found.get("met")]
                cells.append(f"{_fmt(found['value'])} {found.get('unit', '')}{mark}")
            out.append(f"| {name} | {metric} | {' | '.join(cells)} | {target} |")
    out.append("")
    for name, per in by_name.items():
        out += [f"## {name}", ""]
        first = next(iter(per.values()))
        if first.get("description"):
            out += [first["description"], ""]
        for backend in backends:
            result = per.get(backend)
            if result is None:
                continue
            out += [f"### {backend} ({result.get('seconds', '?')} s)", ""]
            if "error" in result:
                out += ["**Failed to run:**", "", "```", result["error"], "```", ""]
                continue
            out += ["| metric | value | target | met |", "|---|---|---|---|"]
            for r in result.get("results", []):
                met = {True: "yes", False: "**no**", None: "—"}[r.get("met")]
                out.append(
                    f"| {r['metric']} | {_fmt(r.get('value'))} {r.get('unit', '')} "
                    f"| {r.get('target', '—')} | {met} |"
                )
            out.append("")
            for note in result.get("notes", []):
                out.append(f"- {note}")
            out.append("")
    sizes = {k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")}
    out += [
        "## Sizes",
        "",
        "Defaults unless listed: BENCH_PRODUCTS=10000 (sync), BENCH_RECIPIENTS=50000 (compose "
        "and dispatch), BENCH_EVENTS=20000 and BENCH_TITLES=200 (status and timeline), "
        "BENCH_PUSH_REQUESTS=1500 with BENCH_PUSH_WORKERS=4, BENCH_FAULT_SCENARIOS=500. "
        f"Set for this run: {sizes or 'none'}.",
        "",
    ]
    return "\n".join(out)


def write_attachments(runs: dict[str, dict], base: Path) -> None:
    """Write the files a script attached to its result (``"files": {path under docs/: text}``,
    e.g. a profile the notes link to): into the repository with docs/benchmarks.md, or into
    the run's temporary directory on a partial run (which leaves docs/ as it was)."""
    for data in runs.values():
        for result in data["results"]:
            for rel, content in (result.get("files") or {}).items():
                if not rel.startswith("docs/") or ".." in Path(rel).parts:
                    continue  # only files under docs/, nowhere else
                path = base / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                print(f"bench: wrote {path}")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--inner"]:
        return inner(argv[1], Path(argv[3]), set(argv[4:]))
    only = list(argv)
    os.environ.setdefault("BENCH_RECIPIENTS", "50000")
    backends = [b.strip() for b in os.environ.get("BENCH_BACKENDS", ",".join(BACKENDS)).split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="colophon-bench-run-"))
    load_before = _load()
    started = time.monotonic()
    runs: dict[str, dict] = {}
    for backend in backends:
        out = tmp / f"{backend}.json"
        command = [sys.executable, str(Path(__file__)), "--inner", backend, "--out", str(out)]
        if backend == "postgresql":
            command = [str(ROOT / "scripts" / "with-postgres.sh"), *command]
        subprocess.run([*command, *only], cwd=ROOT, check=False)
        if out.exists():
            runs[backend] = json.loads(out.read_text(encoding="utf-8"))
        else:
            runs[backend] = {
                "server": backend,
                "results": [{"name": "all", "error": f"the {backend} run did not finish"}],
            }
    text = render(runs, (load_before, _load()), time.monotonic() - started)
    if only and OUT.exists():
        print("bench: a partial run; docs/benchmarks.md left as it was.")
        print(text)
        write_attachments(runs, tmp)
    else:
        OUT.write_text(text, encoding="utf-8")
        print(text)
        print(f"bench: wrote {OUT.relative_to(ROOT)}")
        write_attachments(runs, ROOT)
    return 1 if any("error" in r for d in runs.values() for r in d["results"]) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
