"""The platform keeps every roster produced ahead from its templates: a community whose templates clash
keeps its roster as it was and does not hold up the others; nothing new, nothing written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.db.uow import unit_of_work
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn, TemplateIn
from jiayuan.duty.service import shifts, templates
from jiayuan.ingest import handlers
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal
from tests.duty.helpers import Crew, at, build_crew

SYSTEM = Principal.system()


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


def weekly(community_id: int, user_id: int, grid_id: int) -> TemplateIn:
    return TemplateIn(
        community_id=community_id,
        user_id=user_id,
        duty_role=DutyRole.GRID_WORKER,
        place_kind=PlaceKind.GRID,
        place_id=grid_id,
        weekday=2,
        start="08:00",
        end="20:00",
    )


def count(sessions: sessionmaker[Session], community_id: int) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(DutyShift).where(DutyShift.community_id == community_id)
            )
            or 0
        )


def test_every_roster_is_kept_ahead_and_a_clash_stays_with_its_community(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    far = crew.tree.other_community.id
    with unit_of_work(sessions) as session:
        templates.add_template(
            session, actor=SYSTEM, data=weekly(crew.community_id, crew.ids["worker"], crew.grid_id)
        )
        templates.add_template(
            session, actor=SYSTEM, data=weekly(far, crew.ids["far_worker"], crew.far_grid_id)
        )
        clash = ShiftIn(
            community_id=far,
            user_id=crew.ids["far_worker"],
            duty_role=DutyRole.GRID_WORKER,
            place_kind=PlaceKind.GRID,
            place_id=crew.far_grid_id,
            starts_at=at(15, 7),
            ends_at=at(15, 9),
        )
        shifts.add_shift(session, actor=SYSTEM, data=clash)
    with unit_of_work(sessions) as session:
        done = templates.extend_rosters(session, actor=SYSTEM, today=date(2026, 12, 7), days=13)
    by_community = {u.community_id: u for u in done}
    assert by_community[crew.community_id].created == 2 and by_community[crew.community_id].refused is None
    assert by_community[far].created == 0 and "时间重叠" in (by_community[far].refused or "")
    assert (count(sessions, crew.community_id), count(sessions, far)) == (2, 1)
    # Again: nothing new, and no audit row for nothing.
    with sessions() as session:
        audits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "duty.template.apply")
        )
    with unit_of_work(sessions) as session:
        again = templates.extend_rosters(session, actor=SYSTEM, today=date(2026, 12, 7), days=13)
    assert [u.created for u in again if u.community_id == crew.community_id] == [0]
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "duty.template.apply")
            )
            == audits
            == 1
        )
    with sessions() as session, pytest.raises(Forbidden):
        templates.extend_rosters(session, actor=crew.principals["admin"], today=date(2026, 12, 7))


def test_the_ingest_keeps_the_rosters(sessions: sessionmaker[Session], crew: Crew) -> None:
    with unit_of_work(sessions) as session:
        templates.add_template(
            session, actor=SYSTEM, data=weekly(crew.community_id, crew.ids["worker"], crew.grid_id)
        )
    with unit_of_work(sessions) as session:
        handlers.hourly(session, now=at(7, 9))
    # Tuesdays from Monday the 7th to four weeks ahead (27 days): the 8th, 15th, 22nd and 29th.
    assert count(sessions, crew.community_id) == 4
