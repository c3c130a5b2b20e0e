"""Use cases of case statistics: for a period (Beijing dates or an ISO week) and within the actor's
reach, how long cases took to be accepted, reached and closed (median and 90th percentile), how many
are overdue or were escalated, and counts per grid, per worker and per category.

Video patrol lies above cases in the layers (a round's finding opens a case), so the patrol figures
are read from the patrol domain's service by the caller and handed in as `rounds`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.cases import policies, repository
from jiayuan.cases.models import Case
from jiayuan.cases.repository import StatRow
from jiayuan.cases.schemas import CaseStats, Category, CountRow, Durations, RoundCounts
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.kernel.clock import FIRST_YEAR, LAST_YEAR, LOCAL_TZ, local, require_year, utcnow
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.i18n import N_, Text
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory

# A period longer than this is refused: statistics are read week by week, month by month, at most a year.
MAX_DAYS = 366
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$")


@dataclass(frozen=True)
class Period:
    """Beijing dates from `first` to `last` (both included) as UTC moments [since, until)."""

    first: date
    last: date
    label: str

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), LOCAL_TZ)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), LOCAL_TZ)


def week_period(text: str) -> Period:
    """An ISO week such as 2026-W49 (Monday to Sunday); a week the year does not have is named."""
    found = _WEEK.match(text.strip().upper())
    if found is None:
        raise Invalid(
            "week “{text}”格式不对，应为如 2026-W49 的 ISO 周", field="week", text=text.strip()[:16]
        )
    year, week = int(found.group(1)), int(found.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            "week 的年份须在 {first} 年到 {last} 年之间", field="week", first=FIRST_YEAR, last=LAST_YEAR
        )
    weeks = date(year, 12, 28).isocalendar().week
    if not 1 <= week <= weeks:
        raise Invalid(
            "week “{text}”不存在：{year} 年只有第 1–{weeks} 周",
            field="week",
            text=text.strip(),
            year=year,
            weeks=weeks,
        )
    monday = date.fromisocalendar(year, week, 1)
    return Period(monday, monday + timedelta(days=6), f"{year} 年第 {week} 周")


def date_period(start: str, end: str, *, today: date | None = None) -> Period:
    """Dates typed as YYYY-MM-DD (either may be left out: the last 7 days up to `end` or today)."""
    today = today or local(utcnow()).date()
    last = _date(end, "end") or today
    first = _date(start, "start") or last - timedelta(days=6)
    if last < first:
        raise Invalid("end 不能早于 start", field="end")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid("start 与 end 相隔不能超过 {n} 天", field="end", n=MAX_DAYS)
    return Period(first, last, f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}")


def period(*, start: str = "", end: str = "", week: str = "") -> Period:
    """A week when one is given (start and end then must be empty), else a date range."""
    if week.strip():
        if start.strip() or end.strip():
            raise Invalid("week 与 start、end 只能给出一种", field="week")
        return week_period(week)
    return date_period(start, end)


def _date(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "{name} “{text}”不是有效日期，应为如 2026-12-01", field=field, name=field, text=text[:16]
        ) from None
    require_year(value.year, field=field)
    return value


def case_stats(
    session: Session,
    *,
    actor: Principal,
    within: Period,
    rounds: RoundCounts | None = None,
    now: datetime | None = None,
) -> CaseStats:
    """The statistics of the cases reported in the period within the actor's reach."""
    policies.require_stats_reader(actor)
    now = now or utcnow()
    where = repository.reach(actor) & (Case.reported_at >= within.since) & (Case.reported_at < within.until)
    rows = repository.stats_rows(session, where)
    actions = (CaseAction.ACCEPT.value, CaseAction.ARRIVE.value, CaseAction.CLOSE.value)
    firsts = repository.first_steps(session, where, actions)
    reported = {row.id: row.reported_at for row in rows}

    def took(action: CaseAction) -> Durations:
        spans = [
            (at - reported[i]).total_seconds() / 60 for (i, a), at in firsts.items() if a == action.value
        ]
        return _durations(spans)

    closed = CaseState.CLOSED.value

    def is_overdue(state: str, due: datetime | None) -> bool:
        return state != closed and due is not None and due <= now

    def counted(key_of: Callable[[StatRow], Any], label_of: Callable[[Any], str | Text]) -> list[CountRow]:
        groups: dict[Any, list[StatRow]] = {}
        for row in rows:
            groups.setdefault(key_of(row), []).append(row)
        found = [
            CountRow(
                key="" if key is None else str(key),
                label="",
                total=len(group),
                open=sum(1 for r in group if r.state != closed),
                closed=sum(1 for r in group if r.state == closed),
                overdue=sum(1 for r in group if is_overdue(r.state, r.due_at)),
            ).built(label=label_of(key))
            for key, group in groups.items()
        ]
        return sorted(found, key=lambda r: (-r.total, r.label))

    names = directory.place_names(session, grid_ids={r.grid_id for r in rows if r.grid_id is not None})
    people = users.display_names(
        session, sorted({r.assignee_user_id for r in rows if r.assignee_user_id is not None})
    )
    return CaseStats(
        since=within.since,
        until=within.until,
        period_label=within.label,
        total=len(rows),
        open=sum(1 for r in rows if r.state != closed),
        closed=sum(1 for r in rows if r.state == closed),
        overdue=sum(1 for r in rows if is_overdue(r.state, r.due_at)),
        escalated=sum(1 for r in rows if r.level > 0),
        to_accept=took(CaseAction.ACCEPT),
        to_arrive=took(CaseAction.ARRIVE),
        to_close=took(CaseAction.CLOSE),
        by_grid=counted(
            lambda r: r.grid_id,
            lambda k: names.get(("grid", k)) or Text(N_("网格 #{id}"), id=k) if k else N_("未划网格"),
        ),
        by_worker=counted(
            lambda r: r.assignee_user_id, lambda k: people.get(k, f"#{k}") if k else N_("未派遣")
        ),
        by_category=counted(lambda r: r.category, lambda k: Category(str(k)).label),
        patrol=rounds,
    )


def _durations(minutes: Iterable[float]) -> Durations:
    values = sorted(minutes)
    if not values:
        return Durations(count=0, median_minutes=None, p90_minutes=None)
    p90 = values[math.ceil(0.9 * len(values)) - 1]  # nearest rank
    return Durations(
        count=len(values), median_minutes=round(statistics.median(values), 1), p90_minutes=round(p90, 1)
    )
