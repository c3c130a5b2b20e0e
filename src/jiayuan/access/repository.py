"""Queries the access rules run once per ingest batch instead of once per event."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access.models import VehiclePresence, VisitorPass, WatchPlate
from jiayuan.db.bulk import one_of


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
        select(
            VisitorPass.plate, VisitorPass.compound_id, VisitorPass.valid_from, VisitorPass.valid_until
        ).where(
            one_of(session, VisitorPass.plate, plates),
            one_of(session, VisitorPass.compound_id, compound_ids),
            VisitorPass.valid_from <= until,
            VisitorPass.valid_until >= since,
            VisitorPass.revoked_at.is_(None),
        )
    ).all()
    found: dict[str, list[VisitorWindow]] = {}
    for plate, compound_id, valid_from, valid_until in rows:
        if plate is not None:  # always: `IN` matches no NULL plate
            found.setdefault(plate, []).append(VisitorWindow(plate, compound_id, valid_from, valid_until))
    return found


def open_presences(
    session: Session, *, plates: Collection[str], compound_ids: Collection[int]
) -> dict[tuple[int, str], OpenPresence]:
    """The newest open presence per (compound, plate) among these plates."""
    if not plates or not compound_ids:
        return {}
    rows = session.execute(
        select(
            VehiclePresence.id, VehiclePresence.compound_id, VehiclePresence.plate, VehiclePresence.entered_at
        )
        .where(
            one_of(session, VehiclePresence.plate, plates),
            one_of(session, VehiclePresence.compound_id, compound_ids),
            VehiclePresence.left_at.is_(None),
        )
        .order_by(VehiclePresence.id)
    ).all()
    # Ordered by id, so the newest row of a (compound, plate) is the one left in the dict.
    return {(compound_id, plate): OpenPresence(id, entered_at) for id, compound_id, plate, entered_at in rows}


def watched_plates(
    session: Session, *, plates: Collection[str], community_ids: Collection[int]
) -> dict[tuple[int, str], WatchPlate]:
    """Watch-list entries among these plates, by (community, plate)."""
    if not plates or not community_ids:
        return {}
    rows = session.scalars(
        select(WatchPlate).where(
            one_of(session, WatchPlate.community_id, community_ids),
            one_of(session, WatchPlate.plate, plates),
        )
    ).all()
    return {(row.community_id, row.plate): row for row in rows}
