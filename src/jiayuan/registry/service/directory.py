"""Read-only lookups the other domains need from the registry (devices, gates, households, plates)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service.sign_in import PhoneHolder
from jiayuan.db.bulk import in_list, is_postgresql
from jiayuan.kernel.numbers import row_id
from jiayuan.kernel.scopes import CommunityOf
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Grid,
    Household,
    Resident,
    Unit,
    Vehicle,
    grid_buildings,
)
from jiayuan.registry.schemas import today


@dataclass(frozen=True)
class DeviceInfo:
    """A device with where it stands: gate, compound, community."""

    id: str
    kind: str
    name: str
    enabled: bool
    gate_id: int | None
    gate_name: str | None
    compound_id: int | None
    community_id: int | None


@dataclass(frozen=True)
class GateInfo:
    """A gate with its compound and devices."""

    id: int
    code: str
    name: str
    compound_id: int
    compound_name: str
    community_id: int
    device_ids: tuple[str, ...]


@dataclass(frozen=True)
class PersonInfo:
    """A resident with the household and compound they may enter."""

    id: int
    household_id: int
    compound_id: int
    community_id: int
    moved_out: bool


@dataclass(frozen=True)
class VehicleInfo:
    """A registered resident vehicle."""

    plate: str
    household_id: int
    compound_id: int
    community_id: int


def devices_by_ids(session: Session, ids: Iterable[str]) -> dict[str, DeviceInfo]:
    """The devices among `ids` that exist, keyed by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Device, Gate.name, Gate.compound_id, Compound.community_id)
        .outerjoin(Gate, Device.gate_id == Gate.id)
        .outerjoin(Compound, Gate.compound_id == Compound.id)
        .where(Device.id.in_(wanted))
    ).all()
    return {
        device.id: DeviceInfo(
            id=device.id,
            kind=device.kind,
            name=device.name,
            enabled=device.enabled,
            gate_id=device.gate_id,
            gate_name=gate_name,
            compound_id=compound_id,
            community_id=community_id,
        )
        for device, gate_name, compound_id, community_id in rows
    }


def list_gates(session: Session, *, community_ids: Iterable[int] | None = None) -> list[GateInfo]:
    """Gates (optionally of some communities) with their compound and device ids."""
    query = select(Gate, Compound).join(Compound, Gate.compound_id == Compound.id).order_by(Gate.id)
    if community_ids is not None:
        query = query.where(Compound.community_id.in_(list(community_ids)))
    gates = session.execute(query).all()
    device_rows = session.execute(select(Device.gate_id, Device.id).order_by(Device.id)).all()
    by_gate: dict[int, list[str]] = {}
    for gate_id, device_id in device_rows:
        if gate_id is not None:
            by_gate.setdefault(gate_id, []).append(device_id)
    return [
        GateInfo(
            id=gate.id,
            code=gate.code,
            name=gate.name,
            compound_id=compound.id,
            compound_name=compound.name,
            community_id=compound.community_id,
            device_ids=tuple(by_gate.get(gate.id, ())),
        )
        for gate, compound in gates
    ]


def gate_by_ref(session: Session, ref: str) -> GateInfo | None:
    """A gate by numeric id or by code."""
    for gate in list_gates(session):
        if gate.code == ref or str(gate.id) == ref:
            return gate
    return None


def person(session: Session, person_id: int) -> PersonInfo | None:
    """A resident with household, compound and community."""
    row = session.execute(
        select(Resident.id, Resident.household_id, Compound.id, Compound.community_id, Resident.moved_out_on)
        .join(Household, Resident.household_id == Household.id)
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .join(Compound, Building.compound_id == Compound.id)
        .where(Resident.id == person_id)
    ).first()
    if row is None:
        return None
    return PersonInfo(row[0], row[1], row[2], row[3], row[4] is not None)


def phone_holder(session: Session, *, phone_hash: str) -> PhoneHolder | None:
    """The resident living here (not moved out) registered with the mobile number of this keyed hash,
    the first registered when several share it; for signing a resident in (accounts.service.sign_in)."""
    row = session.execute(
        select(Resident.id, Resident.household_id, Resident.community_id, Resident.name)
        .where(
            Resident.phone_hash == phone_hash,
            or_(Resident.moved_out_on.is_(None), Resident.moved_out_on > today()),
        )
        .order_by(Resident.id)
        .limit(1)
    ).first()
    return None if row is None else PhoneHolder(row[0], row[1], row[2], row[3])


def household_compound(session: Session, household_id: int) -> tuple[int, int] | None:
    """`(compound_id, community_id)` of a household."""
    row = session.execute(
        select(Compound.id, Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .join(Unit, Unit.building_id == Building.id)
        .join(Household, Household.unit_id == Unit.id)
        .where(Household.id == household_id)
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class HouseholdPlace:
    """A household with its compound, community and the grids covering its building."""

    id: int
    compound_id: int
    compound_name: str
    community_id: int
    label: str
    grid_ids: frozenset[int]


def household_places(session: Session, ids: Iterable[int]) -> dict[int, HouseholdPlace]:
    """The households among `ids` that exist, keyed by id (`label` is `1号楼 1单元 301`)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Household.id, Household.room, Unit.name, Building.id, Building.name, Compound.id,
               Compound.name, Compound.community_id)
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .join(Compound, Building.compound_id == Compound.id)
        .where(Household.id.in_(wanted))
    ).all()  # fmt: skip
    buildings = {row[3] for row in rows}
    grids: dict[int, set[int]] = {}
    for grid_id, building_id in session.execute(
        select(grid_buildings.c.grid_id, grid_buildings.c.building_id).where(
            grid_buildings.c.building_id.in_(sorted(buildings))
        )
    ):
        grids.setdefault(building_id, set()).add(grid_id)
    return {
        household: HouseholdPlace(
            id=household,
            compound_id=compound,
            compound_name=compound_name,
            community_id=community,
            label=f"{building_name} {unit} {room}",
            grid_ids=frozenset(grids.get(building, ())),
        )
        for household, room, unit, building, building_name, compound, compound_name, community in rows
    }


def compound_grids(session: Session, compound_id: int) -> frozenset[int]:
    """The grids covering some building of a compound (where a gate's alarm is a grid's business)."""
    return frozenset(
        session.scalars(
            select(grid_buildings.c.grid_id)
            .join(Building, Building.id == grid_buildings.c.building_id)
            .where(Building.compound_id == compound_id)
        )
    )


def community_grids(session: Session, community_id: int) -> list[int]:
    """The ids of a community's grids."""
    return list(session.scalars(select(Grid.id).where(Grid.community_id == community_id).order_by(Grid.id)))


def community_compounds(session: Session, community_id: int) -> list[int]:
    """The ids of a community's compounds."""
    return list(
        session.scalars(
            select(Compound.id).where(Compound.community_id == community_id).order_by(Compound.id)
        )
    )


def households_in_grids(grid_ids: Iterable[int]) -> Select[int]:
    """The ids of the households whose building a grid among `grid_ids` covers (a subquery)."""
    covered = select(grid_buildings.c.building_id).where(grid_buildings.c.grid_id.in_(sorted(set(grid_ids))))
    return select(Household.id).join(Unit, Household.unit_id == Unit.id).where(Unit.building_id.in_(covered))


@functools.cache
def _vehicles_query(postgres: bool) -> Select[str, int, int, int]:
    # Built once: the ingest loop runs it for every batch of plate reads.
    return (
        select(Vehicle.plate, Vehicle.household_id, Compound.id, Compound.community_id)
        .join(Household, Vehicle.household_id == Household.id)
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .join(Compound, Building.compound_id == Compound.id)
        .where(in_list(Vehicle.plate, "plates", postgres=postgres))
    )


def vehicles_by_plates(session: Session, plates: Iterable[str]) -> dict[str, VehicleInfo]:
    """Registered resident vehicles among `plates`, keyed by plate."""
    wanted = sorted(set(plates))
    if not wanted:
        return {}
    rows = session.execute(_vehicles_query(is_postgresql(session)), {"plates": wanted}).all()
    return {plate: VehicleInfo(plate, hh, comp, comm) for plate, hh, comp, comm in rows}


def all_devices(session: Session) -> list[DeviceInfo]:
    """Every registered device with its gate, compound and community."""
    ids = session.scalars(select(Device.id).order_by(Device.id)).all()
    found = devices_by_ids(session, ids)
    return [found[i] for i in ids]


def people_of_compound(session: Session, compound_id: int, *, limit: int = 500) -> list[tuple[int, int]]:
    """`(person_id, household_id)` of residents living in a compound (not moved out)."""
    rows = session.execute(
        select(Resident.id, Resident.household_id)
        .join(Household, Resident.household_id == Household.id)
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Building.compound_id == compound_id, Resident.moved_out_on.is_(None))
        .order_by(Resident.id)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def plates_of_compound(session: Session, compound_id: int, *, limit: int = 500) -> list[str]:
    """Registered resident plates of a compound."""
    return list(
        session.scalars(
            select(Vehicle.plate)
            .join(Household, Vehicle.household_id == Household.id)
            .join(Unit, Household.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.compound_id == compound_id)
            .order_by(Vehicle.plate)
            .limit(limit)
        )
    )


def community_of_scope(session: Session, kind: str, ref: str) -> int | None:
    """The community a scope target (`community`/`compound`/`grid`/`household`/`person`) belongs to.

    None when the target does not exist (or the kind is unknown), so a caller answers "not found"
    alike for a missing object and one outside the granting admin's communities.
    """
    ref_id = row_id(ref)
    if ref_id is None:
        return None
    if kind == "community":
        return ref_id if session.get(Community, ref_id) is not None else None
    if kind == "compound":
        compound = session.get(Compound, ref_id)
        return compound.community_id if compound is not None else None
    if kind == "grid":
        grid = session.get(Grid, ref_id)
        return grid.community_id if grid is not None else None
    if kind == "household":
        place = household_compound(session, ref_id)
        return place[1] if place is not None else None
    if kind == "person":
        found = person(session, ref_id)
        return found.community_id if found is not None else None
    return None


def scope_resolver(session: Session) -> CommunityOf:
    """`community_of_scope` bound to a session, for the accounts domain's grant checks."""
    return functools.partial(community_of_scope, session)


def place_names(
    session: Session, *, community_ids: Iterable[int] = (), grid_ids: Iterable[int] = ()
) -> dict[tuple[str, int], str]:
    """Names of communities and grids by (`community`/`grid`, id), for reports and shared feeds."""
    names: dict[tuple[str, int], str] = {}
    wanted = sorted(set(community_ids))
    if wanted:
        rows = session.execute(select(Community.id, Community.name).where(Community.id.in_(wanted)))
        names.update((("community", i), n) for i, n in rows)
    wanted = sorted(set(grid_ids))
    if wanted:
        rows = session.execute(select(Grid.id, Grid.name).where(Grid.id.in_(wanted)))
        names.update((("grid", i), n) for i, n in rows)
    return names
