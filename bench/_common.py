"""Shared by the bench scripts: which database a run uses, production settings, timing helpers.

``BENCH_DATABASE`` is ``postgresql`` or ``sqlite`` (default). For PostgreSQL, ``DATABASE_URL``
must point at a server we may create databases on (``scripts/with-postgres.sh`` gives one);
every script gets a fresh database of its own, so runs never share state.

Settings are production ones: ``DEBUG`` off (no query log, no debug toolbar work),
``COLOPHON_TESTING`` off (tasks go to the django-q ORM broker, as in production), a real secret.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def backend() -> str:
    value = os.environ.get("BENCH_DATABASE", "sqlite").lower()
    return "postgresql" if value.startswith("postg") else "sqlite"


def database_url(name: str, tmp: Path) -> str:
    """A fresh, empty database for this script (PostgreSQL: a new database on the server)."""
    if backend() == "sqlite":
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    base = os.environ.get("BENCH_PG_URL") or os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("BENCH_DATABASE=postgresql needs DATABASE_URL (scripts/with-postgres.sh)")
    os.environ["BENCH_PG_URL"] = base
    import psycopg

    dbname = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    # with-postgres.sh's cluster has only the ``postgres`` maintenance database.
    with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return base.rsplit("/", 1)[0] + "/" + dbname


def production_env(db_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "COLOPHON_TESTING": "false",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SANDBOX_ENABLED": "true",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        **extra,
    }


def django_setup(db_url: str, **extra: str) -> None:
    os.environ.update(production_env(db_url, **extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_of(fn: Any, repeat: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(
    metric: str,
    value: Any,
    unit: str = "",
    target: str = "—",
    met: bool | None = None,
) -> dict[str, Any]:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "met": met}


def write_floor(table: str, where: str = "", params: tuple[Any, ...] = ()) -> tuple[float, int]:
    """Seconds to write the same rows of ``table`` (those matching ``where``) into an empty copy
    of it with the same indexes, by ``COPY`` on PostgreSQL and by bare multi-row ``INSERT``s
    (500 rows each) on SQLite, in one transaction. The rows are read into memory first, so only
    the write is timed. Returns (seconds, rows)."""
    from django.db import connection, transaction

    floor = f"{table}_floor"
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} {where}", params)
        columns = [c[0] for c in cur.description]
        rows = cur.fetchall()
        cur.execute(f"DROP TABLE IF EXISTS {floor}")
        if connection.vendor == "postgresql":
            cur.execute(f"CREATE TABLE {floor} (LIKE {table} INCLUDING ALL)")
        else:
            cur.execute(f"CREATE TABLE {floor} AS SELECT * FROM {table} WHERE 0")
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=%s "
                "AND sql IS NOT NULL",
                (table,),
            )
            for name, sql in cur.fetchall():
                cur.execute(
                    sql.replace(f'"{name}"', f'"{name}_floor"', 1).replace(
                        f'"{table}"', f'"{floor}"', 1
                    )
                )
    cols = ", ".join(f'"{c}"' for c in columns)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.copy(f"COPY {floor} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            for i in range(0, len(rows), 500):
                part = rows[i : i + 500]
                cur.execute(
                    f"INSERT INTO {floor} ({cols}) VALUES " + ", ".join([one] * len(part)),
                    [v for r in part for v in r],
                )
    seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {floor}")
    return seconds, len(rows)
