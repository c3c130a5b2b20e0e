"""Residents in and out of Excel: export (audited, masked unless permitted), template, all-or-nothing import.

An import checks every row first — address, ID number, phone, dates, tags, duplicates inside the file
and against other households — and writes nothing unless every row is good. Writing then goes through
the registry service (`add_resident` / `update_resident`), keyed by the ID number's lookup hash, so a
file imported twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import record_audit
from jiayuan.kernel.crypto import PiiVault, mask_id_number, mask_phone
from jiayuan.kernel.errors import Forbidden, Invalid, RowError, RowErrors
from jiayuan.kernel.principal import Principal
from jiayuan.kernel.progress import Progress, Silent
from jiayuan.registry import excel, policies, repository
from jiayuan.registry.models import Building, Compound, Household, Resident, Unit
from jiayuan.registry.schemas import (
    REASON_MIN,
    Gender,
    Relation,
    ResidenceType,
    ResidentIn,
    ResidentPatch,
    Tag,
)
from jiayuan.registry.service import ID_CONTEXT, PHONE_CONTEXT, add_resident, current_data, update_resident
from jiayuan.registry.validation import birth_date_of, gender_of, validate_id_number

_FIELD_COLUMNS = {
    "name": "姓名",
    "id_number": "身份证号",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "手机号",
    "relation": "与户主关系",
    "residence_type": "居住类型",
    "tags": "标签",
    "moved_in_on": "入住日期",
    "moved_out_on": "迁出日期",
    "note": "备注",
}
_TAG_SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_TAG_RANK = {tag.value: rank for rank, tag in enumerate(Tag)}


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    rows: int
    created: int
    updated: int
    unchanged: int
    households_created: int


@dataclass
class _Planned:
    """A checked row: where it goes and what it says."""

    row: int
    unit_id: int
    room: str
    data: ResidentIn
    id_hash: str


@dataclass
class _Places:
    """The compounds, buildings, units and households an actor may write to, by name."""

    compounds: dict[str, list[int]] = field(default_factory=dict)
    buildings: dict[tuple[int, str], int] = field(default_factory=dict)
    units: dict[tuple[int, str], int] = field(default_factory=dict)
    households: dict[tuple[int, str], int] = field(default_factory=dict)


def template_workbook() -> bytes:
    """The blank import template (header, dropdowns, instructions with an example)."""
    return excel.template()


def export_residents(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    full: bool = False,
    reason: str | None = None,
    ip: str | None = None,
) -> bytes:
    """Every resident in the actor's scope as a workbook, ID numbers and phones masked.

    `full` puts the whole numbers in: that is a reveal of every row at once, so only the roles that
    may reveal may ask, with a reason. Every export is audited with its row count and whether it was
    masked.
    """
    scope = policies.personal_scope(actor)
    if full:
        if not policies.may_reveal(actor):
            raise Forbidden("该角色无权导出完整身份证号或手机号，可导出打码的表格", field="full")
        if len((reason or "").strip()) < REASON_MIN:
            raise Invalid(f"导出完整号码须填写理由（至少 {REASON_MIN} 个字）", field="reason")
    stmt = (
        repository.with_tree(
            select(Resident, Compound.name, Building.name, Unit.name, Household.room).join(
                Household, Household.id == Resident.household_id
            )
        )
        .where(repository.scope_clause(scope))
        .order_by(Compound.id, Building.id, Unit.id, Household.id, Resident.id)
    )
    rows: list[list[str]] = []
    for resident, compound, building, unit, room in session.execute(stmt).tuples():
        id_number = vault.decrypt(resident.id_number_cipher, context=ID_CONTEXT)
        phone = vault.decrypt(resident.phone_cipher, context=PHONE_CONTEXT) if resident.phone_cipher else ""
        rows.append(
            [
                compound,
                building,
                unit,
                room,
                resident.name,
                resident.gender,
                resident.birth_date.isoformat() if full else str(resident.birth_date.year),
                id_number if full else mask_id_number(id_number),
                phone if full or not phone else mask_phone(phone),
                resident.relation,
                resident.residence_type,
                "、".join(sorted((t.tag for t in resident.tags), key=lambda t: _TAG_RANK.get(t, 99))),
                resident.moved_in_on.isoformat() if resident.moved_in_on else "",
                resident.moved_out_on.isoformat() if resident.moved_out_on else "",
                resident.note,
            ]
        )
    content = excel.write_rows(rows)
    communities = sorted(actor.community_ids)
    record_audit(
        session,
        actor=actor,
        action="resident.export",
        target_type="resident",
        target_label=f"{len(rows)} 名居民",
        reason=reason,
        community_id=communities[0] if len(communities) == 1 else None,
        ip=ip,
        detail={"rows": len(rows), "masked": not full} | ({"fields": ["id_number", "phone"]} if full else {}),
    )
    return content


def import_residents(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    content: bytes,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row, then write them all (or raise RowErrors listing every bad row and write nothing)."""
    scope = policies.require_can_change_registry(actor, "导入居民信息")
    bar = progress or Silent()
    sheet = excel.read_sheet(content)
    bar.stage("检查", len(sheet.rows))
    places = _places(session, scope)
    planned, errors = _check(session, places, vault, sheet, bar)
    if errors:
        raise RowErrors(errors=errors)
    stored = _residents_by_hash(session, planned)
    return _write(session, actor, vault, planned, stored, dict(places.households), bar)


def check_workbook(session: Session, *, actor: Principal, vault: PiiVault, content: bytes) -> list[RowError]:
    """Every problem in a workbook without writing anything (what an import would refuse)."""
    scope = policies.require_can_change_registry(actor, "导入居民信息")
    sheet = excel.read_sheet(content)
    return _check(session, _places(session, scope), vault, sheet, Silent())[1]


def error_workbook(content: bytes, errors: list[RowError]) -> bytes:
    """The uploaded workbook with a 错误原因 column beside its rows."""
    return excel.with_errors(excel.read_sheet(content), errors)


def _places(session: Session, scope: policies.Scope) -> _Places:
    places = _Places()
    compounds = select(Compound.id, Compound.name)
    if not scope.everything:
        compounds = compounds.where(Compound.community_id.in_(sorted(scope.community_ids)))
    compound_ids = []
    for compound_id, name in session.execute(compounds):
        places.compounds.setdefault(name, []).append(compound_id)
        compound_ids.append(compound_id)
    buildings = select(Building.id, Building.compound_id, Building.name).where(
        Building.compound_id.in_(compound_ids)
    )
    building_ids = []
    for building_id, compound_id, name in session.execute(buildings):
        places.buildings[(compound_id, name)] = building_id
        building_ids.append(building_id)
    units = select(Unit.id, Unit.building_id, Unit.name).where(Unit.building_id.in_(building_ids))
    unit_ids = []
    for unit_id, building_id, name in session.execute(units):
        places.units[(building_id, name)] = unit_id
        unit_ids.append(unit_id)
    for chunk in _chunks(unit_ids, 500):
        households = select(Household.id, Household.unit_id, Household.room).where(
            Household.unit_id.in_(chunk)
        )
        for household_id, unit_id, room in session.execute(households):
            places.households[(unit_id, room)] = household_id
    return places


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check(
    session: Session, places: _Places, vault: PiiVault, sheet: excel.Sheet, bar: Progress
) -> tuple[list[_Planned], list[RowError]]:
    planned: list[_Planned] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row in sheet.rows:
        row_errors: list[RowError] = []
        unit_id = _unit_of(row, places, row_errors)
        data = _data_of(row, row_errors)
        if data is not None:
            id_hash = vault.lookup_hash(data.id_number)
            if id_hash in seen:
                row_errors.append(
                    RowError(row.number, "身份证号", f"与第 {seen[id_hash]} 行是同一人（身份证号重复）")
                )
            else:
                seen[id_hash] = row.number
            if unit_id is not None and not row_errors:
                planned.append(_Planned(row.number, unit_id, row.get("户号").strip(), data, id_hash))
        errors.extend(row_errors)
        bar.advance()
    errors.extend(_registered_elsewhere(session, places, planned))
    errors.sort(
        key=lambda e: (e.row, list(excel.COLUMNS).index(e.column) if e.column in excel.COLUMNS else 99)
    )
    return planned, errors


def _unit_of(row: excel.SheetRow, places: _Places, errors: list[RowError]) -> int | None:
    values = {column: row.get(column).strip() for column in ("小区", "楼栋", "单元", "户号")}
    for column, value in values.items():
        if not value:
            errors.append(RowError(row.number, column, f"{column}不能为空"))
    if len(values["户号"]) > 16:
        errors.append(RowError(row.number, "户号", "户号最多 16 个字符"))
    if not values["小区"]:
        return None
    compounds = places.compounds.get(values["小区"], [])
    if not compounds:
        errors.append(RowError(row.number, "小区", f"小区“{values['小区']}”不存在（或不在您的管辖范围内）"))
        return None
    if len(compounds) > 1:
        errors.append(RowError(row.number, "小区", f"小区“{values['小区']}”在多个社区中重名，请分社区导入"))
        return None
    if not values["楼栋"]:
        return None
    building = places.buildings.get((compounds[0], values["楼栋"]))
    if building is None:
        errors.append(RowError(row.number, "楼栋", f"楼栋“{values['楼栋']}”在小区“{values['小区']}”中不存在"))
        return None
    if not values["单元"]:
        return None
    unit = places.units.get((building, values["单元"]))
    if unit is None:
        where = f"{values['小区']} {values['楼栋']}"
        errors.append(RowError(row.number, "单元", f"单元“{values['单元']}”在 {where} 中不存在"))
        return None
    return unit if values["户号"] and len(values["户号"]) <= 16 else None


def _parse_date(text: str) -> date:
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _data_of(row: excel.SheetRow, errors: list[RowError]) -> ResidentIn | None:
    """The row as validated resident data, or None with every problem of the row appended to `errors`."""
    before = len(errors)
    values: dict[str, Any] = {}
    for column in ("姓名", "身份证号", "与户主关系"):
        if not row.get(column).strip():
            errors.append(RowError(row.number, column, f"{column}不能为空"))
    id_text = row.get("身份证号").strip()
    id_number: str | None = None
    if id_text.endswith("（数字格式）"):
        errors.append(
            RowError(
                row.number,
                "身份证号",
                "身份证号被 Excel 存成了数字，末几位已丢失；请把该列设为文本后重新填写",
            )
        )
    elif id_text:
        try:
            id_number = validate_id_number(id_text)
        except Invalid as exc:
            errors.append(RowError(row.number, "身份证号", exc.message))
    values["name"] = row.get("姓名")
    values["id_number"] = id_number or id_text
    gender = row.get("性别").strip()
    if gender and gender not in {g.value for g in Gender}:
        errors.append(RowError(row.number, "性别", f"性别“{gender}”不正确，应为“男”或“女”"))
    values["gender"] = gender or (gender_of(id_number) if id_number else "")
    for column, key in (
        ("出生日期", "birth_date"),
        ("入住日期", "moved_in_on"),
        ("迁出日期", "moved_out_on"),
    ):
        text = row.get(column).strip()
        if not text:
            continue
        try:
            values[key] = _parse_date(text)
        except ValueError:
            errors.append(RowError(row.number, column, f"日期“{text}”格式不正确，应为 2024-05-01 这样的格式"))
    if "birth_date" not in values and id_number:
        values["birth_date"] = birth_date_of(id_number)
    values["phone"] = row.get("手机号").strip() or None
    for column, key, kind in (
        ("与户主关系", "relation", Relation),
        ("居住类型", "residence_type", ResidenceType),
    ):
        text = row.get(column).strip()
        allowed = [member.value for member in kind]
        if text and text not in allowed:
            errors.append(RowError(row.number, column, f"{column}“{text}”不正确，可填：{'、'.join(allowed)}"))
        elif text:
            values[key] = text
    tags = [t for t in _TAG_SPLIT.split(row.get("标签").strip()) if t]
    unknown = [t for t in tags if t not in _TAG_RANK]
    if unknown:
        errors.append(
            RowError(row.number, "标签", f"未知标签“{'、'.join(unknown)}”，可用：{'、'.join(_TAG_RANK)}")
        )
    values["tags"] = [t for t in tags if t in _TAG_RANK]
    values["note"] = row.get("备注")
    if len(errors) > before:
        return None
    try:
        return ResidentIn.model_validate(values)
    except ValidationError as exc:
        reported: set[str] = set()
        for error in exc.errors():
            location = error.get("loc", ())
            column = _FIELD_COLUMNS.get(str(location[0]), "迁出日期") if location else "迁出日期"
            if column in reported:
                continue
            reported.add(column)
            message = error["msg"] if error.get("type") == "invalid" else f"{column}格式不正确"
            errors.append(RowError(row.number, column, message))
        return None


def _residents_by_hash(session: Session, planned: list[_Planned]) -> dict[str, Resident]:
    """The stored residents that the rows name, by ID-number lookup hash (with their tags)."""
    found: dict[str, Resident] = {}
    for chunk in _chunks([p.id_hash for p in planned], 500):
        for resident in session.scalars(select(Resident).where(Resident.id_number_hash.in_(chunk))):
            found[resident.id_number_hash] = resident
    return found


def _registered_elsewhere(session: Session, places: _Places, planned: list[_Planned]) -> list[RowError]:
    """Rows whose person is already registered in another household than the row names."""
    existing: dict[str, int] = {}
    for chunk in _chunks([p.id_hash for p in planned], 500):
        found = select(Resident.id_number_hash, Resident.household_id).where(
            Resident.id_number_hash.in_(chunk)
        )
        existing.update(dict(session.execute(found).tuples().all()))
    errors = []
    for plan in planned:
        household = existing.get(plan.id_hash)
        if household is not None and household != places.households.get((plan.unit_id, plan.room)):
            errors.append(
                RowError(
                    plan.row, "身份证号", "此人已登记在其他户，同一人不能重复登记（迁户请在居民详情中办理）"
                )
            )
    return errors


def _same(resident: Resident, data: ResidentIn, vault: PiiVault) -> dict[str, Any]:
    """The fields of `data` that differ from the stored resident."""
    stored = current_data(resident, vault=vault).model_dump(mode="json")
    wanted = data.model_dump(mode="json")
    stored["tags"] = sorted(stored["tags"])
    changed = {key: value for key, value in wanted.items() if key != "tags" and stored.get(key) != value}
    if sorted(wanted["tags"]) != stored["tags"]:
        changed["tags"] = wanted["tags"]
    return changed


def _write(
    session: Session,
    actor: Principal,
    vault: PiiVault,
    planned: list[_Planned],
    stored: dict[str, Resident],
    households: dict[tuple[int, str], int],
    bar: Progress,
) -> ImportReport:
    bar.stage("写入", len(planned))
    created = updated = unchanged = new_households = 0
    for plan in planned:
        key = (plan.unit_id, plan.room)
        household_id = households.get(key)
        if household_id is None:
            household = Household(unit_id=plan.unit_id, room=plan.room)
            session.add(household)
            session.flush()
            household_id = household.id
            new_households += 1
            record_audit(
                session,
                actor=actor,
                action="household.create",
                target_type="household",
                target_id=household_id,
                target_label=plan.room,
                detail={"unit_id": plan.unit_id, "via": "import"},
            )
        households[key] = household_id
        resident = stored.get(plan.id_hash)
        if resident is None:
            add_resident(session, actor=actor, vault=vault, household_id=household_id, data=plan.data)
            created += 1
        else:
            changes = _same(resident, plan.data, vault)
            if changes:
                patch = ResidentPatch.model_validate(changes)
                update_resident(session, actor=actor, vault=vault, resident_id=resident.id, patch=patch)
                updated += 1
            else:
                unchanged += 1
        bar.advance()
    report = ImportReport(
        rows=len(planned),
        created=created,
        updated=updated,
        unchanged=unchanged,
        households_created=new_households,
    )
    record_audit(
        session,
        actor=actor,
        action="resident.import",
        target_type="resident",
        target_label=f"{len(planned)} 行",
        detail={
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "households_created": new_households,
        },
    )
    return report
