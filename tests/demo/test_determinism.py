"""Two seeds into two databases give the same rows: same ids, names, ID numbers, plates, accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, select

from jiayuan.db.base import Base
from jiayuan.db.session import make_engine
from jiayuan.kernel.crypto import PiiVault

# Ciphertexts carry a random nonce and timestamps record when: compare what they decrypt to instead.
_SKIPPED = {"created_at", "updated_at", "at", "password_hash", "last_login_at"}
_TABLES = (
    "streets", "communities", "compounds", "buildings", "units", "households", "residents", "resident_tags",
    "vehicles", "grids", "grid_buildings", "gates", "devices", "shop_streets", "street_sections", "shops",
    "users", "user_scopes",
)  # fmt: skip


def _rows(engine: Engine, vault: PiiVault, name: str) -> list[tuple[Any, ...]]:
    table: Table = Base.metadata.tables[name]
    columns = [c for c in table.columns if c.name not in _SKIPPED]
    order = list(table.primary_key.columns)
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(*order)).all()
    opened = []
    for row in rows:
        values = []
        for column, value in zip(columns, row, strict=True):
            if column.name.endswith("_cipher") and value is not None:
                context = "id_number" if column.name.startswith("id_number") else "phone"
                value = vault.decrypt(value, context=context)
            values.append(value)
        opened.append(tuple(values))
    return opened


def test_two_seeds_produce_identical_rows(demo_engine: Engine, second_demo_url: str, vault: PiiVault) -> None:
    other = make_engine(second_demo_url)
    try:
        for name in _TABLES:
            first, second = _rows(demo_engine, vault, name), _rows(other, vault, name)
            assert first, name
            assert first == second, name
    finally:
        other.dispose()
