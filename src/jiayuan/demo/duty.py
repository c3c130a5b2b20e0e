"""The demo community's duty roster: weekly templates for the 8 grids, the 网格长, the cadres on duty,
the 书记 and the 锦江花园 gate, applied for the days around today so someone is always on duty."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from jiayuan.demo.layout import MAIN_COMMUNITY
from jiayuan.duty.schemas import ApplyIn, ApplyOut, DutyRole, PlaceKind, TemplateIn
from jiayuan.duty.service import templates
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory, structure

DAY = ("08:00", "20:00")
NIGHT = ("20:00", "08:00")
EVERY_DAY = tuple(range(1, 8))
WORKDAYS = tuple(range(1, 6))
# (username, role on duty, where: "community", "grid:<name>" or "gate:<code>", weekdays, (start, end)).
COMMUNITY_POSTS = (
    ("gridlead", DutyRole.GRID_LEADER, "community", EVERY_DAY, DAY),
    ("nightlead", DutyRole.GRID_LEADER, "community", EVERY_DAY, NIGHT),
    ("staff", DutyRole.CADRE, "community", EVERY_DAY, DAY),
    ("zhiban", DutyRole.CADRE, "community", EVERY_DAY, NIGHT),
    ("admin", DutyRole.SECRETARY, "community", WORKDAYS, DAY),
    ("wuye", DutyRole.GUARD, "gate:jjhy-gate1", EVERY_DAY, DAY),
    ("volunteer", DutyRole.VOLUNTEER, "gate:jjhy-gate1", WORKDAYS, ("07:00", "09:00")),
    ("volunteer", DutyRole.VOLUNTEER, "gate:jjhy-gate1", WORKDAYS, ("17:00", "19:00")),
)
# The roster is produced for this many days before and after today whenever the demo starts.
DAYS_BEFORE = 1
DAYS_AHEAD = 27


def seed_rosters(session: Session, *, actor: Principal, community_id: int, users: dict[str, int]) -> int:
    """The weekly templates: each grid's worker by day on their grid, the rest as COMMUNITY_POSTS say;
    how many templates."""
    grids = structure.list_grids(session, actor=Principal.system(), community_id=community_id)
    gates = {g.code: g.id for g in directory.list_gates(session, community_ids=[community_id])}
    posts: list[tuple[str, DutyRole, PlaceKind, int | None, tuple[int, ...], tuple[str, str]]] = []
    for grid in grids:
        worker = next((name for name, user_id in users.items() if user_id == grid.worker_user_id), None)
        if worker is not None:
            posts.append((worker, DutyRole.GRID_WORKER, PlaceKind.GRID, grid.id, EVERY_DAY, DAY))
    for username, role, where, weekdays, hours in COMMUNITY_POSTS:
        kind, _, ref = where.partition(":")
        place_id = gates[ref] if kind == "gate" else None
        posts.append((username, role, PlaceKind(kind), place_id, weekdays, hours))
    count = 0
    for username, role, kind, place_id, weekdays, (start, end) in posts:
        for weekday in weekdays:
            templates.add_template(
                session,
                actor=actor,
                data=TemplateIn(
                    community_id=community_id,
                    user_id=users[username],
                    duty_role=role,
                    place_kind=kind,
                    place_id=place_id,
                    weekday=weekday,
                    start=start,
                    end=end,
                ),
            )
            count += 1
    return count


def extend_rosters(session: Session, *, actor: Principal, today: date) -> ApplyOut | None:
    """Produce the demo community's shifts around today (applying twice adds nothing); None without
    the demo community."""
    community_id = next(
        (
            c.id
            for c in structure.list_communities(session, actor=Principal.system())
            if c.name == MAIN_COMMUNITY
        ),
        None,
    )
    if community_id is None:
        return None
    period = ApplyIn(
        community_id=community_id,
        start=today - timedelta(days=DAYS_BEFORE),
        end=today + timedelta(days=DAYS_AHEAD),
    )
    return templates.apply_templates(session, actor=actor, data=period)
