"""Two offices rostering one person at once on PostgreSQL: the second waits for the first and then finds
the overlap, so a person never ends up on two shifts at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.uow import unit_of_work
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn
from jiayuan.duty.service import shifts
from jiayuan.kernel.errors import Invalid
from tests.duty.helpers import Crew, at, build_crew


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


def test_two_writers_never_give_one_person_overlapping_shifts(
    sessions: sessionmaker[Session], crew: Crew, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: two writers cannot check at once")
    staff = crew.principals["staff"]

    def post(grid_id: int) -> ShiftIn:
        return ShiftIn(
            community_id=crew.community_id,
            user_id=crew.ids["leader"],
            duty_role=DutyRole.GRID_LEADER,
            place_kind=PlaceKind.GRID,
            place_id=grid_id,
            starts_at=at(7, 8),
            ends_at=at(7, 20),
        )

    first_holds = threading.Event()
    release = threading.Event()
    outcome: list[str] = []

    def first() -> None:
        with unit_of_work(sessions) as session:
            shifts.add_shift(session, actor=staff, data=post(crew.grid_id))
            first_holds.set()
            release.wait(10)

    def second() -> None:
        first_holds.wait(10)
        try:
            with unit_of_work(sessions) as session:
                shifts.add_shift(session, actor=staff, data=post(crew.grid2_id))
            outcome.append("added")
        except Invalid as exc:
            outcome.append(exc.field or "")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_holds.wait(10)
    threads[1].join(0.5)
    assert threads[1].is_alive() and outcome == []  # waiting for the first writer's transaction
    release.set()
    for thread in threads:
        thread.join(10)
    assert outcome == ["starts_at"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DutyShift)) == 1
