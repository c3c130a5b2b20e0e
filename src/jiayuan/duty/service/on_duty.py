"""Who is on duty: now at every place, the grids nobody covers, and the dispatch and escalation chain
lookups the cases domain makes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.duty import policies, repository
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import (
    CHAIN,
    Dispatch,
    DutyNow,
    DutyRole,
    GapOut,
    OnDuty,
    PlaceKind,
    PlaceNow,
    StartingShift,
)
from jiayuan.duty.service.common import MAX_SHIFT, home_of, period, places_of, span
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory, structure


def coverage_gaps(
    session: Session, *, actor: Principal, community_id: int, start: date, end: date
) -> list[GapOut]:
    """Every stretch of the period (Beijing dates, inclusive) in which nobody is on duty at a grid: no
    shift at the grid itself and no community-wide 网格长."""
    policies.require_editor(actor, community_id)
    since, until = period(start, end)
    places = places_of(session, [community_id])
    by_grid: dict[int, list[DutyShift]] = {grid_id: [] for grid_id in places.grids}
    for shift in repository.shifts_between(session, [community_id], since, until):
        if shift.place_kind == PlaceKind.GRID.value and shift.place_id in by_grid:
            by_grid[shift.place_id].append(shift)
        elif shift.duty_role == DutyRole.GRID_LEADER.value and shift.place_kind == PlaceKind.COMMUNITY.value:
            for covered in by_grid.values():  # a community-wide 网格长 answers for every grid
                covered.append(shift)
    gaps = []
    for grid_id, shifts in by_grid.items():
        cursor = since
        for shift in sorted(shifts, key=lambda s: s.starts_at):
            if shift.starts_at > cursor:
                gaps.append((grid_id, cursor, shift.starts_at))
            cursor = max(cursor, shift.ends_at)
        if cursor < until:
            gaps.append((grid_id, cursor, until))
    return [
        GapOut(
            grid_id=grid_id,
            grid_name=places.grids[grid_id],
            starts_at=gap_start,
            ends_at=gap_end,
            message=f"{places.grids[grid_id]} {span(gap_start)} 至 {span(gap_end)} 无人值班",
        )
        for grid_id, gap_start, gap_end in gaps
    ]


def _on_duty(shift: DutyShift, names: dict[int, str]) -> OnDuty:
    return OnDuty(
        shift_id=shift.id,
        user_id=shift.user_id,
        user_name=names.get(shift.user_id, f"#{shift.user_id}"),
        duty_role=DutyRole(shift.duty_role),
        duty_role_label=DutyRole(shift.duty_role).label,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        signed_in=shift.signed_in_at is not None and shift.signed_out_at is None,
    )


def _first(shifts: Iterable[DutyShift]) -> DutyShift | None:
    """Of several people on one post, the one signed in first, else the earliest shift."""
    ranked = sorted(
        shifts,
        key=lambda s: (s.signed_in_at is None, s.signed_in_at or s.starts_at, s.starts_at, s.id),
    )
    return ranked[0] if ranked else None


def on_duty_now(
    session: Session, *, actor: Principal, community_id: int | None = None, at: datetime | None = None
) -> DutyNow:
    """Every grid, gate and the community within reach, with the people on duty there at `at` (now)."""
    policies.require_reader(actor)
    at = at or utcnow()
    home = home_of(session, actor)
    communities = home
    if actor.is_system and community_id is None:
        communities = frozenset(c.id for c in structure.list_communities(session, actor=actor))
    if community_id is not None:
        if not (policies.edits(actor, community_id) or community_id in home):
            raise NotFound(policies.NO_COMMUNITY, field="community_id")
        communities = frozenset({community_id})
    shifts = repository.shifts_at(session, communities, at)
    names = users.display_names(session, [s.user_id for s in shifts])
    places = places_of(session, communities)
    grid_community = {g: directory.community_of_scope(session, "grid", str(g)) for g in places.grids}
    gate_community = {g.id: g.community_id for g in directory.list_gates(session, community_ids=communities)}
    posts: list[tuple[int, PlaceKind, int | None]] = [
        (c, PlaceKind.COMMUNITY, None) for c in sorted(communities)
    ]
    posts += [(c, PlaceKind.GRID, g) for g, c in grid_community.items() if c is not None]
    posts += [(c, PlaceKind.GATE, g) for g, c in gate_community.items()]
    result = []
    for post_community, kind, place_id in posts:
        here = [
            s
            for s in shifts
            if s.community_id == post_community and s.place_kind == kind.value and s.place_id == place_id
        ]
        if not policies.sees_post(
            actor, home, community_id=post_community, place_kind=kind, place_id=place_id
        ):
            here = [s for s in here if s.user_id == actor.user_id]
            if not here:
                continue
        result.append(
            PlaceNow(
                community_id=post_community,
                place_kind=kind,
                place_id=place_id,
                place_name="",
                people=[_on_duty(s, names) for s in here],
            ).built(place_name=places.name(kind, place_id))
        )
    return DutyNow(at=at, places=result)


def _post_holder(shifts: Sequence[DutyShift], role: DutyRole, grid_id: int | None) -> DutyShift | None:
    """Who stands as `role` for a grid: at the grid itself, else (网格长, cadre, 书记) community-wide."""
    of_role = [s for s in shifts if s.duty_role == role.value]
    at_grid = [s for s in of_role if s.place_kind == PlaceKind.GRID.value and s.place_id == grid_id]
    if at_grid or role is DutyRole.GRID_WORKER:
        return _first(at_grid)
    return _first(s for s in of_role if s.place_kind == PlaceKind.COMMUNITY.value)


def dispatch_for(session: Session, *, community_id: int, grid_id: int | None, at: datetime) -> Dispatch:
    """Whom a new case goes to: the grid worker on duty at its grid (else the 网格长 on duty for it) and
    the cadre on duty in its community (for the cases domain; the case's own scope was checked there)."""
    shifts = repository.shifts_at(session, [community_id], at)
    names = users.display_names(session, [s.user_id for s in shifts])
    worker = None
    if grid_id is not None:
        worker = _post_holder(shifts, DutyRole.GRID_WORKER, grid_id) or _post_holder(
            shifts, DutyRole.GRID_LEADER, grid_id
        )
    cadre = _post_holder(shifts, DutyRole.CADRE, grid_id)
    return Dispatch(
        worker=None if worker is None else _on_duty(worker, names),
        cadre=None if cadre is None else _on_duty(cadre, names),
    )


def chain_holder(
    session: Session, *, community_id: int, grid_id: int | None, step: int, at: datetime
) -> OnDuty | None:
    """The person on duty at `at` at position `step` of the chain grid worker → 网格长 → 值班干部 →
    社区书记, or the next one up when that post is empty; None when nobody from there up is on duty."""
    shifts = repository.shifts_at(session, [community_id], at)
    names = users.display_names(session, [s.user_id for s in shifts])
    for role in CHAIN[min(step, len(CHAIN) - 1) :]:
        if role is DutyRole.GRID_WORKER and grid_id is None:
            continue
        holder = _post_holder(shifts, role, grid_id)
        if holder is not None:
            return _on_duty(holder, names)
    return None


# A shift is reminded of within this time of its start; one found later (the platform was down) is
# reminded of too, as long as it has not ended.
REMIND_LIMIT = 200


def claim_starting(session: Session, *, actor: Principal, now: datetime) -> list[StartingShift]:
    """The shifts that have begun and not been reminded of (nor cancelled nor ended), marked reminded
    in this transaction: the caller tells each person what is open for them."""
    policies.require_system(actor)
    shifts = [
        s
        for s in repository.claim_starting(session, since=now - MAX_SHIFT, until=now, limit=REMIND_LIMIT)
        if s.ends_at > now
    ]
    places = places_of(session, {s.community_id for s in shifts})
    for shift in shifts:
        shift.reminded_at = now
    return [
        StartingShift(
            shift_id=s.id,
            community_id=s.community_id,
            user_id=s.user_id,
            duty_role=DutyRole(s.duty_role),
            place_kind=PlaceKind(s.place_kind),
            place_id=s.place_id,
            place_name=str(places.name(PlaceKind(s.place_kind), s.place_id)),
            starts_at=s.starts_at,
            ends_at=s.ends_at,
        )
        for s in shifts
    ]
