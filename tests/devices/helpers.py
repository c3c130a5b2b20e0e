"""A small registry for device tests: one community, one compound, one gate and its devices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.kernel.ids import new_event_id
from jiayuan.registry.models import Community, Compound, Device, Gate, Street

DOCS = Path(__file__).resolve().parents[2] / "docs" / "devices.md"
GATE1_DEVICES = ("qr", "plate", "cam", "sos", "door", "speaker")


@dataclass(frozen=True)
class Site:
    """Ids of what `seed_site` created."""

    community_id: int
    compound_id: int
    gate_id: int
    gate2_id: int
    other_community_id: int


def seed_site(session: Session) -> Site:
    """锦江花园 with gate 1 (all device kinds) and gate 2 (a QR reader), plus a second community."""
    street = Street(name="紫荆路街道", city="巩义市")
    community = Community(street=street, name="紫荆路社区")
    other = Community(street=street, name="桐本南路社区")
    compound = Compound(community=community, name="锦江花园", code="jjhy")
    gate1 = Gate(compound=compound, code="jjhy-gate1", name="1号门")
    gate2 = Gate(compound=compound, code="jjhy-gate2", name="2号门")
    session.add_all([street, community, other, compound, gate1, gate2])
    session.flush()
    for kind in GATE1_DEVICES:
        session.add(Device(id=f"jjhy-gate1-{kind}", gate_id=gate1.id, kind=kind, name=f"1号门 {kind}"))
    session.add(Device(id="jjhy-gate2-qr", gate_id=gate2.id, kind="qr", name="2号门 扫码"))
    session.add(Device(id="jjhy-old-qr", gate_id=gate2.id, kind="qr", name="停用读头", enabled=False))
    session.commit()
    return Site(community.id, compound.id, gate1.id, gate2.id, other.id)


def envelope(
    device: str, type: str, payload: dict[str, Any], *, ts: datetime, id: str | None = None
) -> bytes:
    """One event envelope as a device would send it."""
    return json.dumps(
        {
            "v": 1,
            "id": id or new_event_id(),
            "device": device,
            "type": type,
            "ts": ts.isoformat(),
            "payload": payload,
        }
    ).encode()


@dataclass(frozen=True)
class DocBlock:
    """One JSON block of docs/devices.md, with its `dead-letter=` tag if any."""

    data: dict[str, Any]
    raw: bytes
    dead_letter: str | None


def doc_blocks() -> list[DocBlock]:
    """Every ```json block of docs/devices.md."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"```json([^\n]*)\n(.*?)```", text, re.DOTALL):
        tag = re.search(r"dead-letter=(\w+)", match.group(1))
        raw = match.group(2).encode()
        blocks.append(DocBlock(json.loads(raw), raw, tag.group(1) if tag else None))
    return blocks


def add_person(
    session: Session, compound_id: int, *, room: str = "101", name: str = "张三"
) -> tuple[int, int]:
    """A household with one resident in the compound; returns (household_id, person_id)."""
    from datetime import date

    from jiayuan.registry.models import Building, Compound, Household, Resident, Unit

    building = session.query(Building).filter_by(compound_id=compound_id, name="1号楼").one_or_none()
    if building is None:
        building = Building(compound_id=compound_id, name="1号楼")
        unit = Unit(building=building, name="1单元")
        session.add_all([building, unit])
        session.flush()
    unit = building.units[0]
    household = Household(unit_id=unit.id, room=room)
    session.add(household)
    session.flush()
    community_id = session.get_one(Compound, compound_id).community_id
    resident = Resident(
        household_id=household.id, community_id=community_id, compound_id=compound_id,
        building_id=building.id, name=name, name_pinyin="zhangsan", name_initials="zs", gender="男",
        birth_date=date(1980, 1, 1), id_number_cipher="x", id_number_hash=f"h{household.id}{room}",
        id_tail="0000", relation="户主", residence_type="户籍",
    )  # fmt: skip
    session.add(resident)
    session.commit()
    return household.id, resident.id
