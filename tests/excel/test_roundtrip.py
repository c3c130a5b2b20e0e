"""Export → import gives back the same registry; importing a file twice changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Forbidden, Invalid, RowErrors
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry import excel
from jiayuan.registry.models import Resident
from jiayuan.registry.service import importing
from jiayuan.registry.service.residents import ID_CONTEXT, PHONE_CONTEXT
from tests.excel.conftest import PEOPLE, Place, counts, make_id


def snapshot(db: Session, vault: PiiVault) -> list[tuple[Any, ...]]:
    """Every resident as stored, with encrypted values opened (ciphertexts differ by nonce)."""
    db.expire_all()
    rows = []
    for r in db.scalars(select(Resident).order_by(Resident.id)):
        rows.append(
            (
                r.id, r.household_id, r.name, r.name_pinyin, r.name_initials, r.gender, r.birth_date,
                vault.decrypt(r.id_number_cipher, context=ID_CONTEXT), r.id_number_hash, r.id_tail,
                vault.decrypt(r.phone_cipher, context=PHONE_CONTEXT) if r.phone_cipher else None,
                r.phone_hash, r.phone_tail, r.relation, r.residence_type, r.moved_in_on, r.moved_out_on,
                r.note, sorted(t.tag for t in r.tags), r.updated_at,
            )
        )  # fmt: skip
    return rows


def test_export_has_chinese_columns_and_full_values_for_staff(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    content = importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    sheet = excel.read_workbook(content).sheets[0]
    assert sheet.headers == list(excel.COLUMNS)
    assert len(sheet.rows) == len(PEOPLE)
    first = sheet.rows[0].values
    assert first["小区"] == "锦江花园" and first["楼栋"] == "1号楼" and first["单元"] == "1单元"
    assert first["户号"] == "101" and first["姓名"] == "刘莹" and first["性别"] == "女"
    assert first["身份证号"] == make_id(PEOPLE[0]["born"], 2)
    assert first["手机号"] == "13812345678" and first["标签"] == "党员" and first["备注"] == "楼长"
    assert first["出生日期"] == "1990-03-07" and first["入住日期"] == "2015-06-01"
    assert sheet.rows[4].values["迁出日期"] == "2025-02-28"
    assert sheet.rows[3].values["标签"] == "独居老人、高龄"
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "resident.export")).one()
    assert audit.reason == "年度核对"
    assert audit.detail == {"rows": 5, "masked": False, "fields": ["id_number", "phone"]}


def test_export_is_masked_for_grid_workers_and_refused_to_police(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    grid = Principal(role=Role.GRID, grid_ids=frozenset({place.grid_id}))
    sheet = excel.read_workbook(importing.export_residents(db, actor=grid, vault=vault)).sheets[0]
    assert [r.values["姓名"] for r in sheet.rows] == ["刘莹", "王建国", "王子轩", "张秀英"]  # only 1号楼
    assert sheet.rows[0].values["身份证号"] == "4101**********002" + make_id(PEOPLE[0]["born"], 2)[-1]
    assert sheet.rows[0].values["手机号"] == "138****5678"
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "resident.export")).one()
    assert audit.detail == {"rows": 4, "masked": True}
    police = Principal(role=Role.POLICE, community_ids=frozenset({place.community_id}))
    with pytest.raises(Forbidden):
        importing.export_residents(db, actor=police, vault=vault)
    with pytest.raises(Forbidden):
        importing.import_residents(db, actor=grid, vault=vault, content=excel.template())


def test_exported_file_imports_back_unchanged(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    content = importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    db.commit()
    before, rows_before = snapshot(db, vault), counts(db)
    report = importing.import_residents(db, actor=place.staff(), vault=vault, content=content)
    db.commit()
    assert (report.rows, report.created, report.updated, report.unchanged) == (5, 0, 0, 5)
    assert snapshot(db, vault) == before
    assert counts(db) == rows_before | {"audit_log": rows_before["audit_log"] + 1}  # the import itself


def test_importing_the_same_file_twice_changes_nothing(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    content = importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    # Start from an empty registry of people: the file creates them once, then finds them.
    for resident in db.scalars(select(Resident)):
        db.delete(resident)
    db.commit()
    first = importing.import_residents(db, actor=place.staff(), vault=vault, content=content)
    db.commit()
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)
    after_first, rows_first = snapshot(db, vault), counts(db)
    second = importing.import_residents(db, actor=place.staff(), vault=vault, content=content)
    db.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert snapshot(db, vault) == after_first
    assert counts(db)["residents"] == rows_first["residents"] == 5


def test_a_changed_row_updates_in_place(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    sheet = excel.read_workbook(
        importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    ).sheets[0]
    rows = [[r.values[c] for c in excel.COLUMNS] for r in sheet.rows]
    rows[1][excel.COLUMNS.index("手机号")] = "13900001111"
    rows[1][excel.COLUMNS.index("标签")] = "退役军人、党员"
    rows[3][excel.COLUMNS.index("户号")] = "102"
    report = importing.import_residents(db, actor=place.staff(), vault=vault, content=excel.write_rows(rows))
    db.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    changed = db.get(Resident, residents[1])
    assert changed is not None and changed.phone_tail == "1111"
    assert sorted(t.tag for t in changed.tags) == ["党员", "退役军人"]
    assert counts(db)["residents"] == 5


def test_a_new_room_in_a_known_unit_becomes_a_household(db: Session, place: Place, vault: PiiVault) -> None:
    new = excel.write_rows(
        [
            [
                "锦江花园",
                "1号楼",
                "2单元",
                "501",
                "李娜",
                "",
                "",
                make_id(PEOPLE[0]["born"], 4),
                "",
                "户主",
                "",
                "",
                "",
                "",
                "",
            ]
        ]
    )
    report = importing.import_residents(db, actor=place.staff(), vault=vault, content=new)
    db.commit()
    assert (report.created, report.households_created) == (1, 1)
    person = db.scalars(select(Resident)).one()
    assert (person.gender, person.birth_date) == ("女", PEOPLE[0]["born"])  # taken from the ID number


def test_an_export_is_masked_unless_whole_numbers_are_asked_for_with_a_reason(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    staff = place.staff()
    whole_ids = {make_id(p["born"], serial) for serial, p in enumerate(PEOPLE, start=2)}
    masked = excel.read_workbook(importing.export_residents(db, actor=staff, vault=vault)).sheets[0]
    cells = {v for row in masked.rows for v in row.values.values()}
    assert cells.isdisjoint(whole_ids) and "13812345678" not in cells
    assert all("*" in row.values["身份证号"] for row in masked.rows)
    for reason in (None, "", "看看", "   核对   "[:5]):
        with pytest.raises(Invalid) as refused:
            importing.export_residents(db, actor=staff, vault=vault, full=True, reason=reason)
        assert refused.value.field == "reason"
    grid = Principal(role=Role.GRID, grid_ids=frozenset({place.grid_id}))
    with pytest.raises(Forbidden) as forbidden:
        importing.export_residents(db, actor=grid, vault=vault, full=True, reason="年度核对")
    assert forbidden.value.field == "full"
    full = excel.read_workbook(
        importing.export_residents(db, actor=staff, vault=vault, full=True, reason="年度核对")
    ).sheets[0]
    assert full.rows[0].values["身份证号"] == make_id(PEOPLE[0]["born"], 2)
    audits = db.scalars(select(AuditEntry).where(AuditEntry.action == "resident.export")).all()
    assert [(a.detail or {}).get("masked") for a in audits] == [True, False]
    assert audits[1].reason == "年度核对" and (audits[1].detail or {})["rows"] == len(PEOPLE)


def test_a_masked_export_never_overwrites_the_stored_numbers(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    before = snapshot(db, vault)
    masked = importing.export_residents(db, actor=place.staff(), vault=vault)
    with pytest.raises(RowErrors) as refused:
        importing.import_residents(db, actor=place.staff(), vault=vault, content=masked)
    db.rollback()
    assert "身份证号" in {e.column for e in refused.value.errors}
    assert snapshot(db, vault) == before
