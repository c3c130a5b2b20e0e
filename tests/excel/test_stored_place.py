"""Residents written by an import store their household's community, compound and building."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.registry import excel
from jiayuan.registry.models import Compound, Resident
from jiayuan.registry.service import importing
from tests.excel.conftest import PEOPLE, Place, make_id
from tests.registry.places import misplaced


def test_imported_and_updated_residents_carry_their_place(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    sheet = excel.read_workbook(
        importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    ).sheets[0]
    rows = [[r.values[c] for c in excel.COLUMNS] for r in sheet.rows]
    at = excel.COLUMNS.index
    # An import never moves a person (that is done on the resident's page): it adds and updates.
    changed = next(row for row in rows if row[at("户号")] == "201")
    changed[at("手机号")] = "13900002222"
    new = ["" for _ in excel.COLUMNS]
    new[at("小区")], new[at("楼栋")], new[at("单元")], new[at("户号")] = "锦江花园", "1号楼", "2单元", "501"
    new[at("姓名")], new[at("身份证号")], new[at("与户主关系")] = (
        "李娜",
        make_id(PEOPLE[0]["born"], 4),
        "户主",
    )
    report = importing.import_residents(
        db, actor=place.staff(), vault=vault, content=excel.write_rows([*rows, new])
    )
    db.commit()
    assert (report.created, report.updated) == (1, 1)
    db.expire_all()
    senhai = db.scalars(select(Compound).where(Compound.name == "森海一期")).one()
    updated = db.scalars(select(Resident).where(Resident.phone_tail == "2222")).one()
    assert (updated.community_id, updated.compound_id) == (place.community_id, senhai.id)
    added = db.scalars(select(Resident).where(Resident.name == "李娜")).one()
    assert (added.community_id, added.compound_id) == (place.community_id, place.jinjiang_id)
    assert misplaced(db) == []
