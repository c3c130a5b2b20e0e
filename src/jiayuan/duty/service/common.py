"""What the duty use cases share: places and their names, Beijing-time input, periods, the communities
someone works in, the checks every write makes, and the audit row with its event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.duty import policies, repository
from jiayuan.duty.events import RosterChanged
from jiayuan.duty.schemas import ROLE_PLACES, DutyRole, PlaceKind
from jiayuan.kernel.clock import LOCAL_TZ, aware, local
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.i18n import N_, Label, Labels, Text
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory, structure

# The longest period a roster is produced or checked for at once.
MAX_PERIOD_DAYS = 62
# The longest a single shift may run.
MAX_SHIFT = timedelta(hours=24)


@dataclass(frozen=True)
class Places:
    """A community's grids and gates by id, with their names."""

    grids: dict[int, str]
    gates: dict[int, str]

    def name(self, kind: PlaceKind, place_id: int | None) -> str | Text:
        """The place's name (data), or what the platform calls it (built: the community, a removed grid)."""
        if kind is PlaceKind.GRID and place_id is not None:
            return self.grids.get(place_id) or Text(N_("网格 #{id}"), id=place_id)
        if kind is PlaceKind.GATE and place_id is not None:
            return self.gates.get(place_id) or Text(N_("出入口 #{id}"), id=place_id)
        return Text(PlaceKind.COMMUNITY.label)


def places_of(session: Session, community_ids: Iterable[int]) -> Places:
    ids = sorted(set(community_ids))
    grids: dict[int, str] = {}
    for community_id in ids:
        for grid in structure.list_grids(session, actor=Principal.system(), community_id=community_id):
            grids[grid.id] = grid.name
    gates = {
        g.id: g.name if g.name.startswith(g.compound_name) else f"{g.compound_name} {g.name}"
        for g in directory.list_gates(session, community_ids=ids)
    }
    return Places(grids, gates)


def as_utc(moment: datetime) -> datetime:
    """A typed time without an offset is Beijing time."""
    return aware(moment).astimezone(UTC)


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Beijing time, as UTC; at most MAX_PERIOD_DAYS days."""
    if end < start:
        raise Invalid("结束日期不能早于开始日期", field="end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid("一次最多 {n} 天", field="end", n=MAX_PERIOD_DAYS)
    return _local_day_start(start), _local_day_start(end + timedelta(days=1))


def span(moment: datetime) -> str:
    return f"{local(moment):%m月%d日 %H:%M}"


def home_of(session: Session, actor: Principal) -> frozenset[int]:
    """The communities the actor works in: its own, and those of its grids and compounds."""
    found = set(actor.community_ids)
    for kind, ids in (("grid", actor.grid_ids), ("compound", actor.compound_ids)):
        for ref in ids:
            community = directory.community_of_scope(session, kind, str(ref))
            if community is not None:
                found.add(community)
    return frozenset(found)


def check_post(
    session: Session, community_id: int, role: DutyRole, kind: PlaceKind, place_id: int | None
) -> None:
    """The role may stand at that kind of place, and the place is one of the community's."""
    if kind not in ROLE_PLACES[role]:
        raise Invalid(
            "{role}只能在{places}值班",
            field="place_kind",
            role=Label(role.label),
            places=Labels(k.label for k in ROLE_PLACES[role]),
        )
    if kind is PlaceKind.COMMUNITY:
        if place_id is not None:
            raise Invalid("全社区值班不填地点编号", field="place_id")
        return
    if place_id is None:
        raise Invalid("请选择{kind}", field="place_id", kind=Label(kind.label))
    if kind is PlaceKind.GRID:
        found = directory.community_of_scope(session, "grid", str(place_id)) == community_id
    else:
        found = place_id in {g.id for g in directory.list_gates(session, community_ids=[community_id])}
    if not found:
        raise Invalid("{kind} #{id} 不存在", field="place_id", kind=Label(kind.label), id=place_id)


def check_person(session: Session, community_id: int, user_id: int) -> None:
    """An active account that works in the community; anyone else reads as one that does not exist."""
    person = users.active_principal_by_id(session, user_id)
    if (
        person is None
        or person.role not in policies.ON_DUTY_ROLES
        or community_id not in home_of(session, person)
    ):
        raise Invalid("人员 #{id} 不存在", field="user_id", id=user_id)


def check_free(
    session: Session, user_id: int, starts_at: datetime, ends_at: datetime, *, skip: Iterable[int] = ()
) -> None:
    """One person is never on two shifts at once."""
    repository.lock_people(session, [user_id])
    clash = repository.overlapping(session, user_id, starts_at, ends_at, skip=skip)
    if clash is not None:
        name = users.display_names(session, [user_id]).get(user_id, f"#{user_id}")
        raise Invalid(
            "{name} 在 {start:%m月%d日 %H:%M}–{end:%m月%d日 %H:%M} 已有值班（班次 #{id}），时间重叠",
            field="starts_at",
            name=name,
            start=local(clash.starts_at),
            end=local(clash.ends_at),
            id=clash.id,
        )


def audit(
    session: Session,
    actor: Principal,
    action: str,
    *,
    community_id: int,
    target_type: str,
    target_id: int,
    label: str,
    detail: dict[str, object],
    shift_ids: Sequence[int] = (),
) -> None:
    record_audit(
        session,
        actor=actor,
        action=f"duty.{action}",
        target_type=target_type,
        target_id=target_id,
        target_label=label,
        community_id=community_id,
        detail=detail,
    )
    publish_on_commit(
        session, RosterChanged(community_id=community_id, action=action, shift_ids=list(shift_ids))
    )
