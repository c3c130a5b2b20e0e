"""No plaintext ID number or full phone anywhere in storage: the SQLite file bytes, every PostgreSQL row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.schemas import ResidentPatch, RevealIn
from jiayuan.registry.service import residents
from tests.factories import Tree, make_id, person

PEOPLE = [
    ("刘莹", date(1990, 3, 7), 2, "13812345678"),
    ("王建国", date(1948, 10, 1), 17, "15937120001"),
    ("欧阳娜娜", date(2001, 12, 31), 8, "0371-64123456"),
]


def raw_storage(engine: Engine) -> str:
    """Everything the database holds, as text: file bytes on SQLite, each row of each table on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        database = Path(str(engine.url.database))
        files = [database, *database.parent.glob(database.name + "-*")]
        return b"".join(f.read_bytes() for f in files if f.exists()).decode("utf-8", "replace")
    chunks = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT t::text FROM "{table}" AS t'))
            chunks.extend(row[0] for row in rows)
    return "\n".join(chunks)


def test_no_plaintext_id_number_or_phone_in_storage(
    real_commits: None, db: Session, engine: Engine, tree: Tree, vault: PiiVault
) -> None:
    system = Principal.system()
    secrets = []
    for name, born, serial, phone in PEOPLE:
        data = person(name, born, serial, phone=phone)
        resident = residents.add_resident(db, actor=system, vault=vault, household_id=tree.h101.id, data=data)
        secrets += [make_id(born, serial), phone]
        db.commit()
        residents.reveal(
            db,
            actor=system,
            vault=vault,
            resident_id=resident.id,
            request=RevealIn(field="id_number", reason="核对身份证号"),
        )
        db.commit()
    residents.update_resident(
        db, actor=system, vault=vault, resident_id=resident.id, patch=ResidentPatch(phone="18603710002")
    )
    db.commit()
    secrets.append("18603710002")
    stored = raw_storage(engine)
    # The reading works: names are stored in clear and must be found.
    assert "刘莹" in stored and "王建国" in stored
    for secret in secrets:
        assert secret not in stored, f"plaintext {secret[:4]}… found in storage"
        assert secret.replace("-", "") not in stored
    # Neither are the first 14 digits of any ID number (birth date and region together).
    for _name, born, serial, _phone in PEOPLE:
        assert make_id(born, serial)[:14] not in stored
