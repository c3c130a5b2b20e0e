"""Multi-row statements whose SQL text does not grow with the number of rows.

On PostgreSQL the rows travel as one array per column (`unnest`) and a list of values as one array
(`= ANY`), so the statement text is short and the same for every batch: psycopg parses it once and
caches it, where a 500-row `VALUES` or `IN` list would be parsed again, in Python, for every batch
(profiled: half the time of an ingest batch). SQLite has no arrays; it gets the usual multi-row
forms, which its in-process driver runs cheaply.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Row, Table, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session


def _postgresql(session: Session) -> bool:
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
    if _postgresql(session):
        return _insert_from_arrays(session, table, rows, returning, ignore_conflicts_on)
    statement = sqlite.insert(table)
    if ignore_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(ignore_conflicts_on))
    if not returning:
        session.execute(statement, list(rows))
        return []
    return list(session.execute(statement.returning(*[table.c[n] for n in returning]), list(rows)).all())


def _insert_from_arrays(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
    ignore_conflicts_on: Sequence[str],
) -> list[Row[Any]]:
    names = list(rows[0])
    # JSON values travel as text and are cast back: an array of JSON lists would read as a 2-D array.
    as_text = {name for name in names if isinstance(table.c[name].type, JSON)}
    arrays = [
        bindparam(f"rows_{name}", [_json_text(row[name]) for row in rows], type_=ARRAY(Text))
        if name in as_text
        else bindparam(f"rows_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
        for name in names
    ]
    source = func.unnest(*arrays).table_valued(*names).render_derived()
    columns = [cast(source.c[name], JSON) if name in as_text else source.c[name] for name in names]
    statement = postgresql.insert(table).from_select(names, select(*columns))
    if ignore_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(ignore_conflicts_on))
    if not returning:
        session.execute(statement)
        return []
    return list(session.execute(statement.returning(*[table.c[n] for n in returning])).all())


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def one_of(
    session: Session, column: InstrumentedAttribute[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`, written as `column = ANY(array)` on PostgreSQL."""
    if _postgresql(session):
        return column == any_(bindparam(None, sorted(values), type_=ARRAY(column.type)))
    return column.in_(sorted(values))
