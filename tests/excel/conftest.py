"""A small registry with a few residents (added through the registry service) and workbook helpers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.excel import COLUMNS
from jiayuan.registry.models import Household, Resident, ResidentTag, Unit
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.service.residents import add_resident
from tests.factories import build_tree, make_id


@dataclass
class Place:
    """Ids in the test registry: 紫荆路社区 and its 锦江花园, a grid over 锦江花园 1号楼."""

    community_id: int
    other_community_id: int
    jinjiang_id: int
    grid_id: int
    h101: int
    h102: int
    h201: int

    def staff(self) -> Principal:
        """A staff member of the community."""
        return Principal(
            role=Role.STAFF, user_id=None, username="staff", community_ids=frozenset({self.community_id})
        )


PEOPLE: list[dict[str, Any]] = [
    {"name": "刘莹", "born": date(1990, 3, 7), "serial": 2, "phone": "13812345678", "relation": "户主",
     "tags": ["党员"], "moved_in_on": date(2015, 6, 1), "note": "楼长"},
    {"name": "王建国", "born": date(1988, 11, 2), "serial": 11, "phone": "0371-64123456", "relation": "配偶"},
    {"name": "王子轩", "born": date(2016, 5, 20), "serial": 13, "phone": None, "relation": "子女"},
    {"name": "张秀英", "born": date(1940, 1, 15), "serial": 22, "phone": None, "relation": "户主",
     "tags": ["独居老人", "高龄"], "residence_type": "户籍"},
    {"name": "欧阳娜娜", "born": date(1999, 8, 30), "serial": 24, "phone": "19912345678", "relation": "户主",
     "residence_type": "租住", "moved_in_on": date(2023, 3, 1), "moved_out_on": date(2025, 2, 28)},
]  # fmt: skip


def resident_data(person: dict[str, Any]) -> ResidentIn:
    """Registry input for one of PEOPLE."""
    id_number = make_id(person["born"], person["serial"])
    extra = {k: v for k, v in person.items() if k not in ("born", "serial")}
    return ResidentIn.model_validate(
        extra
        | {
            "id_number": id_number,
            "gender": "男" if person["serial"] % 2 else "女",
            "birth_date": person["born"],
        }
    )


@pytest.fixture
def place(db: Session) -> Place:
    """The registry tree of tests/factories.py, with an empty 2单元 in 锦江花园 1号楼."""
    tree = build_tree(db)
    db.add(Unit(building=tree.b1, name="2单元"))
    db.commit()
    return Place(
        tree.community.id,
        tree.other_community.id,
        tree.jinjiang.id,
        tree.grid.id,
        tree.h101.id,
        tree.h102.id,
        tree.h201.id,
    )


@pytest.fixture
def residents(db: Session, place: Place, vault: PiiVault) -> list[int]:
    """The five PEOPLE: a family of three in 101, 张秀英 alone in 102, 欧阳娜娜 (moved out) in 201."""
    homes = [place.h101, place.h101, place.h101, place.h102, place.h201]
    ids = []
    for person, home in zip(PEOPLE, homes, strict=True):
        added = add_resident(
            db, actor=Principal.system(), vault=vault, household_id=home, data=resident_data(person)
        )
        ids.append(added.id)
    db.commit()
    return ids


def workbook(rows: Sequence[Sequence[object]], headers: Sequence[str] = COLUMNS) -> bytes:
    """An .xlsx with a header and rows written as given (numbers stay numbers, like a hand-made file)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("居民")
    sheet.write_row(0, 0, list(headers))
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is not None and value != "":
                sheet.write(number, column, value)
    book.close()
    return buffer.getvalue()


def row(**values: object) -> list[object]:
    """A row in column order from Chinese column names."""
    return [values.get(column, "") for column in COLUMNS]


def counts(db: Session) -> dict[str, int]:
    """Row counts of what an import may write."""
    db.expire_all()
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Resident, ResidentTag, Household, AuditEntry)
    }
