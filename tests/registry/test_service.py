"""Adding, changing and reading residents: validation, encryption, pinyin, duplicates, audit."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.bus.bus import pending
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.events import ResidentAdded
from jiayuan.registry.models import Resident
from jiayuan.registry.schemas import ResidentIn, ResidentPatch
from jiayuan.registry.service import residents
from tests.factories import Tree, make_id, person

SYSTEM = Principal.system()
BORN = date(1990, 3, 7)


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}


def test_add_resident_stores_only_ciphertext_hash_and_tails(db: Session, tree: Tree, vault: PiiVault) -> None:
    data = person("刘莹", BORN, 2, phone="+86 138 1234 5678", tags=["高龄", "党员", "高龄"])
    resident = residents.add_resident(
        db, actor=tree.staff(), vault=vault, household_id=tree.h101.id, data=data
    )
    db.commit()
    stored = db.get(Resident, resident.id)
    assert stored is not None
    id_number = make_id(BORN, 2)
    assert id_number not in stored.id_number_cipher
    assert vault.decrypt(stored.id_number_cipher, context="id_number") == id_number
    assert stored.id_number_hash == vault.lookup_hash(id_number)
    assert stored.id_tail == id_number[-4:]
    assert vault.decrypt(stored.phone_cipher or "", context="phone") == "13812345678"
    assert (stored.phone_tail, stored.name_pinyin, stored.name_initials) == ("5678", "liuying", "ly")
    assert sorted(t.tag for t in stored.tags) == sorted(["高龄", "党员"])
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "resident.create")).one()
    assert audit.target_id == str(resident.id) and audit.community_id == tree.community.id


def test_added_event_waits_for_commit(db: Session, tree: Tree, vault: PiiVault) -> None:
    residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("王伟", BORN, 1)
    )
    events = [e for e in pending(db) if isinstance(e, ResidentAdded)]
    assert len(events) == 1 and events[0].community_id == tree.community.id
    assert "id_number" not in events[0].to_message()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("单雄信", ("shanxiongxin", "sxx")),
        ("曾国藩", ("zengguofan", "zgf")),
        ("解缙", ("xiejin", "xj")),
        ("区寿年", ("oushounian", "osn")),
        ("仇英", ("qiuying", "qy")),
        ("尉迟恭", ("yuchigong", "ycg")),
        ("欧阳娜娜", ("ouyangnana", "oynn")),
        ("吕布", ("lvbu", "lb")),
    ],
)
def test_polyphonic_surnames(
    db: Session, tree: Tree, vault: PiiVault, name: str, expected: tuple[str, str]
) -> None:
    added = residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person(name, BORN, 5)
    )
    resident = db.get(Resident, added.id)
    assert resident is not None
    assert (resident.name_pinyin, resident.name_initials) == expected


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"id_number": make_id(BORN, 2)[:17] + ("0" if make_id(BORN, 2)[17] != "0" else "1")},
            "id_number",
            "校验位",
        ),
        ({"id_number": "41018119900307"}, "id_number", "18 位"),
        ({"gender": "男"}, "gender", "性别与身份证号不符"),
        ({"birth_date": date(1990, 3, 8)}, "birth_date", "出生日期与身份证号不符"),
        ({"phone": "12812345678"}, "phone", "手机号格式"),
        ({"phone": "1381234567"}, "phone", "手机号格式"),
        ({"name": "刘" * 33}, "name", "最多 32"),
        ({"name": "   "}, "name", "不能为空"),
        ({"name": "刘莹1"}, "name", "数字"),
        ({"note": "备" * 256}, "note", "最多 255"),
        ({"tags": ["不存在的标签"]}, "tags.0", ""),
        ({"residence_type": "暂住"}, "residence_type", ""),
        ({"moved_in_on": date(2020, 1, 1), "moved_out_on": date(2019, 1, 1)}, "", "迁出日期不能早于迁入日期"),
        ({"moved_in_on": date(2999, 1, 1)}, "moved_in_on", "晚于今天"),
    ],
)
def test_bad_resident_input_names_the_field(changes: dict[str, object], field: str, reason: str) -> None:
    raw: dict[str, object] = {
        "name": "刘莹",
        "id_number": make_id(BORN, 2),
        "gender": "女",
        "birth_date": BORN,
    }
    with pytest.raises(ValidationError) as excinfo:
        ResidentIn.model_validate(raw | changes)
    errors = _errors(excinfo.value)
    assert field in errors, errors
    assert reason in errors[field]


def test_unknown_household_is_invalid_and_writes_nothing(db: Session, tree: Tree, vault: PiiVault) -> None:
    with pytest.raises(Invalid) as excinfo:
        residents.add_resident(
            db, actor=SYSTEM, vault=vault, household_id=999_999, data=person("刘莹", BORN, 2)
        )
    assert excinfo.value.field == "household_id"
    assert db.scalar(select(Resident.id)) is None


def test_household_outside_scope_looks_unknown(db: Session, tree: Tree, vault: PiiVault) -> None:
    with pytest.raises(Invalid) as excinfo:
        residents.add_resident(
            db, actor=tree.staff(), vault=vault, household_id=tree.h_far.id, data=person("刘莹", BORN, 2)
        )
    assert excinfo.value.field == "household_id"


def test_grid_worker_may_not_add(db: Session, tree: Tree, vault: PiiVault) -> None:
    grid = Principal(role=Role.GRID, username="grid", grid_ids=frozenset({tree.grid.id}))
    with pytest.raises(Forbidden):
        residents.add_resident(
            db, actor=grid, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2)
        )


def test_duplicate_person_is_a_conflict_on_id_number(db: Session, tree: Tree, vault: PiiVault) -> None:
    residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2)
    )
    with pytest.raises(Conflict) as excinfo:
        residents.add_resident(
            db, actor=SYSTEM, vault=vault, household_id=tree.h201.id, data=person("刘莹", BORN, 2)
        )
    assert excinfo.value.field == "id_number"


def test_update_changes_phone_tags_and_household(db: Session, tree: Tree, vault: PiiVault) -> None:
    resident = residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2, tags=["党员"])
    )
    patch = ResidentPatch(phone="13900001111", tags=["低保", "独居老人"], household_id=tree.h201.id)
    residents.update_resident(db, actor=tree.staff(), vault=vault, resident_id=resident.id, patch=patch)
    db.commit()
    db.expire_all()
    stored = db.get(Resident, resident.id)
    assert stored is not None
    assert (stored.household_id, stored.phone_tail) == (tree.h201.id, "1111")
    assert sorted(t.tag for t in stored.tags) == sorted(["低保", "独居老人"])
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "resident.update")).one()
    assert audit.detail == {"fields": ["household_id", "phone", "tags"]}


def test_update_clears_phone(db: Session, tree: Tree, vault: PiiVault) -> None:
    resident = residents.add_resident(
        db,
        actor=SYSTEM,
        vault=vault,
        household_id=tree.h101.id,
        data=person("刘莹", BORN, 2, phone="13812345678"),
    )
    shown = residents.update_resident(
        db, actor=SYSTEM, vault=vault, resident_id=resident.id, patch=ResidentPatch(phone=None)
    )
    assert shown.phone_masked is None
    stored = db.get(Resident, resident.id)
    assert stored is not None
    assert stored.phone_cipher is None and stored.phone_hash is None and stored.phone_tail is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"gender": "男"}, "gender"),
        ({"phone": "123"}, "phone"),
        ({"name": ""}, "name"),
        ({"household_id": 999_999}, "household_id"),
    ],
)
def test_bad_update_names_the_field_and_keeps_the_record(
    db: Session, tree: Tree, vault: PiiVault, patch: dict[str, object], field: str
) -> None:
    resident = residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2)
    )
    db.commit()
    with pytest.raises(Invalid) as excinfo:
        residents.update_resident(
            db, actor=SYSTEM, vault=vault, resident_id=resident.id, patch=ResidentPatch.model_validate(patch)
        )
    assert excinfo.value.field == field
    db.rollback()
    assert (db.get(Resident, resident.id) or resident).gender == "女"


def test_update_to_another_persons_id_number_conflicts(db: Session, tree: Tree, vault: PiiVault) -> None:
    residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2)
    )
    other = residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("刘娜", BORN, 4)
    )
    with pytest.raises(Conflict):
        residents.update_resident(
            db,
            actor=SYSTEM,
            vault=vault,
            resident_id=other.id,
            patch=ResidentPatch(id_number=make_id(BORN, 2)),
        )


def test_an_unknown_resident_is_not_found(db: Session, tree: Tree, vault: PiiVault) -> None:
    with pytest.raises(NotFound):
        residents.show_resident(db, actor=SYSTEM, vault=vault, resident_id=424242)
