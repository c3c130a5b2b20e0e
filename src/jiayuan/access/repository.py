"""Queries the access rules run once per ingest batch instead of once per event."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from jiayuan.access.models import VehiclePresence, VisitorPass, WatchPlate
from jiayuan.db.bulk import in_list, is_postgresql


@dataclass(frozen=True)
class VisitorWindow:
    """A visitor pass with a plate: where and when that plate counts as a registered visitor."""

    plate: str
    compound_id: int
    valid_from: datetime
    valid_until: datetime

    def covers(self, compound_id: int, at: datetime) -> bool:
        """Whether the plate is expected at this compound at `at`."""
        return self.compound_id == compound_id and self.valid_from <= at <= self.valid_until


@dataclass(frozen=True)
class OpenPresence:
    """A vehicle that entered a compound and has not left."""

    id: int
    entered_at: datetime | None


@functools.cache
def _visitor_windows_query(postgres: bool) -> Select[str | None, int, datetime, datetime]:
    window = (VisitorPass.plate, VisitorPass.compound_id, VisitorPass.valid_from, VisitorPass.valid_until)
    return select(*window).where(
        in_list(VisitorPass.plate, "plates", postgres=postgres),
        in_list(VisitorPass.compound_id, "compounds", postgres=postgres),
        VisitorPass.valid_from <= bindparam("until"),
        VisitorPass.valid_until >= bindparam("since"),
        VisitorPass.revoked_at.is_(None),
    )


def visitor_windows(
    session: Session,
    *,
    plates: Collection[str],
    compound_ids: Collection[int],
    since: datetime,
    until: datetime,
) -> dict[str, list[VisitorWindow]]:
    """Unrevoked visitor passes for these plates whose windows overlap `since`…`until`, by plate."""
    if not plates or not compound_ids:
        return {}
    rows = session.execute(
        _visitor_windows_query(is_postgresql(session)),
        {"plates": sorted(plates), "compounds": sorted(compound_ids), "since": since, "until": until},
    ).all()
    found: dict[str, list[VisitorWindow]] = {}
    for plate, compound_id, valid_from, valid_until in rows:
        if plate is not None:  # always: `IN` matches no NULL plate
            found.setdefault(plate, []).append(VisitorWindow(plate, compound_id, valid_from, valid_until))
    return found


@functools.cache
def _open_presences_query(postgres: bool) -> Select[int, int, str, datetime | None]:
    return (
        select(
            VehiclePresence.id, VehiclePresence.compound_id, VehiclePresence.plate, VehiclePresence.entered_at
        )
        .where(
            in_list(VehiclePresence.plate, "plates", postgres=postgres),
            in_list(VehiclePresence.compound_id, "compounds", postgres=postgres),
            VehiclePresence.left_at.is_(None),
        )
        .order_by(VehiclePresence.id)
    )


def open_presences(
    session: Session, *, plates: Collection[str], compound_ids: Collection[int]
) -> dict[tuple[int, str], OpenPresence]:
    """The newest open presence per (compound, plate) among these plates."""
    if not plates or not compound_ids:
        return {}
    rows = session.execute(
        _open_presences_query(is_postgresql(session)),
        {"plates": sorted(plates), "compounds": sorted(compound_ids)},
    ).all()
    # Ordered by id, so the newest row of a (compound, plate) is the one left in the dict.
    return {(compound_id, plate): OpenPresence(id, entered_at) for id, compound_id, plate, entered_at in rows}


@functools.cache
def _watched_query(postgres: bool) -> Select[WatchPlate]:
    return select(WatchPlate).where(
        in_list(WatchPlate.community_id, "communities", postgres=postgres),
        in_list(WatchPlate.plate, "plates", postgres=postgres),
    )


def watched_plates(
    session: Session, *, plates: Collection[str], community_ids: Collection[int]
) -> dict[tuple[int, str], WatchPlate]:
    """Watch-list entries among these plates, by (community, plate)."""
    if not plates or not community_ids:
        return {}
    rows = session.scalars(
        _watched_query(is_postgresql(session)),
        {"communities": sorted(community_ids), "plates": sorted(plates)},
    ).all()
    return {(row.community_id, row.plate): row for row in rows}
