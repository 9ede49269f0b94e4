"""``upsert_rows``: one ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE <changed> RETURNING``
statement per batch, on PostgreSQL and SQLite alike.

The mirror sends the new and changed records of a page here, keyed by their source id
(``consonance_id``). A row whose key already exists is updated only when one of the ``changed``
columns differs from the stored one (``IS DISTINCT FROM`` on PostgreSQL, ``IS NOT`` on SQLite,
the same null-safe comparison) or when the stored row carries a non-null ``reinstate`` column
(a withdrawn record that came back); otherwise it is left untouched and not returned. So a
record another writer stored meanwhile with the same content is not written twice, and the
comparison happens in the database, not in a read-then-write race.

Returns ``{key: primary key}`` for the rows inserted or updated. Values go through each field's
``get_db_prep_save`` as ``insert_rows`` does, so what is stored is identical.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from integration.lib.bulk import Row, copy_rows, row_values


def upsert_rows(
    model: type[models.Model],
    objs: Sequence[Row],
    *,
    key: str,
    update: Sequence[str],
    changed: Sequence[str],
    reinstate: str | None = None,
) -> dict[Any, int]:
    """Upsert ``objs`` keyed by the unique field ``key``; see the module docstring."""
    if not objs:
        return {}
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [
        f
        for f in meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))
    ]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)

    def column(name: str) -> str:
        return quote(str(meta.get_field(name).column))  # type: ignore[union-attr]

    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    when = [f"{table}.{column(c)} {distinct} EXCLUDED.{column(c)}" for c in changed]
    if reinstate:
        when.append(f"{table}.{column(reinstate)} IS NOT NULL")
    # Identifiers come from model metadata and are quoted; values are parameters.
    columns = ", ".join(quote(f.column) for f in fields)
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
    tail = " ON CONFLICT ({}) DO UPDATE SET {} WHERE {} RETURNING {}, {}".format(
        column(key),
        ", ".join(f"{column(c)} = EXCLUDED.{column(c)}" for c in update),
        " OR ".join(when) if when else "TRUE",
        quote(pk.column),
        column(key),
    )
    if connection.vendor == "postgresql":
        return _upsert_staged(connection, meta.db_table, fields, objs, columns, tail)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    limit = connection.features.max_query_params or 999
    batch = max(1, limit // len(fields))
    rows = row_values(connection, fields, objs)
    result: dict[Any, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            sql = head + ", ".join([placeholders] * len(chunk)) + tail
            cursor.execute(sql, [value for row in chunk for value in row])
            result.update((k, p) for p, k in cursor.fetchall())
    return result


def _upsert_staged(
    connection: BaseDatabaseWrapper,
    db_table: str,
    fields: Sequence[models.Field[Any, Any]],
    objs: Sequence[Row],
    columns: str,
    tail: str,
) -> dict[Any, int]:
    """PostgreSQL: COPY the rows into a session-local staging table shaped like the target
    (created once per connection, emptied before each use), then one
    ``INSERT … SELECT … ON CONFLICT … RETURNING``. A statement with thousands of parameters
    costs more to build, send and plan than the COPY does. All of it runs in one transaction,
    so it also works behind a transaction-pooling proxy;
    the staging table's name carries a digest of the column list, so a connection that
    outlives a migration gets a new one instead of a stale shape."""
    quote = connection.ops.quote_name
    name = f"colophon_stage_{db_table}_{zlib.crc32(columns.encode()):08x}"[-63:]
    stage = quote(name)
    # In the caller's transaction (a new one only when there is none), without a savepoint of
    # its own: every statement here is a round trip.
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        # Identifiers come from model metadata and are quoted; no parameters, so both
        # statements go in one round trip.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
            f"SELECT {columns} FROM {quote(db_table)} WITH NO DATA; TRUNCATE {stage}"
        )
        copy_rows(
            connection,
            name,
            [f.column for f in fields],
            row_values(connection, fields, objs, json_text=True),
        )
        cursor.execute(
            f"INSERT INTO {quote(db_table)} ({columns}) SELECT {columns} FROM {stage}{tail}"  # noqa: S608
        )
        return {k: p for p, k in cursor.fetchall()}
