"""Time: stored in aware UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """A stored UTC moment in the community's time zone."""
    return moment.astimezone(LOCAL_TZ)
