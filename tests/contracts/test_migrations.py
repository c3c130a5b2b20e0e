"""The Alembic history builds exactly the tables the models describe, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import jiayuan.models  # noqa: F401
from jiayuan.db import migrate
from jiayuan.db.base import Base
from jiayuan.db.migrate import alembic_config
from jiayuan.db.session import make_engine
from tests.conftest import BACKENDS
from tests.databases import create_database, drop_database


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"add a migration with scripts/new-migration.sh: {differences}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_at_the_first_revision_upgrades_with_its_rows(backend: str, tmp_path: Path) -> None:
    url = create_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        command.downgrade(alembic_config(url), "0001_initial")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO flow_buckets (gate_id, compound_id, community_id, bucket, people_in,"
                    " people_out, camera_in, camera_out, vehicles_in, vehicles_out, outside_in, outside_out,"
                    " refused)"
                    " VALUES (1, 1, 1, :bucket, 3, 0, 0, 0, 2, 0, 1, 0, 0)"
                ),
                {"bucket": datetime(2026, 11, 27, 8, 5, tzinfo=UTC)},
            )
        migrate.upgrade(url)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT people_in, vehicles_in, revision FROM flow_buckets")).one()
            indexes = {index["name"] for index in inspect(connection).get_indexes("vehicle_presence")}
        assert tuple(row) == (3, 2, 0)
        assert {"ix_vehicle_presence_open_plate", "ix_vehicle_presence_outside_inside"} <= indexes
        assert "ix_vehicle_presence_open" not in indexes
    finally:
        engine.dispose()
        drop_database(url)
