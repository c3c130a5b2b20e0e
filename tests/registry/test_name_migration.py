"""Stored names are normalised and their search keys recomputed by the migration that adds the keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from jiayuan.db import migrate
from jiayuan.db.migrate import alembic_config
from jiayuan.db.session import make_engine
from tests.conftest import BACKENDS, create_database, drop_database

TREE = [
    "INSERT INTO streets (id, name, city) VALUES (1, '紫荆路街道', '巩义市')",
    "INSERT INTO communities (id, street_id, name) VALUES (1, 1, '紫荆路社区')",
    "INSERT INTO compounds (id, community_id, name, code, address) VALUES (1, 1, '锦江花园', 'JJHY', '')",
    "INSERT INTO buildings (id, compound_id, name, floors) VALUES (1, 1, '1号楼', 6)",
    "INSERT INTO units (id, building_id, name) VALUES (1, 1, '1单元')",
    "INSERT INTO households (id, unit_id, room) VALUES (1, 1, '101')",
]
# (stored name, pinyin and initials as the old code stored them, substrings as stored).
OLD_ROWS = [
    ("买买提•艾力", "maimaitiaili", "mmtal", ["买", "买买", "买买提", "买买提•", "提•艾", "•", "艾力"]),
    ("尼格买提・热合曼", "nigemaitireheman", "ngmtrhm", ["尼", "尼格"]),
    ("单于洋", "chanyuyang", "cyy", ["单", "单于", "单于洋", "于", "于洋", "洋"]),
    ("刘莹", "liuying", "ly", ["刘", "刘莹", "莹"]),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_stored_names_get_one_dot_and_new_keys(backend: str, tmp_path: Path) -> None:
    url = create_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        command.downgrade(alembic_config(url), "0006_cases")
        with engine.begin() as connection:
            for statement in TREE:
                connection.execute(text(statement))
            for n, (name, pinyin, initials, grams) in enumerate(OLD_ROWS, start=1):
                stored = json.dumps(grams) if backend == "sqlite" else grams
                connection.execute(
                    text(
                        "INSERT INTO residents (id, household_id, community_id, compound_id, building_id,"
                        " name, name_pinyin, name_initials, name_grams, gender, birth_date, id_number_cipher,"
                        " id_number_hash, id_tail, relation, residence_type, note, created_at, updated_at)"
                        " VALUES (:id, 1, 1, 1, 1, :name, :pinyin, :initials, :grams, '男', '1980-01-01',"
                        " 'c', :hash, '0011', '户主', '户籍', '', '2026-12-01', '2026-12-01')"
                    ),
                    {
                        "id": n,
                        "name": name,
                        "pinyin": pinyin,
                        "initials": initials,
                        "grams": stored,
                        "hash": str(n),
                    },
                )
        migrate.upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT name, name_pinyin, name_initials, name_grams, name_keys"
                    " FROM residents ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
        drop_database(url)
    loaded = [
        (
            name,
            pinyin,
            initials,
            json.loads(g) if isinstance(g, str) else g,
            json.loads(k) if isinstance(k, str) else k,
        )
        for name, pinyin, initials, g, k in rows
    ]
    dotted, second, compound, plain = loaded
    assert dotted[:3] == ("买买提·艾力", "maimaitiaili", "mmtal")
    assert "提艾" in dotted[3] and not any("·" in g or "•" in g for g in dotted[3])
    assert {"aili", "al"} <= set(dotted[4])
    assert second[0] == "尼格买提·热合曼" and "reheman" in second[4]
    assert compound[1:3] == ("shanyuyang", "syy") and {"chanyuyang", "danyuyang", "cyy"} <= set(compound[4])
    assert plain[:4] == ("刘莹", "liuying", "ly", ["刘", "刘莹", "莹"])
    assert sorted(plain[4]) == ["l", "li", "liu", "liuy", "liuyi", "liuyin", "liuying", "ly"]
