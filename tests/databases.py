"""Test databases: one migrated database per backend and worker, emptied cheaply between tests.

Most tests run inside one outer transaction that is rolled back at the end (their commits are
SAVEPOINTs); tests whose code opens its own connections commit for real and the database is emptied
with DELETE before the next test that finds it dirty (TRUNCATE costs ~0.2 s a test on PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text

import jiayuan.models  # noqa: F401  (every table in Base.metadata, whatever the tests imported)
from jiayuan.db import migrate
from jiayuan.db.base import Base
from jiayuan.db.session import normalise_url

PG_ADMIN_URL = os.environ.get("JIAYUAN_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_database(backend: str, directory: Path) -> str:
    """A new, empty, migrated database on the backend; returns its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'jiayuan.db'}"
    else:
        name = f"jiayuan_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            # Nothing here must survive a crash of the server: do not wait for the WAL flush per commit.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        admin.dispose()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    """Remove a PostgreSQL test database (SQLite files go with their temp folder)."""
    if url.startswith("sqlite"):
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables() -> list[str]:
    return [table.name for table in reversed(Base.metadata.sorted_tables)]


def is_empty(engine: Engine) -> bool:
    """Whether no table holds a row (one query: about 2 ms on PostgreSQL)."""
    any_row = " OR ".join(f"EXISTS (SELECT 1 FROM {table})" for table in _tables())
    with engine.connect() as connection:
        return not connection.execute(text(f"SELECT {any_row}")).scalar()


def restart_ids(connection: Connection) -> None:
    """Make ids start from 1 again (on SQLite they follow the rows; PostgreSQL's sequences are not rolled
    back, and tests may name the first community `community:1`)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"))


def wipe(engine: Engine) -> None:
    """Empty every table and restart the ids, as on a fresh database."""
    with engine.begin() as connection:
        for table in _tables():
            connection.execute(text(f"DELETE FROM {table}"))
        restart_ids(connection)


def ensure_empty(engine: Engine) -> None:
    """Wipe the database when an earlier test left rows in it; ids start from 1 either way."""
    if not is_empty(engine):
        wipe(engine)
    elif engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            restart_ids(connection)


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back at the end, whatever was committed."""
    with engine.connect() as connection:
        transaction = connection.begin()
        driver = connection.connection.driver_connection
        if engine.dialect.name == "sqlite":
            # pysqlite starts transactions itself, late and not for SAVEPOINT: hand that to SQLAlchemy
            # (its docs, "Serializable isolation / Savepoints / Transactional DDL").
            driver.isolation_level = None
            connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            transaction.rollback()
            if engine.dialect.name == "sqlite":
                driver.isolation_level = ""  # the driver's default again, for the pool's next user
