"""Portable INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    returning: Sequence[str],
) -> list[Row[Any]]:
    """INSERT … ON CONFLICT (keys) DO NOTHING RETURNING …; returns only the rows really inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(*[table.c[name] for name in returning])
    )
    # One cached statement run as "insertmanyvalues" batches: far cheaper than compiling a VALUES list.
    return list(session.execute(statement, list(rows)).all())
