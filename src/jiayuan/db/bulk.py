"""Multi-row statements whose SQL text does not grow with the number of rows.

On PostgreSQL the rows travel as one JSON document (`json_to_recordset`) and a list of values as
one array (`= ANY`), so the statement text is short and the same for every batch: psycopg parses
it once and caches it, where a 500-row `VALUES` or `IN` list is parsed again, in Python, for every
batch (profiled: half the time of an ingest batch); orjson encodes the rows, datetimes included.
SQLite gets the usual multi-row forms, which its in-process driver runs cheaply.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    Row,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import Executable

from jiayuan.db.base import UTCDateTime


def is_postgresql(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (statements built once are kept per dialect)."""
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts_on: Sequence[str] = (),
) -> list[Row[Any]]:
    """INSERT the rows (all with the same keys) in one statement; RETURNING rows come back unordered.

    With `ignore_conflicts_on`, rows that clash on those unique columns are skipped
    (`ON CONFLICT DO NOTHING`) and only the rows really inserted are returned.
    """
    if not rows:
        return []
    postgres = is_postgresql(session)
    shape = (tuple(rows[0]), tuple(returning), tuple(ignore_conflicts_on))
    statement = _insert_statement(postgres, table, *shape)
    if postgres:
        _refuse_naive_datetimes(table, rows)
        result = session.execute(statement, {"rows": orjson.dumps(rows).decode()})
    else:
        result = session.execute(statement, list(rows))
    return list(result.all()) if returning else []


def insert_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT the rows and return their new ids in the rows' order (one batched statement per backend).

    Core inserts, not ORM bulk inserts: the ORM splits a batch wherever a column is None in some
    rows (phones of children), which turns thousands of rows into thousands of statements on PostgreSQL.
    """
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.connection().execute(statement, list(rows)).scalars())


@functools.cache
def _insert_statement(
    postgres: bool,
    table: Table,
    names: tuple[str, ...],
    returning: tuple[str, ...],
    conflict: tuple[str, ...],
) -> Executable:
    """Built once per shape: building and keying a statement costs more than running it on a short batch."""
    if postgres:
        document = cast(bindparam("rows", type_=Text), JSON)
        source = (
            func.json_to_recordset(document)
            .table_valued(*[column(name, table.c[name].type) for name in names])
            .render_derived(with_types=True)
        )
        statement = postgresql.insert(table).from_select(names, select(*source.c))
        if conflict:
            statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
        return statement.returning(*[table.c[n] for n in returning]) if returning else statement
    lite = sqlite.insert(table)
    if conflict:
        lite = lite.on_conflict_do_nothing(index_elements=list(conflict))
    return lite.returning(*[table.c[n] for n in returning]) if returning else lite


def _refuse_naive_datetimes(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for name in rows[0]:
        if isinstance(table.c[name].type, UTCDateTime) and any(
            row[name] is not None and row[name].tzinfo is None for row in rows
        ):
            raise ValueError(f"naive datetime given to the UTC column {table.name}.{name}")


def in_list(column: InstrumentedAttribute[Any], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`column IN :name` for a statement built once and run with a list under `name`.

    On PostgreSQL it reads `column = ANY(:name)` with the list sent as one array.
    """
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))
