"""Each resident stores its household's community, compound and building, and scoped search uses them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import true
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry import repository
from jiayuan.registry.models import Resident
from jiayuan.registry.schemas import ResidentPatch
from jiayuan.registry.search import parse_query
from jiayuan.registry.service import resident_search, residents
from tests.factories import Tree, person
from tests.registry.places import in_scope_through_columns, in_scope_through_households, misplaced

SYSTEM = Principal.system()
BORN = date(1979, 3, 4)


@pytest.fixture
def people(db: Session, tree: Tree, vault: PiiVault) -> dict[str, int]:
    """Two people in each of 锦江花园 101 and 102, 森海一期 201 and 远方小区 301."""
    homes = [tree.h101, tree.h101, tree.h102, tree.h102, tree.h201, tree.h201, tree.h_far, tree.h_far]
    names = ["刘莹", "刘强", "李勇", "李娜", "王伟", "王芳", "张伟", "张敏"]
    ids = {}
    for serial, (name, home) in enumerate(zip(names, homes, strict=True), start=11):
        data = person(name, BORN, serial)
        ids[name] = residents.add_resident(db, actor=SYSTEM, vault=vault, household_id=home.id, data=data).id
    db.commit()
    return ids


def place_of(db: Session, resident_id: int) -> tuple[int, int, int]:
    db.expire_all()
    resident = db.get_one(Resident, resident_id)
    return resident.community_id, resident.compound_id, resident.building_id


def test_adding_stores_the_households_place(db: Session, tree: Tree, people: dict[str, int]) -> None:
    assert place_of(db, people["刘莹"]) == (tree.community.id, tree.jinjiang.id, tree.b1.id)
    assert place_of(db, people["王伟"]) == (tree.community.id, tree.senhai.id, tree.b2.id)
    assert place_of(db, people["张伟"]) == (tree.other_community.id, tree.far.id, tree.b_far.id)
    assert misplaced(db) == []


def test_moving_household_moves_the_stored_place(
    db: Session, tree: Tree, people: dict[str, int], vault: PiiVault
) -> None:
    moved = people["刘强"]
    patch = ResidentPatch.model_validate({"household_id": tree.h201.id})
    residents.update_resident(db, actor=SYSTEM, vault=vault, resident_id=moved, patch=patch)
    db.commit()
    assert place_of(db, moved) == (tree.community.id, tree.senhai.id, tree.b2.id)
    # Into another community, then an edit that does not move: the place stays the new household's.
    patch = ResidentPatch.model_validate({"household_id": tree.h_far.id})
    residents.update_resident(db, actor=SYSTEM, vault=vault, resident_id=moved, patch=patch)
    residents.update_resident(
        db,
        actor=SYSTEM,
        vault=vault,
        resident_id=moved,
        patch=ResidentPatch.model_validate({"note": "新住址"}),
    )
    db.commit()
    assert place_of(db, moved) == (tree.other_community.id, tree.far.id, tree.b_far.id)
    assert misplaced(db) == []
    # The old community's staff no longer find them; the new community's staff do.
    staff = tree.staff()
    other = Principal(
        role=Role.STAFF, user_id=2, username="far", community_ids=frozenset({tree.other_community.id})
    )
    page = PageParams(page=1, size=20)
    assert "刘强" not in [
        r.name
        for r in resident_search.search_residents(db, actor=staff, vault=vault, q="刘", page=page).items
    ]
    assert [
        r.name
        for r in resident_search.search_residents(db, actor=other, vault=vault, q="刘强", page=page).items
    ] == ["刘强"]


def principals(tree: Tree) -> list[Principal]:
    """One principal of every role that reads residents, plus a few with several or no scopes."""
    return [
        tree.staff(),
        tree.staff(Role.ADMIN),
        Principal(
            role=Role.STAFF,
            username="both",
            community_ids=frozenset({tree.community.id, tree.other_community.id}),
        ),
        Principal(role=Role.PROPERTY, username="jj", compound_ids=frozenset({tree.jinjiang.id})),
        Principal(
            role=Role.PROPERTY, username="sh+yf", compound_ids=frozenset({tree.senhai.id, tree.far.id})
        ),
        Principal(role=Role.GRID, username="grid", grid_ids=frozenset({tree.grid.id})),
        Principal(role=Role.GRID, username="no grid", grid_ids=frozenset({999})),
        Principal(role=Role.RESIDENT, username="h102", household_id=tree.h102.id),
        Principal(role=Role.RESIDENT, username="homeless"),
        Principal(role=Role.STAFF, username="none"),
        SYSTEM,
    ]


def test_scoped_search_finds_exactly_what_the_household_filter_found(
    db: Session, tree: Tree, people: dict[str, int], vault: PiiVault
) -> None:
    patch = ResidentPatch.model_validate({"household_id": tree.h_far.id})
    residents.update_resident(db, actor=SYSTEM, vault=vault, resident_id=people["王芳"], patch=patch)
    db.commit()
    page = PageParams(page=1, size=50)
    dialect = db.get_bind().dialect.name
    for actor in principals(tree):
        expected = in_scope_through_households(db, actor, true())
        assert in_scope_through_columns(db, actor, true()) == expected, actor.username
        for q in (None, "刘", "wang", "zw", "伟"):
            query = parse_query(q or "")
            match = (
                true() if query is None else repository.match_clause(query, dialect=dialect, lookup_hash=None)
            )
            found = resident_search.search_residents(db, actor=actor, vault=vault, q=q, page=page)
            assert sorted(item.id for item in found.items) == in_scope_through_households(db, actor, match), (
                actor.username,
                q,
            )
    # Not vacuous: the principals see different, non-empty sets.
    seen = {tuple(in_scope_through_households(db, actor, true())) for actor in principals(tree)}
    assert len(seen) >= 6
