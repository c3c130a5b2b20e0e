"""The demo community's roster: someone answers for every grid at every hour of the coming week, and
`jiayuan duty now` shows who is on duty right now."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jiayuan.demo.duty import extend_rosters
from jiayuan.duty.schemas import DutyRole, PlaceKind
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.principal import Principal


def test_every_grid_is_covered_and_the_community_has_its_posts_now(demo_db: Session) -> None:
    system = Principal.system()
    now = on_duty.on_duty_now(demo_db, actor=system)
    community = next(
        p for p in now.places if p.place_kind is PlaceKind.COMMUNITY and p.place_name == "全社区"
    )
    roles = {p.duty_role for p in community.people}
    assert {DutyRole.GRID_LEADER, DutyRole.CADRE} <= roles
    grids = [
        p for p in now.places if p.place_kind is PlaceKind.GRID and p.community_id == community.community_id
    ]
    assert len(grids) == 8
    today = local(utcnow()).date()
    gaps = on_duty.coverage_gaps(
        demo_db, actor=system, community_id=community.community_id, start=today, end=today + timedelta(days=6)
    )
    assert gaps == []
    # Starting the demo again adds nothing for days already rostered.
    again = extend_rosters(demo_db, actor=system, today=today)
    assert again is not None and again.created == 0 and again.already > 0
