"""Time limits per category and step, as city grid-management standards set them (a helper of the
service: the default table, and what is due when).

The step that is due is the action that leads out of the current state: 受理 from 上报, 派遣 from 受理,
到场 from 派遣, 处置 from 到场, 核查 from 处置 (结案 follows 核查 at once and has no limit of its own). An
alarm must be accepted within 2 minutes and reached within 10; an ordinary report accepted within a day
(counted in calendar days: working calendars come with the duty rosters). A community's admins may set
their own limits (stored in `case_deadlines`); what they have not set comes from this table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jiayuan.cases.schemas import Category
from jiayuan.cases.states import CaseAction, CaseState

DUE_STEP = {
    CaseState.REPORTED: CaseAction.ACCEPT,
    CaseState.ACCEPTED: CaseAction.DISPATCH,
    CaseState.DISPATCHED: CaseAction.ARRIVE,
    CaseState.ON_SITE: CaseAction.HANDLE,
    CaseState.HANDLED: CaseAction.VERIFY,
}
DUE_STEPS = tuple(DUE_STEP.values())

_DAY = 24 * 60
_ALARM = {CaseAction.ACCEPT: 2, CaseAction.DISPATCH: 5, CaseAction.ARRIVE: 10, CaseAction.HANDLE: 60,
          CaseAction.VERIFY: _DAY}  # fmt: skip
_DEVICE = {CaseAction.ACCEPT: 30, CaseAction.DISPATCH: 60, CaseAction.ARRIVE: 4 * 60, CaseAction.HANDLE: _DAY,
           CaseAction.VERIFY: 2 * _DAY}  # fmt: skip
_REPORT = {CaseAction.ACCEPT: _DAY, CaseAction.DISPATCH: _DAY, CaseAction.ARRIVE: 2 * _DAY,
           CaseAction.HANDLE: 3 * _DAY, CaseAction.VERIFY: _DAY}  # fmt: skip
_ALARMS = {Category.SOS, Category.ISOLATION, Category.TAILGATING, Category.WATCHLIST, Category.DOOR_FORCED,
           Category.LOITERING}  # fmt: skip
DEFAULT_MINUTES: dict[Category, dict[CaseAction, int]] = {
    category: dict(
        _ALARM if category in _ALARMS else _DEVICE if category is Category.DEVICE_OFFLINE else _REPORT
    )
    for category in Category
}
MAX_MINUTES = 30 * _DAY


def due_at(
    category: Category, state: CaseState, since: datetime, overrides: dict[tuple[str, str], int]
) -> datetime | None:
    """When the step out of `state` is due, counted from `since`; None where nothing is due."""
    step = DUE_STEP.get(state)
    if step is None:
        return None
    minutes = overrides.get((category.value, step.value), DEFAULT_MINUTES[category][step])
    return since + timedelta(minutes=minutes)
