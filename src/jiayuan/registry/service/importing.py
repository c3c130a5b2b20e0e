"""Residents in and out of Excel: export (audited, masked unless permitted), template, all-or-nothing import.

An import checks every row first — address, ID number, phone, dates, tags, duplicates inside the file
and against other households — and writes nothing unless every row is good. It never erases what it was
not given: a column the file lacks (or whose title it does not know) and an empty cell leave the stored
value as it is; only the marker 清空 clears an optional value. `plan_import` reports, before anything is
written, each row it adds and each column it changes (old → new). Writing goes through the registry
service (`add_resident` / `update_resident`), keyed by the ID number's lookup hash, so a file imported
twice changes nothing the second time.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service.audit import AuditTarget, record_audit, record_audits
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_returning_ids
from jiayuan.kernel.crypto import PiiVault, mask_id_number, mask_phone
from jiayuan.kernel.errors import Forbidden, Invalid, RowError, RowErrors
from jiayuan.kernel.i18n import N_, Text, check_of
from jiayuan.kernel.principal import Principal
from jiayuan.kernel.progress import Progress, Silent
from jiayuan.registry import excel, policies, repository
from jiayuan.registry.events import ResidentsImported
from jiayuan.registry.models import Building, Compound, Household, Resident, ResidentTag, Unit
from jiayuan.registry.places import PlaceNames
from jiayuan.registry.schemas import (
    REASON_MIN,
    FieldChange,
    Gender,
    ImportReport,
    Place,
    Relation,
    ResidenceType,
    ResidentIn,
    ResidentPatch,
    RowPlan,
    Tag,
)
from jiayuan.registry.service.residents import (
    ID_CONTEXT,
    PHONE_CONTEXT,
    change_resident,
    current_data,
    resident_columns,
)
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
# New rows named one by one in a report (the count covers the rest); every changed row is listed.
ADDITIONS_LISTED = 100
# Rows per multi-row insert: large enough to amortise a statement, small enough for any driver.
_BATCH = 1000
_HOUSEHOLDS = table_of(Household)
_RESIDENTS = table_of(Resident)
_RESIDENT_TAGS = table_of(ResidentTag)
_DATE_COLUMNS = (("出生日期", "birth_date"), ("入住日期", "moved_in_on"), ("迁出日期", "moved_out_on"))
_CHOICE_COLUMNS: tuple[tuple[str, str, type[Relation] | type[ResidenceType]], ...] = (
    ("与户主关系", "relation", Relation),
    ("居住类型", "residence_type", ResidenceType),
)
# What the 清空 marker sets each clearable field to.
_CLEARED: dict[str, Any] = {"phone": None, "tags": [], "moved_in_on": None, "moved_out_on": None, "note": ""}


@dataclass(slots=True)
class _Planned:
    """A checked row: where it goes, its person's lookup hash and which fields the file gives (the rest
    stay as stored)."""

    source: excel.SheetRow
    unit_id: int
    room: str
    id_hash: str
    given: frozenset[str]

    @property
    def sheet(self) -> str:
        """The worksheet of the row."""
        return self.source.sheet

    @property
    def row(self) -> int:
        """The row number Excel shows."""
        return self.source.number

    @property
    def data(self) -> ResidentIn:
        """The row's validated data, made again when needed: 100,000 models held at once cost more
        memory than validating twice costs time."""
        checked = _data_of(self.source, [])
        assert checked is not None  # the row passed the check
        return checked[0]


@dataclass
class _Places:
    """The compounds, buildings, units and households an actor may write to, by name."""

    compounds: dict[str, list[int]] = field(default_factory=dict)
    buildings: dict[int, PlaceNames] = field(default_factory=dict)  # by compound
    units: dict[int, PlaceNames] = field(default_factory=dict)  # by building
    households: dict[tuple[int, str], int] = field(default_factory=dict)
    place_of: dict[int, Place] = field(default_factory=dict)  # by unit: what each resident stores


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
            raise Invalid("导出完整号码须填写理由（至少 {n} 个字）", field="reason", n=REASON_MIN)
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


def plan_import(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    content: bytes,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row and say what an import would do, writing nothing; RowErrors lists every bad row."""
    return _run(session, actor=actor, vault=vault, content=content, progress=progress, write=False)


def import_residents(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    content: bytes,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row, then write them all (or raise RowErrors listing every bad row and write nothing)."""
    return _run(session, actor=actor, vault=vault, content=content, progress=progress, write=True)


def _run(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    content: bytes,
    progress: Progress | None,
    write: bool,
) -> ImportReport:
    scope = policies.require_can_change_registry(actor, N_("只有管理员和社区工作人员可以导入居民信息"))
    bar = progress or Silent()
    workbook = excel.read_workbook(content)
    rows = workbook.rows
    bar.stage("检查", len(rows))
    places = _places(session, scope)
    planned, errors = _check(session, places, vault, rows, bar)
    stored = _residents_by_hash(session, planned)
    errors = _in_file_order(rows, errors + _registered_elsewhere(places, planned, stored))
    if errors:
        raise RowErrors(errors=errors)
    notices = [u.message() for u in workbook.unread] + [
        Text(N_("工作表“{sheet}”没有居民表头（姓名、身份证号……），未导入"), sheet=name)
        for name in workbook.skipped
    ]
    plans, changes = _plans(planned, stored, vault)
    created = sum(1 for p in planned if p.id_hash not in stored)
    if write:
        households_created = _write(session, actor, vault, planned, stored, changes, places, bar)
    else:
        households_created = len({(p.unit_id, p.room) for p in planned} - places.households.keys())
    report = _report(
        planned, plans, notices, created=created, households_created=households_created, written=write
    )
    # A check is audited like the import: which ID numbers are registered, and which stored values a
    # row differs from, is what it tells.
    record_audit(
        session,
        actor=actor,
        action="resident.import" if write else "resident.import_check",
        target_type="resident",
        target_label=f"{len(planned)} 行",
        detail={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "households_created": households_created,
        },
    )
    return report


def error_workbook(content: bytes, errors: list[RowError]) -> bytes:
    """The uploaded workbook with a 错误原因 column beside its rows."""
    return excel.with_errors(excel.read_workbook(content, keep_cells=True), errors)


def _places(session: Session, scope: policies.Scope) -> _Places:
    places = _Places()
    compounds = select(Compound.id, Compound.name, Compound.community_id)
    if not scope.everything:
        compounds = compounds.where(Compound.community_id.in_(sorted(scope.community_ids)))
    community_of: dict[int, int] = {}
    for compound_id, name, community_id in session.execute(compounds):
        places.compounds.setdefault(name, []).append(compound_id)
        community_of[compound_id] = community_id
    buildings = select(Building.id, Building.compound_id, Building.name).where(
        Building.compound_id.in_(list(community_of))
    )
    compound_of: dict[int, int] = {}
    for building_id, compound_id, name in session.execute(buildings):
        places.buildings.setdefault(compound_id, PlaceNames()).add(name, building_id)
        compound_of[building_id] = compound_id
    units = select(Unit.id, Unit.building_id, Unit.name).where(Unit.building_id.in_(list(compound_of)))
    unit_ids = []
    for unit_id, building_id, name in session.execute(units):
        places.units.setdefault(building_id, PlaceNames()).add(name, unit_id)
        compound_id = compound_of[building_id]
        places.place_of[unit_id] = Place(community_of[compound_id], compound_id, building_id)
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
    session: Session, places: _Places, vault: PiiVault, rows: list[excel.SheetRow], bar: Progress
) -> tuple[list[_Planned], list[RowError]]:
    planned: list[_Planned] = []
    errors: list[RowError] = []
    seen: dict[str, tuple[str, int]] = {}
    shared: dict[frozenset[str], frozenset[str]] = {}  # rows mostly give the same columns
    for row in rows:
        row_errors: list[RowError] = []
        unit_id = _unit_of(row, places, row_errors)
        checked = _data_of(row, row_errors)
        if checked is not None:
            data, given = checked
            id_hash = vault.lookup_hash(data.id_number)
            if id_hash in seen:
                sheet, number = seen[id_hash]
                if sheet == row.sheet:
                    same = _error(row, "身份证号", N_("与第 {line} 行是同一人（身份证号重复）"), line=number)
                else:
                    same = _error(
                        row,
                        "身份证号",
                        N_("与工作表“{other}”第 {line} 行是同一人（身份证号重复）"),
                        other=sheet,
                        line=number,
                    )
                row_errors.append(same)
            else:
                seen[id_hash] = (row.sheet, row.number)
            if unit_id is not None and not row_errors:
                room = _room(row.get("户号"))
                planned.append(_Planned(row, unit_id, room, id_hash, shared.setdefault(given, given)))
        errors.extend(row_errors)
        bar.advance()
    return planned, errors


def _in_file_order(rows: list[excel.SheetRow], errors: list[RowError]) -> list[RowError]:
    """Errors by sheet, row and column, as a person reads the file."""
    order = {name: index for index, name in enumerate(dict.fromkeys(r.sheet for r in rows))}
    return sorted(
        errors,
        key=lambda e: (
            order.get(e.sheet or "", 0),
            e.row,
            list(excel.COLUMNS).index(e.column) if e.column in excel.COLUMNS else 99,
        ),
    )


def _error(row: excel.SheetRow, column: str, reason: str, /, **params: object) -> RowError:
    """The row's error; `reason` is a fixed text marked with `N_`, its `{name}` placeholders filled from
    `params`."""
    return RowError.filled(row.number, column, reason, sheet=row.sheet, **params)


def _room(text: str) -> str:
    """A room number as typed, with full-width digits and letters made plain (３０１ → 301)."""
    return unicodedata.normalize("NFKC", text).strip()


def _unit_of(row: excel.SheetRow, places: _Places, errors: list[RowError]) -> int | None:
    values = {column: row.get(column).strip() for column in ("小区", "楼栋", "单元", "户号")}
    for column, value in values.items():
        if not value:
            errors.append(_error(row, column, N_("{column}不能为空"), column=column))
    room = _room(values["户号"])
    if len(room) > 16:
        errors.append(_error(row, "户号", N_("户号最多 16 个字符")))
    if not values["小区"]:
        return None
    compounds = places.compounds.get(values["小区"]) or places.compounds.get(_room(values["小区"]), [])
    if not compounds:
        errors.append(
            _error(row, "小区", N_("小区“{name}”不存在（或不在您的管辖范围内）"), name=values["小区"])
        )
        return None
    if len(compounds) > 1:
        errors.append(
            _error(row, "小区", N_("小区“{name}”在多个社区中重名，请分社区导入"), name=values["小区"])
        )
        return None
    if not values["楼栋"]:
        return None
    buildings = places.buildings.get(compounds[0], PlaceNames())
    building = buildings.find(values["楼栋"])
    if building is None:
        missing = N_("楼栋“{name}”在小区“{compound}”中不存在；{listing}")
        listing = buildings.listing()
        errors.append(
            _error(row, "楼栋", missing, name=values["楼栋"], compound=values["小区"], listing=listing)
        )
        return None
    if not values["单元"]:
        return None
    units = places.units.get(building, PlaceNames())
    unit = units.find(values["单元"])
    if unit is None:
        missing = N_("单元“{name}”在 {compound} {building} 中不存在；{listing}")
        where = {"compound": values["小区"], "building": values["楼栋"], "listing": units.listing()}
        errors.append(_error(row, "单元", missing, name=values["单元"], **where))
        return None
    return unit if room and len(room) <= 16 else None


def _parse_date(text: str) -> date:
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _data_of(row: excel.SheetRow, errors: list[RowError]) -> tuple[ResidentIn, frozenset[str]] | None:
    """The row as validated resident data and the fields it gives, or None with every problem of the row
    appended to `errors` (each column once)."""
    before = len(errors)

    def refuse(column: str, reason: str, /, **params: object) -> None:
        errors.append(_error(row, column, reason, **params))

    values: dict[str, Any] = {}
    given: set[str] = set()
    for key, column in _FIELD_COLUMNS.items():
        text = row.get(column).strip()
        if text == excel.CLEAR:
            if column in excel.CLEARABLE:
                values[key] = _CLEARED[key]
                given.add(key)
            else:
                clearable = "、".join(excel.CLEARABLE)
                refuse(
                    column,
                    N_("{column}不能清空（只有{clearable}可以填“{clear}”）"),
                    column=column,
                    clearable=clearable,
                    clear=excel.CLEAR,
                )
        elif text:
            given.add(key)
    for column in ("姓名", "身份证号", "与户主关系"):
        if not row.get(column).strip():
            refuse(column, N_("{column}不能为空"), column=column)
    id_text = row.get("身份证号").strip()
    id_number: str | None = None
    if id_text.endswith("（数字格式）"):
        refuse("身份证号", N_("身份证号被 Excel 存成了数字，末几位已丢失；请把该列设为文本后重新填写"))
    elif id_text and id_text != excel.CLEAR:
        try:
            id_number = validate_id_number(id_text)
        except Invalid as exc:
            refuse("身份证号", exc.template, **exc.params)
    values["name"] = row.get("姓名")
    values["id_number"] = id_number or id_text
    gender = row.get("性别").strip()
    if "gender" in given and gender not in {g.value for g in Gender}:
        refuse("性别", N_("性别“{gender}”不正确，应为“男”或“女”"), gender=gender)
    values["gender"] = gender if "gender" in given else (gender_of(id_number) if id_number else "")
    for column, key in (
        ("出生日期", "birth_date"),
        ("入住日期", "moved_in_on"),
        ("迁出日期", "moved_out_on"),
    ):
        text = row.get(column).strip()
        if key not in given or text == excel.CLEAR:
            continue
        try:
            values[key] = _parse_date(text)
        except ValueError:
            refuse(column, N_("日期“{text}”格式不正确，应为 2024-05-01 这样的格式"), text=text)
    if "birth_date" not in given and id_number:
        values["birth_date"] = birth_date_of(id_number)
    if "phone" in given and row.get("手机号").strip() != excel.CLEAR:
        values["phone"] = row.get("手机号").strip()
    for column, key, kind in (
        ("与户主关系", "relation", Relation),
        ("居住类型", "residence_type", ResidenceType),
    ):
        text = row.get(column).strip()
        allowed = [member.value for member in kind]
        if key in given and text not in allowed:
            refuse(
                column,
                N_("{column}“{text}”不正确，可填：{allowed}"),
                column=column,
                text=text,
                allowed="、".join(allowed),
            )
        elif key in given:
            values[key] = text
    if "tags" in given and row.get("标签").strip() != excel.CLEAR:
        tags = [t for t in _TAG_SPLIT.split(row.get("标签").strip()) if t]
        unknown = [t for t in tags if t not in _TAG_RANK]
        if unknown:
            refuse(
                "标签",
                N_("未知标签“{tags}”，可用：{allowed}"),
                tags="、".join(unknown),
                allowed="、".join(_TAG_RANK),
            )
        values["tags"] = [t for t in tags if t in _TAG_RANK]
    if "note" in given and row.get("备注").strip() != excel.CLEAR:
        values["note"] = row.get("备注")
    # Columns already refused are left out, so the model still checks every other column of the row.
    reported = {e.column for e in errors[before:]}
    if id_number is None:  # nothing to derive 性别 and 出生日期 from: the ID's own error says why
        reported |= {
            column for key, column in (("gender", "性别"), ("birth_date", "出生日期")) if key not in given
        }
    for key, column in _FIELD_COLUMNS.items():
        if column in reported:
            values.pop(key, None)
    try:
        data = ResidentIn.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            location = error.get("loc", ())
            column = _FIELD_COLUMNS.get(str(location[0]), "迁出日期") if location else "迁出日期"
            if column in reported:
                continue
            reported.add(column)
            if error.get("type") == "invalid":
                message, params = check_of(error)
                refuse(column, message, **params)
            else:
                refuse(column, N_("{column}格式不正确"), column=column)
        return None
    if len(errors) > before:
        return None
    return data, frozenset(given | {"name", "id_number", "relation"})


def _residents_by_hash(session: Session, planned: list[_Planned]) -> dict[str, Resident]:
    """The stored residents that the rows name, by ID-number lookup hash (with their tags)."""
    found: dict[str, Resident] = {}
    for chunk in _chunks([p.id_hash for p in planned], 500):
        for resident in session.scalars(select(Resident).where(Resident.id_number_hash.in_(chunk))):
            found[resident.id_number_hash] = resident
    return found


def _registered_elsewhere(
    places: _Places, planned: list[_Planned], stored: dict[str, Resident]
) -> list[RowError]:
    """Rows whose person is already registered in another household than the row names."""
    errors = []
    for plan in planned:
        resident = stored.get(plan.id_hash)
        household = resident.household_id if resident is not None else None
        if household is not None and household != places.households.get((plan.unit_id, plan.room)):
            errors.append(
                RowError(
                    plan.row,
                    "身份证号",
                    "此人已登记在其他户，同一人不能重复登记（迁户请在居民详情中办理）",
                    sheet=plan.sheet,
                )
            )
    return errors


def _changes(resident: Resident, plan: _Planned, vault: PiiVault) -> dict[str, Any]:
    """The fields the row gives that differ from the stored resident (nothing else is touched)."""
    stored = current_data(resident, vault=vault).model_dump(mode="json")
    wanted = plan.data.model_dump(mode="json")
    changed = {}
    for key in sorted(plan.given, key=list(_FIELD_COLUMNS).index):
        same = sorted(stored[key]) == sorted(wanted[key]) if key == "tags" else stored.get(key) == wanted[key]
        if not same:
            changed[key] = wanted[key]
    return changed


def _shown(key: str, value: Any) -> str:
    """A value as the report shows it: phones masked, tags joined, nothing as 空."""
    if value in (None, "", []):
        return "（空）"
    if key == "phone":
        return mask_phone(str(value))
    if key == "tags":
        return "、".join(value)
    return str(value)


def _plans(
    planned: list[_Planned], stored: dict[str, Resident], vault: PiiVault
) -> tuple[list[RowPlan], dict[str, dict[str, Any]]]:
    """Each row that changes a stored resident (and the first ADDITIONS_LISTED new ones), and the changed
    fields of each stored resident by lookup hash."""
    plans = []
    changes_by_hash: dict[str, dict[str, Any]] = {}
    added = 0
    for plan in planned:
        resident = stored.get(plan.id_hash)
        if resident is None:
            if added < ADDITIONS_LISTED:
                plans.append(RowPlan(sheet=plan.sheet, row=plan.row, name=plan.data.name, action="新增"))
            added += 1
            continue
        changed = _changes(resident, plan, vault)
        if changed:
            changes_by_hash[plan.id_hash] = changed
            before = current_data(resident, vault=vault).model_dump(mode="json")
            changes = [
                FieldChange(column=_FIELD_COLUMNS[key], old=_shown(key, before[key]), new=_shown(key, value))
                for key, value in changed.items()
            ]
            plans.append(
                RowPlan(sheet=plan.sheet, row=plan.row, name=resident.name, action="更新", changes=changes)
            )
    return plans, changes_by_hash


def _report(
    planned: list[_Planned],
    plans: list[RowPlan],
    notices: list[Text],
    *,
    created: int,
    households_created: int,
    written: bool,
) -> ImportReport:
    updated = sum(1 for p in plans if p.action == "更新")
    return ImportReport(
        written=written,
        rows=len(planned),
        created=created,
        updated=updated,
        unchanged=len(planned) - created - updated,
        households_created=households_created,
        plans=plans,
        notices=[],
    ).built(notices=notices)


def _write(
    session: Session,
    actor: Principal,
    vault: PiiVault,
    planned: list[_Planned],
    stored: dict[str, Resident],
    changes: dict[str, dict[str, Any]],
    places: _Places,
    bar: Progress,
) -> int:
    """Add the new households and residents in batches and update the changed residents; every new and
    changed row is audited as `add_resident`/`update_resident` would. How many households were made."""
    bar.stage("写入", len(planned))
    households = dict(places.households)
    made = sorted({(p.unit_id, p.room) for p in planned} - households.keys())
    for chunk in _chunks(made, _BATCH):
        ids = insert_returning_ids(session, _HOUSEHOLDS, [{"unit_id": u, "room": r} for u, r in chunk])
        households.update(zip(chunk, ids, strict=True))
        targets = [
            AuditTarget(i, room, places.place_of[unit].community_id, {"unit_id": unit, "via": "import"})
            for (unit, room), i in zip(chunk, ids, strict=True)
        ]
        record_audits(
            session, actor=actor, action="household.create", target_type="household", targets=targets
        )
    created: Counter[int] = Counter()
    fresh = [p for p in planned if p.id_hash not in stored]
    for chunk in _chunks(fresh, _BATCH):
        data = [p.data for p in chunk]
        rows = [
            resident_columns(vault=vault, data=d, place=places.place_of[p.unit_id])
            | {"household_id": households[(p.unit_id, p.room)]}
            for p, d in zip(chunk, data, strict=True)
        ]
        ids = insert_returning_ids(session, _RESIDENTS, rows)
        tags = [{"resident_id": i, "tag": t.value} for i, d in zip(ids, data, strict=True) for t in d.tags]
        if tags:
            session.connection().execute(insert(_RESIDENT_TAGS), tags)
        targets = [
            AuditTarget(i, row["name"], row["community_id"], {"household_id": row["household_id"]})
            for i, row in zip(ids, rows, strict=True)
        ]
        record_audits(session, actor=actor, action="resident.create", target_type="resident", targets=targets)
        created.update(row["community_id"] for row in rows)
        bar.advance(len(chunk))
    updated: Counter[int] = Counter()
    for plan in planned:
        resident = stored.get(plan.id_hash)
        if resident is not None and plan.id_hash in changes:
            patch = ResidentPatch.model_validate(changes[plan.id_hash])
            change_resident(session, actor=actor, vault=vault, resident_id=resident.id, patch=patch)
            updated[places.place_of[plan.unit_id].community_id] += 1
        if resident is not None:
            bar.advance()
    for community_id in sorted(created.keys() | updated.keys()):
        event = ResidentsImported(
            community_id=community_id, created=created[community_id], updated=updated[community_id]
        )
        publish_on_commit(session, event)
    return len(made)
