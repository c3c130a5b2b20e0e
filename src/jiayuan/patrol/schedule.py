"""Helper of the patrol service: the slots of a schedule between two moments (no database).

A plan patrols every N minutes from a start time to an end time, Beijing time; an end before the start
runs over midnight (20:00–06:00), equal ones mean all day. Slots are counted from the window's start
each day, so a schedule reads as the office wrote it (20:00, 22:00, 00:00 …).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from jiayuan.kernel.clock import LOCAL_TZ, local

DAY = timedelta(days=1)


def parse_clock(text: str) -> time:
    """`"20:00"` → 20:00; ValueError for anything else."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(text)
    return time(int(hours), int(minutes))


def slots_between(
    *, every: timedelta, start: str, end: str, since: datetime, until: datetime
) -> list[datetime]:
    """The slot moments in [since, until), oldest first, as aware datetimes in Beijing time."""
    begins, ends = parse_clock(start), parse_clock(end)
    length = (datetime.combine(date.min, ends) - datetime.combine(date.min, begins)) % DAY or DAY
    found: list[datetime] = []
    day = local(since).date() - timedelta(days=1)  # yesterday's window may run past midnight
    while True:
        opens = datetime.combine(day, begins, tzinfo=LOCAL_TZ)
        if opens >= until:
            return found
        moment = opens
        while moment < opens + length:
            if since <= moment < until:
                found.append(moment)
            moment += every
        day += timedelta(days=1)
