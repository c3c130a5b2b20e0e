"""The demo's cases: every gate alarm and report category, closed ones and open ones, seen as the office
and the demo's grid worker and resident see them."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from jiayuan.accounts.service.users import active_principal
from jiayuan.cases.schemas import ALARM_CATEGORIES, Category, Source
from jiayuan.cases.service import reads
from jiayuan.cases.states import CaseState
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal

ALL = PageParams(page=1, size=100)


def test_the_demo_has_open_and_closed_cases_of_every_kind(demo_db: Session) -> None:
    found = reads.list_cases(demo_db, actor=Principal.system(), params=ALL).items
    assert {c.category for c in found} >= set(ALARM_CATEGORIES.values()) | {Category.REPAIR, Category.NOISE}
    assert Counter(c.source for c in found)[Source.GATE] == len(ALARM_CATEGORIES)
    states = Counter(c.state for c in found)
    assert (
        states[CaseState.CLOSED] >= 4 and sum(n for s, n in states.items() if s is not CaseState.CLOSED) >= 6
    )
    closed = reads.show_case(
        demo_db, actor=Principal.system(), case_id=next(c.id for c in found if c.state is CaseState.CLOSED)
    )
    assert [s.action.value for s in closed.steps][-2:] == ["verify", "close"]
    assert {s.actor_name for s in closed.steps} >= {"staff", "grid01", "gridlead"}


def test_the_demo_grid_worker_and_resident_see_their_own(demo_db: Session) -> None:
    grid = active_principal(demo_db, "grid01")
    resident = active_principal(demo_db, "jumin")
    assert grid is not None and resident is not None
    mine = reads.list_cases(demo_db, actor=grid, params=ALL)
    assert mine.total >= 10 and all(c.grid_id in grid.grid_ids for c in mine.items)
    reported = reads.list_cases(demo_db, actor=resident, params=ALL).items
    assert {c.title for c in reported} == {"1单元楼道灯不亮", "楼上深夜装修", "垃圾桶满溢"}
