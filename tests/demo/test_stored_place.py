"""The demo seeder writes each resident's community, compound and building like the registry does."""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Compound, Grid, Household, Resident
from tests.registry.places import in_scope_through_columns, in_scope_through_households, misplaced


def test_seeded_residents_carry_their_households_place(demo_db: Session) -> None:
    assert demo_db.scalar(select(Resident.id).limit(1)) is not None
    assert misplaced(demo_db) == []


def test_every_scope_sees_the_same_residents_through_the_stored_place(demo_db: Session) -> None:
    community_ids = frozenset(demo_db.scalars(select(Compound.community_id).distinct()))
    actors = [Principal(role=Role.STAFF, username="staff", community_ids=community_ids)]
    actors += [
        Principal(role=Role.PROPERTY, username=f"c{c}", compound_ids=frozenset({c}))
        for c in demo_db.scalars(select(Compound.id))
    ]
    actors += [
        Principal(role=Role.GRID, username=f"g{g}", grid_ids=frozenset({g}))
        for g in demo_db.scalars(select(Grid.id))
    ]
    actors += [
        Principal(role=Role.RESIDENT, username=f"h{h}", household_id=h)
        for h in demo_db.scalars(select(Household.id).order_by(Household.id).limit(5))
    ]
    for actor in actors:
        expected = in_scope_through_households(demo_db, actor, true())
        assert expected, actor.username
        assert in_scope_through_columns(demo_db, actor, true()) == expected, actor.username
