"""Time: stored in aware UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime

from jiayuan.kernel.errors import Invalid

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A moment as given, read as Beijing time when it carries no offset (as staff type times)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


def local(moment: datetime) -> datetime:
    """A stored UTC moment in the community's time zone."""
    return moment.astimezone(LOCAL_TZ)


# Every date a person or device types in lies in these years: outside them the local-time arithmetic
# (a day's start in Beijing, a window's end) runs off the calendar, and no record means such a date.
FIRST_YEAR = 1900
LAST_YEAR = 2999
_OUT_OF_RANGE = f"日期须在 {FIRST_YEAR} 年到 {LAST_YEAR} 年之间"


def require_year(year: int, *, field: str) -> None:
    """Refuse a date typed outside these years (a query parsed by hand), naming the field."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            "{name} 须在 {first} 年到 {last} 年之间",
            field=field,
            name=field,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )


def _day_in_range(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return value


def _moment_in_range(value: datetime) -> datetime:
    # Judged in UTC too (2999-12-31T23:00-05:00 is the next year there), once the year as given is
    # known to be far enough from the calendar's ends for the conversion not to overflow.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    if value.tzinfo is not None and not FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return value


InputDate = Annotated[date, AfterValidator(_day_in_range)]
"""A date given as input (a form, a query, a body): years 1900–2999, else a 422 naming the field."""
InputDatetime = Annotated[datetime, AfterValidator(_moment_in_range)]
"""A moment given as input, with or without an offset: years 1900–2999."""
InputAwareDatetime = Annotated[AwareDatetime, AfterValidator(_moment_in_range)]
"""A moment given as input that must carry its offset: years 1900–2999."""
