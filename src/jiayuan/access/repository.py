"""Queries of the access domain: the batch lookups the gate rules run once per ingest batch, visitor
pass lists, revocations, alarms, flow buckets and the reads behind the reports."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, false, func, or_, select, true
from sqlalchemy.orm import Session

from jiayuan.access.models import (
    FLOW_COUNTERS,
    Alarm,
    FlowBucket,
    Isolation,
    PassCheck,
    PassRevocation,
    UnreadPlate,
    VehiclePassage,
    VehiclePresence,
    VisitorPass,
    WatchPlate,
    bucket_of,
)
from jiayuan.access.schemas import VisitorFilter
from jiayuan.access.states import AlarmState, ReviewState, visitor_state_clause
from jiayuan.db.bulk import in_list, is_postgresql
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.registry.policies import Scope
from jiayuan.registry.service import directory

# The rows the console lists page by page.
Listed = TypeVar("Listed", VisitorPass, UnreadPlate)


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


def visitor_scope_clause(scope: Scope) -> ColumnElement[bool]:
    """Visitor passes inside a registry scope, as a condition on the visitor table."""
    if scope.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.community_ids:
        parts.append(VisitorPass.community_id.in_(sorted(scope.community_ids)))
    if scope.compound_ids:
        parts.append(VisitorPass.compound_id.in_(sorted(scope.compound_ids)))
    if scope.grid_ids:
        parts.append(VisitorPass.household_id.in_(directory.households_in_grids(scope.grid_ids)))
    if scope.household_ids:
        parts.append(VisitorPass.household_id.in_(sorted(scope.household_ids)))
    return or_(*parts) if parts else false()


def visitors_where(scope: Scope, criteria: VisitorFilter, *, at: datetime) -> Select[VisitorPass]:
    """Visitor passes in scope matching the filter, newest first."""
    query = select(VisitorPass).where(visitor_scope_clause(scope)).order_by(VisitorPass.id.desc())
    if criteria.compound_id is not None:
        query = query.where(VisitorPass.compound_id == criteria.compound_id)
    if criteria.household_id is not None:
        query = query.where(VisitorPass.household_id == criteria.household_id)
    if criteria.status is not None:
        query = query.where(visitor_state_clause(criteria.status, at=at))
    if criteria.on is not None:
        # Passes whose window overlaps that day in the community's time zone.
        start = datetime.combine(criteria.on, time(), tzinfo=LOCAL_TZ)
        end = start + timedelta(days=1)
        query = query.where(VisitorPass.valid_from < end, VisitorPass.valid_until >= start)
    return query


def count(session: Session, query: Select[Listed]) -> int:
    """How many rows a query finds, whatever its order and paging."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def page_of(session: Session, query: Select[Listed], *, offset: int, size: int) -> list[Listed]:
    """One page of a query's rows."""
    return list(session.scalars(query.offset(offset).limit(size)))


def open_alarms(session: Session, *, type: str, device_ids: Iterable[str]) -> list[Alarm]:
    """Open or acknowledged alarms of a type on these devices."""
    ids = list(device_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Alarm).where(
                Alarm.type == type,
                Alarm.device_id.in_(ids),
                Alarm.state != AlarmState.CLEARED.value,
            )
        )
    )


def alarms_where(
    session: Session, where: ColumnElement[bool], *, state: str | None, type: str | None, limit: int
) -> list[Alarm]:
    """Alarms matching a scope condition and the optional filters, newest first."""
    query = select(Alarm).where(where).order_by(Alarm.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Alarm.state == state)
    if type is not None:
        query = query.where(Alarm.type == type)
    return list(session.scalars(query))


def alarm_in_bucket(session: Session, *, type: str, gate_id: int, bucket: datetime, span: timedelta) -> bool:
    """Whether an alarm of this type was raised at the gate within the bucket."""
    found = session.scalar(
        select(Alarm.id)
        .where(
            Alarm.type == type,
            Alarm.gate_id == gate_id,
            Alarm.raised_at >= bucket,
            Alarm.raised_at < bucket + span,
        )
        .limit(1)
    )
    return found is not None


def camera_and_scans_in(session: Session, *, gate_id: int, bucket: datetime) -> tuple[int, int] | None:
    """(people counted in by the camera, people admitted by scans) at a gate in one bucket."""
    row = session.execute(
        select(FlowBucket.camera_in, FlowBucket.people_in).where(
            FlowBucket.gate_id == gate_id, FlowBucket.bucket == bucket
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def active_isolation(session: Session, person_id: int, at: datetime) -> Isolation | None:
    """The isolation a person is under at `at` (only records with consent count)."""
    return session.scalar(
        select(Isolation)
        .where(
            Isolation.person_id == person_id,
            Isolation.starts_at <= at,
            Isolation.ends_at > at,
            Isolation.consent_recorded.is_(True),
        )
        .limit(1)
    )


def any_revoked(session: Session, refs: Sequence[str], *, community_id: int) -> bool:
    """Whether any of these refs (a pass nonce, `p:<person>`, `v:<visitor pass>`) is revoked at the gates
    of this community (by an entry of this community or of none), as its readers' list says offline."""
    query = select(PassRevocation.id).where(
        PassRevocation.ref.in_(refs),
        or_(PassRevocation.community_id.is_(None), PassRevocation.community_id == community_id),
    )
    return session.scalar(query.limit(1)) is not None


def revocation_by_ref(session: Session, ref: str) -> PassRevocation | None:
    """The revocation list's entry for a ref."""
    return session.scalar(select(PassRevocation).where(PassRevocation.ref == ref))


def revocation_entries(session: Session, communities: frozenset[int] | None) -> list[tuple[int, str]]:
    """`(id, ref)` of the revocation list in id order: all, or those of these communities and of none."""
    query = select(PassRevocation.id, PassRevocation.ref).order_by(PassRevocation.id)
    if communities is not None:
        query = query.where(
            or_(PassRevocation.community_id.is_(None), PassRevocation.community_id.in_(sorted(communities)))
        )
    return [(id, ref) for id, ref in session.execute(query).all()]


def watch_plate(session: Session, *, community_id: int, plate: str) -> WatchPlate | None:
    """A community's watch-list entry for a plate."""
    return session.scalar(
        select(WatchPlate).where(WatchPlate.community_id == community_id, WatchPlate.plate == plate)
    )


def outside_present(session: Session, compound_id: int) -> int:
    """Outside vehicles inside a compound now (entered, not left)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(VehiclePresence)
            .where(
                VehiclePresence.compound_id == compound_id,
                VehiclePresence.category == "outside",
                VehiclePresence.left_at.is_(None),
                VehiclePresence.entered_at.is_not(None),
            )
        )
        or 0
    )


def bucket_rows(session: Session, where: ColumnElement[bool], start: datetime) -> list[tuple[Any, ...]]:
    """`(gate_id, bucket, revision, *FLOW_COUNTERS)` of the buckets since `start`, oldest first."""
    counters = [getattr(FlowBucket, name) for name in FLOW_COUNTERS]
    rows = session.execute(
        select(FlowBucket.gate_id, FlowBucket.bucket, FlowBucket.revision, *counters)
        .where(where, FlowBucket.bucket >= bucket_of(start))
        .order_by(FlowBucket.bucket, FlowBucket.gate_id)
    ).all()
    return [tuple(row) for row in rows]


def alarm_types_between(session: Session, *, compound_id: int, start: datetime, end: datetime) -> list[str]:
    """The type of each alarm raised at a compound in `[start, end)`."""
    return list(
        session.scalars(
            select(Alarm.type).where(
                Alarm.compound_id == compound_id, Alarm.raised_at >= start, Alarm.raised_at < end
            )
        )
    )


def refusal_reasons_between(
    session: Session, *, compound_id: int, start: datetime, end: datetime
) -> list[str]:
    """The reason of each refused pass check at a compound in `[start, end)`."""
    return list(
        session.scalars(
            select(PassCheck.reason).where(
                PassCheck.compound_id == compound_id,
                PassCheck.at >= start,
                PassCheck.at < end,
                PassCheck.decision == "refused",
            )
        )
    )


def outside_since_before(
    session: Session, where: ColumnElement[bool], *, midnight: datetime
) -> Sequence[VehiclePresence]:
    """Outside vehicles that entered before `midnight` and are still inside, oldest entry first."""
    return session.scalars(
        select(VehiclePresence)
        .where(
            VehiclePresence.category == "outside",
            VehiclePresence.left_at.is_(None),
            VehiclePresence.entered_at < midnight,
            where,
        )
        .order_by(VehiclePresence.entered_at)
    ).all()


def latest_passages(session: Session, gate_ids: list[int], limit: int) -> Sequence[VehiclePassage]:
    """The newest plate reads at these gates."""
    return session.scalars(
        select(VehiclePassage)
        .where(VehiclePassage.gate_id.in_(gate_ids))
        .order_by(VehiclePassage.at.desc(), VehiclePassage.id.desc())
        .limit(limit)
    ).all()


def latest_checks(session: Session, gate_ids: list[int], limit: int) -> Sequence[PassCheck]:
    """The newest pass checks at these gates."""
    return session.scalars(
        select(PassCheck)
        .where(PassCheck.gate_id.in_(gate_ids))
        .order_by(PassCheck.at.desc(), PassCheck.id.desc())
        .limit(limit)
    ).all()


def uncleared_alarms_at(
    session: Session, gate_ids: list[int], compound_id: int | None, limit: int
) -> Sequence[Alarm]:
    """Alarms not yet cleared at these gates (and, given a compound, at no gate of it), newest first."""
    where: ColumnElement[bool] = Alarm.gate_id.in_(gate_ids)
    if compound_id is not None:
        where = or_(where, (Alarm.compound_id == compound_id) & Alarm.gate_id.is_(None))
    return session.scalars(
        select(Alarm)
        .where(Alarm.state != AlarmState.CLEARED.value, where)
        .order_by(Alarm.id.desc())
        .limit(limit)
    ).all()


def waiting_plates(scope: ColumnElement[bool]) -> Select[UnreadPlate]:
    """Unread plates still waiting for a person, inside a scope condition, oldest first (read in the
    order they passed, so presences open and close in order)."""
    waiting = UnreadPlate.state == ReviewState.WAITING.value
    return select(UnreadPlate).where(waiting, scope).order_by(UnreadPlate.at, UnreadPlate.id)


def unread_plate_for_update(session: Session, unread_id: int) -> UnreadPlate | None:
    """One unread plate, locked until the transaction ends (two people never read it both)."""
    return session.scalar(select(UnreadPlate).where(UnreadPlate.id == unread_id).with_for_update())
