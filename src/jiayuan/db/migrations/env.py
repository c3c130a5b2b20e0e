"""Alembic environment: one history for SQLite and PostgreSQL (batch mode for SQLite ALTERs)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import jiayuan.models  # noqa: F401  (registers every table on Base.metadata)
from jiayuan.db.base import Base
from jiayuan.db.session import make_engine

config = context.config


def run_migrations() -> None:
    """Migrate the database named in the Alembic config."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
