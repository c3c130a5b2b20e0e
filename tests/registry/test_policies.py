"""Scope as a matrix: every role against residents, households, vehicles, the tree and reveals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Forbidden, JiayuanError, NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry import policies
from jiayuan.registry.policies import Location
from jiayuan.registry.schemas import ResidentPatch, RevealIn
from jiayuan.registry.service import residents, structure
from tests.factories import Tree, person

BORN = date(1970, 1, 1)
PAGE = PageParams()


def principals(tree: Tree) -> dict[str, Principal]:
    """One principal per role, scoped to 锦江花园 1号楼 1单元 101 (or its community, grid, compound)."""
    community = frozenset({tree.community.id})
    return {
        "system": Principal.system(),
        "admin": Principal(role=Role.ADMIN, username="admin", community_ids=community),
        "staff": Principal(role=Role.STAFF, username="staff", community_ids=community),
        "grid": Principal(
            role=Role.GRID, username="grid", community_ids=community, grid_ids=frozenset({tree.grid.id})
        ),
        "property": Principal(role=Role.PROPERTY, username="wy", compound_ids=frozenset({tree.jinjiang.id})),
        "resident": Principal(role=Role.RESIDENT, username="jm", household_id=tree.h101.id),
        "police": Principal(role=Role.POLICE, username="police", community_ids=community),
        "volunteer": Principal(role=Role.VOLUNTEER, username="vol", community_ids=community),
        "device": Principal(role=Role.DEVICE, username="device:x", device_id="x"),
        "far_staff": Principal(
            role=Role.STAFF, username="far", community_ids=frozenset({tree.other_community.id})
        ),
    }


# role → (read in-scope resident, update it, reveal its ID number, read the out-of-scope one)
EXPECTED: dict[str, tuple[str, str, str, str]] = {
    "system": ("ok", "ok", "ok", "ok"),
    "admin": ("ok", "ok", "ok", "404"),
    "staff": ("ok", "ok", "ok", "404"),
    "grid": ("ok", "403", "403", "404"),
    "property": ("ok", "403", "403", "404"),
    "resident": ("ok", "403", "403", "404"),
    "police": ("403", "403", "403", "403"),
    "volunteer": ("403", "403", "403", "403"),
    "device": ("403", "403", "403", "403"),
    "far_staff": ("404", "404", "404", "ok"),
}


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except Forbidden:
        return "403"
    except NotFound:
        return "404"
    except JiayuanError as exc:  # pragma: no cover - shows the unexpected error in the assertion
        return type(exc).__name__
    return "ok"


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_scope_matrix(db: Session, tree: Tree, vault: PiiVault, role: str) -> None:
    system = Principal.system()
    mine = residents.add_resident(
        db, actor=system, vault=vault, household_id=tree.h101.id, data=person("刘莹", BORN, 2)
    )
    far = residents.add_resident(
        db, actor=system, vault=vault, household_id=tree.h_far.id, data=person("欧阳娜娜", BORN, 4)
    )
    db.commit()
    actor = principals(tree)[role]
    got = (
        outcome(lambda: residents.show_resident(db, actor=actor, vault=vault, resident_id=mine.id)),
        outcome(
            lambda: residents.update_resident(
                db, actor=actor, vault=vault, resident_id=mine.id, patch=ResidentPatch(note="走访")
            )
        ),
        outcome(
            lambda: residents.reveal(
                db,
                actor=actor,
                vault=vault,
                resident_id=mine.id,
                request=RevealIn(field="id_number", reason="核实身份信息"),
            )
        ),
        outcome(lambda: residents.show_resident(db, actor=actor, vault=vault, resident_id=far.id)),
    )
    assert got == EXPECTED[role]
    db.rollback()


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_household_and_tree_visibility(db: Session, tree: Tree, vault: PiiVault, role: str) -> None:
    actor = principals(tree)[role]
    household = outcome(
        lambda: structure.show_household(db, actor=actor, vault=vault, household_id=tree.h101.id)
    )
    vehicles = outcome(lambda: structure.list_vehicles(db, actor=actor, page=PAGE))
    reads_people = EXPECTED[role][0]
    assert vehicles == ("403" if reads_people == "403" else "ok")
    assert household == reads_people
    if role == "device":
        assert outcome(lambda: structure.list_communities(db, actor=actor)) == "403"
        return
    communities = {c.name for c in structure.list_communities(db, actor=actor)}
    compounds = {c.name for c in structure.list_compounds(db, actor=actor)}
    expected_compounds = {
        "system": {"锦江花园", "森海一期", "远方小区"},
        "far_staff": {"远方小区"},
        "grid": {"锦江花园"},
        "property": {"锦江花园"},
        "resident": {"锦江花园"},
    }.get(role, {"锦江花园", "森海一期"})
    assert compounds == expected_compounds
    assert ("紫荆路社区" in communities) == (role != "far_staff")


def test_tree_parent_out_of_scope_is_not_found(db: Session, tree: Tree) -> None:
    staff = tree.staff()
    assert [b.name for b in structure.list_buildings(db, actor=staff, compound_id=tree.jinjiang.id)] == [
        "1号楼"
    ]
    with pytest.raises(NotFound):
        structure.list_buildings(db, actor=staff, compound_id=tree.far.id)
    with pytest.raises(NotFound):
        structure.list_units(db, actor=staff, building_id=999_999)
    units = structure.list_units(db, actor=staff, building_id=tree.b1.id)
    households = structure.list_households(db, actor=staff, unit_id=units[0].id, page=PAGE)
    assert [h.room for h in households.items] == ["101", "102"]


def test_grid_vehicles_only_in_their_buildings(db: Session, tree: Tree) -> None:
    grid = principals(tree)["grid"]
    assert [v.plate for v in structure.list_vehicles(db, actor=grid, page=PAGE).items] == ["豫A12345"]
    assert [
        v.plate for v in structure.list_vehicles(db, actor=tree.staff(), plate="ad98", page=PAGE).items
    ] == ["豫AD98765"]


def test_scope_covers() -> None:
    where = Location(community_id=1, compound_id=2, building_id=3, household_id=4, grid_ids=frozenset({5}))
    assert policies.Scope(everything=True).covers(where)
    assert policies.Scope(community_ids=frozenset({1})).covers(where)
    assert policies.Scope(grid_ids=frozenset({5})).covers(where)
    assert not policies.Scope(grid_ids=frozenset({6})).covers(where)
    assert not policies.Scope().covers(where)
    assert not policies.personal_scope(Principal(role=Role.RESIDENT, username="x")).covers(where)
