"""``insert_rows``: Django's ``bulk_create`` without its per-value expression compilation.

For the wide, many-row batches of a sync (prices, contributions, events …) ``bulk_create``
spends most of its time compiling each value as an expression. Here the INSERT is built once
and sent with ``executemany``; values still go through each field's ``get_db_prep_save`` where
the backend needs it (JSON, decimals, dates and times), so what is stored is identical.
Primary keys are not set on the objects: callers that need them look them up by their
Consonance id, as the mirror does.

On PostgreSQL a plain insert (no ``ignore_conflicts``) is sent as one ``COPY … FROM STDIN`` per
call instead: the same rows through the same constraints and triggers, without a statement per
row. The COPY goes through Django's execute wrappers and, with a debug cursor, the query log, so
whatever counts statements still sees it.
"""

from __future__ import annotations

import datetime
import decimal
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict

_PREPARED = (
    models.JSONField,
    models.DecimalField,
    models.DateField,
    models.DateTimeField,
    models.TimeField,
)
_READY: dict[type, type] = {
    models.DateField: datetime.date,
    models.DateTimeField: datetime.datetime,
    models.DecimalField: decimal.Decimal,
}
BATCH = 500
# A model instance, or a mapping of attribute names to values (see ``row_values``).
Row = models.Model | Mapping[str, Any]


def insert_rows(
    model: type[models.Model], objs: Sequence[Row], *, ignore_conflicts: bool = False
) -> int:
    """Insert ``objs`` (instances or mappings, see ``row_values``); with ``ignore_conflicts``
    a row that would break a unique constraint is skipped (``ON CONFLICT DO NOTHING`` /
    ``INSERT OR IGNORE``), as ``bulk_create`` does. Returns the number of rows sent (not the
    number stored)."""
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))
    ]
    quote = connection.ops.quote_name
    # Identifiers come from model metadata and are quoted; values are parameters.
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    suffix = (
        connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None)  # type: ignore[arg-type]
        if on_conflict
        else ""
    )
    sql = "{} {} ({}) VALUES ({}) {}".format(
        connection.ops.insert_statement(on_conflict=on_conflict),
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        suffix,
    ).rstrip()
    if connection.vendor == "postgresql" and not ignore_conflicts:
        rows = row_values(connection, fields, objs, json_text=True)
        copy_rows(connection, model._meta.db_table, [f.column for f in fields], rows)
        return len(rows)
    rows = row_values(connection, fields, objs)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])
    return len(rows)


def row_values(
    connection: BaseDatabaseWrapper,
    fields: Sequence[models.Field[Any, Any]],
    objs: Sequence[Row],
    *,
    json_text: bool = False,
) -> list[list[Any]]:
    """Each row's values for ``fields``, prepared for the database as ``save()`` would.

    A row is a model instance or, cheaper for many rows, a mapping of attribute names
    (``work_id``, not ``work``) to values; a field it leaves out takes the field's default, as
    a new instance would. An unknown name is an error, not a silently dropped value.

    With ``json_text`` (PostgreSQL COPY, whose text format the server parses per column type)
    JSON values are sent as their JSON text, and one object held by several fields or rows (a
    product's ``raw`` and ``snapshot`` are the same document) is serialised once."""
    plan = [
        (f, f.attname, isinstance(f, _PREPARED), json_text and isinstance(f, models.JSONField))
        for f in fields
    ]
    # For COPY (PostgreSQL), a value already of the field's own type is what preparing it
    # would return (psycopg adapts dates, decimals and aware datetimes itself): skip the call.
    ready = {
        id(f): t
        for f in fields
        for t in (_READY.get(type(f)),)
        if json_text and connection.vendor == "postgresql" and t is not None
    }
    known = {f.attname for f in fields}
    defaults: dict[str, Any] | None = None
    texts: dict[int, str] = {}
    rows: list[list[Any]] = []
    for obj in objs:
        if isinstance(obj, Mapping):
            if not obj.keys() <= known:
                raise TypeError(f"Unknown fields for these rows: {sorted(obj.keys() - known)}")
            if defaults is None:
                defaults = {f.attname: f.get_default() for f in fields}
            values = [obj.get(attname, defaults[attname]) for _f, attname, _p, _t in plan]
        else:
            values = [getattr(obj, attname) for _f, attname, _p, _t in plan]
        row = []
        for (field, _attname, prepare, as_text), value in zip(plan, values, strict=True):
            if as_text and value is not None:
                text = texts.get(id(value))
                if text is None:
                    text = texts[id(value)] = json.dumps(value, cls=field.encoder)  # type: ignore[attr-defined]
                row.append(text)
            elif (
                not prepare
                or value is None
                or (
                    type(value) is ready.get(id(field))
                    and not (type(value) is datetime.datetime and value.tzinfo is None)
                )
            ):
                row.append(value)
            else:
                row.append(field.get_db_prep_save(value, connection))
        rows.append(row)
    return rows


def copy_rows(
    connection: BaseDatabaseWrapper, table: str, columns: list[str], rows: list[list[Any]]
) -> None:
    """``COPY table (columns) FROM STDIN`` with ``rows`` (PostgreSQL, psycopg 3)."""
    quote = connection.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(quote(table), ", ".join(quote(c) for c in columns))

    def run(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor._execute_with_wrappers(sql, None, many=False, executor=run)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
