"""Use cases of the duty domain: shifts, weekly templates, holidays, swaps, sign-in, who is on duty.

Times a person types without an offset are Beijing time; shifts are stored in UTC and run from their
start (inclusive) to their end (exclusive). Every change is an audit row in the caller's transaction and
a `duty.changed` event after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.duty import policies, repository
from jiayuan.duty.events import RosterChanged
from jiayuan.duty.models import DutyHoliday, DutyShift, DutyTemplate
from jiayuan.duty.schemas import (
    CHAIN,
    ROLE_PLACES,
    ApplyIn,
    ApplyOut,
    Dispatch,
    DutyNow,
    DutyRole,
    GapOut,
    HolidayIn,
    HolidayOut,
    OnDuty,
    PersonOut,
    PlaceKind,
    PlaceNow,
    ShiftChange,
    ShiftIn,
    ShiftOut,
    SwapIn,
    TemplateIn,
    TemplateOut,
)
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.principal import ROLE_LABELS, Principal
from jiayuan.registry.service import directory, structure

# The longest a single shift may run, and the longest period a roster is produced or checked for.
MAX_SHIFT = timedelta(hours=24)
MAX_PERIOD_DAYS = 62
# How early before its start a shift may be signed in.
SIGN_IN_EARLY = timedelta(minutes=30)


@dataclass(frozen=True)
class _Places:
    """A community's grids and gates by id, with their names."""

    grids: dict[int, str]
    gates: dict[int, str]

    def name(self, kind: PlaceKind, place_id: int | None) -> str:
        if kind is PlaceKind.GRID and place_id is not None:
            return self.grids.get(place_id, f"网格 #{place_id}")
        if kind is PlaceKind.GATE and place_id is not None:
            return self.gates.get(place_id, f"出入口 #{place_id}")
        return PlaceKind.COMMUNITY.label


def _places(session: Session, community_ids: Iterable[int]) -> _Places:
    ids = sorted(set(community_ids))
    grids: dict[int, str] = {}
    for community_id in ids:
        for grid in structure.list_grids(session, actor=Principal.system(), community_id=community_id):
            grids[grid.id] = grid.name
    gates = {
        g.id: g.name if g.name.startswith(g.compound_name) else f"{g.compound_name} {g.name}"
        for g in directory.list_gates(session, community_ids=ids)
    }
    return _Places(grids, gates)


def _as_utc(moment: datetime) -> datetime:
    """A typed time without an offset is Beijing time."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Beijing time, as UTC; at most MAX_PERIOD_DAYS days."""
    if end < start:
        raise Invalid("结束日期不能早于开始日期", field="end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid(f"一次最多 {MAX_PERIOD_DAYS} 天", field="end")
    return _local_day_start(start), _local_day_start(end + timedelta(days=1))


def _span(moment: datetime) -> str:
    return f"{local(moment):%m月%d日 %H:%M}"


def _home(session: Session, actor: Principal) -> frozenset[int]:
    """The communities the actor works in: its own, and those of its grids and compounds."""
    found = set(actor.community_ids)
    for kind, ids in (("grid", actor.grid_ids), ("compound", actor.compound_ids)):
        for ref in ids:
            community = directory.community_of_scope(session, kind, str(ref))
            if community is not None:
                found.add(community)
    return frozenset(found)


def home_communities(session: Session, *, actor: Principal) -> list[int]:
    """The communities whose rosters the actor works with, for choosing one on a page."""
    policies.require_reader(actor)
    if actor.is_system:
        return [c.id for c in structure.list_communities(session, actor=actor)]
    return sorted(_home(session, actor))


def candidates(session: Session, *, actor: Principal, community_id: int) -> list[PersonOut]:
    """The people who may stand duty in a community (its office's choice when rostering), by username."""
    policies.require_editor(actor, community_id)
    grids = structure.list_grids(session, actor=Principal.system(), community_id=community_id)
    compounds = structure.list_compounds(session, actor=Principal.system(), community_id=community_id)
    scopes = [(ScopeKind.COMMUNITY, community_id)]
    scopes += [(ScopeKind.GRID, g.id) for g in grids] + [(ScopeKind.COMPOUND, c.id) for c in compounds]
    return [
        PersonOut(user_id=user_id, name=name, role=role.value, role_label=ROLE_LABELS[role])
        for user_id, name, role in accounts.active_users_in_scopes(session, scopes, policies.ON_DUTY_ROLES)
    ]


# ---------------------------------------------------------------- checks shared by every write


def _check_post(
    session: Session, community_id: int, role: DutyRole, kind: PlaceKind, place_id: int | None
) -> None:
    """The role may stand at that kind of place, and the place is one of the community's."""
    if kind not in ROLE_PLACES[role]:
        allowed = "、".join(k.label for k in ROLE_PLACES[role])
        raise Invalid(f"{role.label}只能在{allowed}值班", field="place_kind")
    if kind is PlaceKind.COMMUNITY:
        if place_id is not None:
            raise Invalid("全社区值班不填地点编号", field="place_id")
        return
    if place_id is None:
        raise Invalid(f"请选择{kind.label}", field="place_id")
    if kind is PlaceKind.GRID:
        found = directory.community_of_scope(session, "grid", str(place_id)) == community_id
    else:
        found = place_id in {g.id for g in directory.list_gates(session, community_ids=[community_id])}
    if not found:
        raise Invalid(f"{kind.label} #{place_id} 不存在", field="place_id")


def _check_person(session: Session, community_id: int, user_id: int) -> None:
    """An active account that works in the community; anyone else reads as one that does not exist."""
    person = accounts.active_principal_by_id(session, user_id)
    if (
        person is None
        or person.role not in policies.ON_DUTY_ROLES
        or community_id not in _home(session, person)
    ):
        raise Invalid(f"人员 #{user_id} 不存在", field="user_id")


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("结束时间须晚于开始时间", field="ends_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise Invalid("一个班次不能超过 24 小时", field="ends_at")


def _check_free(
    session: Session, user_id: int, starts_at: datetime, ends_at: datetime, *, skip: Iterable[int] = ()
) -> None:
    """One person is never on two shifts at once."""
    clash = repository.overlapping(session, user_id, starts_at, ends_at, skip=skip)
    if clash is not None:
        name = accounts.display_names(session, [user_id]).get(user_id, f"#{user_id}")
        raise Invalid(
            f"{name} 在 {_span(clash.starts_at)}–{_span(clash.ends_at)} 已有值班"
            f"（班次 #{clash.id}），时间重叠",
            field="starts_at",
        )


def _visible_shift(session: Session, actor: Principal, shift_id: int, *, edit: bool) -> DutyShift:
    policies.require_reader(actor)
    shift = repository.shift_by_id(session, shift_id)
    if shift is None or shift.cancelled_at is not None:
        raise NotFound(policies.NO_SHIFT, field="shift_id")
    ok = (
        policies.edits(actor, shift.community_id)
        if edit
        else policies.sees_post(
            actor,
            _home(session, actor),
            community_id=shift.community_id,
            place_kind=PlaceKind(shift.place_kind),
            place_id=shift.place_id,
            user_id=shift.user_id,
        )
    )
    if not ok:
        raise NotFound(policies.NO_SHIFT, field="shift_id")
    return shift


def _audit(
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


def _audit_shift(
    session: Session, actor: Principal, action: str, shift: DutyShift, detail: dict[str, object]
) -> None:
    _audit(
        session,
        actor,
        action,
        community_id=shift.community_id,
        target_type="duty_shift",
        target_id=shift.id,
        label=_label(shift),
        detail=detail,
        shift_ids=[shift.id],
    )


def _shift_detail(shift: DutyShift) -> dict[str, object]:
    return {
        "user_id": shift.user_id,
        "duty_role": shift.duty_role,
        "place": [shift.place_kind, shift.place_id],
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }


# ---------------------------------------------------------------- shifts


def add_shift(session: Session, *, actor: Principal, data: ShiftIn) -> ShiftOut:
    """A one-off shift (an extra person, a change for one day)."""
    policies.require_editor(actor, data.community_id)
    starts_at, ends_at = _as_utc(data.starts_at), _as_utc(data.ends_at)
    _check_times(starts_at, ends_at)
    _check_post(session, data.community_id, data.duty_role, data.place_kind, data.place_id)
    _check_person(session, data.community_id, data.user_id)
    _check_free(session, data.user_id, starts_at, ends_at)
    shift = DutyShift(
        community_id=data.community_id,
        user_id=data.user_id,
        duty_role=data.duty_role.value,
        place_kind=data.place_kind.value,
        place_id=data.place_id,
        starts_at=starts_at,
        ends_at=ends_at,
        note=data.note,
    )
    session.add(shift)
    session.flush()
    _audit_shift(session, actor, "shift.add", shift, _shift_detail(shift))
    return _shift_outs(session, [shift])[0]


def change_shift(session: Session, *, actor: Principal, shift_id: int, data: ShiftChange) -> ShiftOut:
    """A one-off change of one shift: another person or other times; a new person signs in afresh."""
    shift = _visible_shift(session, actor, shift_id, edit=True)
    before = _shift_detail(shift)
    user_id = data.user_id or shift.user_id
    starts_at = _as_utc(data.starts_at) if data.starts_at is not None else shift.starts_at
    ends_at = _as_utc(data.ends_at) if data.ends_at is not None else shift.ends_at
    _check_times(starts_at, ends_at)
    if user_id != shift.user_id:
        _check_person(session, shift.community_id, user_id)
        shift.signed_in_at = shift.signed_out_at = None
    _check_free(session, user_id, starts_at, ends_at, skip=[shift.id])
    shift.user_id, shift.starts_at, shift.ends_at = user_id, starts_at, ends_at
    if data.note is not None:
        shift.note = data.note
    session.flush()
    _audit_shift(
        session,
        actor,
        "shift.change",
        shift,
        {"before": before, "after": _shift_detail(shift)},
    )
    return _shift_outs(session, [shift])[0]


def cancel_shift(session: Session, *, actor: Principal, shift_id: int, now: datetime | None = None) -> None:
    """Call a shift off. The row stays, marked, so applying its template again does not bring it back."""
    shift = _visible_shift(session, actor, shift_id, edit=True)
    shift.cancelled_at = now or utcnow()
    session.flush()
    _audit_shift(session, actor, "shift.cancel", shift, _shift_detail(shift))


def swap_shifts(session: Session, *, actor: Principal, data: SwapIn) -> list[ShiftOut]:
    """Two people of one community trade shifts; each must be free at the other's time."""
    if data.first_shift_id == data.second_shift_id:
        raise Invalid("请选择两个不同的班次", field="second_shift_id")
    first = _visible_shift(session, actor, data.first_shift_id, edit=True)
    second = _visible_shift(session, actor, data.second_shift_id, edit=True)
    if second.community_id != first.community_id:
        raise NotFound(policies.NO_SHIFT, field="second_shift_id")
    if first.user_id == second.user_id:
        raise Invalid("两个班次是同一人，无需调换", field="second_shift_id")
    if first.duty_role != second.duty_role:
        raise Invalid(
            f"只能在同一值班角色之间调班（{DutyRole(first.duty_role).label}"
            f" 与 {DutyRole(second.duty_role).label}）",
            field="second_shift_id",
        )
    both = [first.id, second.id]
    _check_free(session, second.user_id, first.starts_at, first.ends_at, skip=both)
    _check_free(session, first.user_id, second.starts_at, second.ends_at, skip=both)
    first.user_id, second.user_id = second.user_id, first.user_id
    for shift in (first, second):
        shift.signed_in_at = shift.signed_out_at = None
    session.flush()
    _audit(
        session,
        actor,
        "shift.swap",
        community_id=first.community_id,
        target_type="duty_shift",
        target_id=first.id,
        label=f"{_label(first)} ⇄ {_label(second)}",
        detail={"shifts": both, "users": [first.user_id, second.user_id]},
        shift_ids=both,
    )
    return _shift_outs(session, [first, second])


def sign_in(session: Session, *, actor: Principal, shift_id: int, now: datetime | None = None) -> ShiftOut:
    """签到: from half an hour before the shift starts until it ends."""
    now = now or utcnow()
    shift = _visible_shift(session, actor, shift_id, edit=False)
    if not policies.signs(actor, shift.community_id, shift.user_id):
        raise NotFound(policies.NO_SHIFT, field="shift_id")
    if shift.signed_in_at is not None:
        raise Conflict(f"已于 {_span(shift.signed_in_at)} 签到", field="shift_id")
    if now < shift.starts_at - SIGN_IN_EARLY:
        raise Conflict(f"班次 {_span(shift.starts_at)} 开始，最早提前 30 分钟签到", field="shift_id")
    if now >= shift.ends_at:
        raise Conflict("班次已结束，不能签到", field="shift_id")
    shift.signed_in_at = now
    session.flush()
    _audit_shift(session, actor, "shift.sign_in", shift, {"at": now.isoformat()})
    return _shift_outs(session, [shift])[0]


def sign_out(session: Session, *, actor: Principal, shift_id: int, now: datetime | None = None) -> ShiftOut:
    """签退 of a signed-in shift."""
    now = now or utcnow()
    shift = _visible_shift(session, actor, shift_id, edit=False)
    if not policies.signs(actor, shift.community_id, shift.user_id):
        raise NotFound(policies.NO_SHIFT, field="shift_id")
    if shift.signed_in_at is None:
        raise Conflict("尚未签到，不能签退", field="shift_id")
    if shift.signed_out_at is not None:
        raise Conflict(f"已于 {_span(shift.signed_out_at)} 签退", field="shift_id")
    shift.signed_out_at = now
    session.flush()
    _audit_shift(session, actor, "shift.sign_out", shift, {"at": now.isoformat()})
    return _shift_outs(session, [shift])[0]


def list_shifts(
    session: Session, *, actor: Principal, community_id: int, start: date, end: date
) -> list[ShiftOut]:
    """The shifts of a community within reach from `start` to `end` (Beijing dates, inclusive)."""
    policies.require_reader(actor)
    home = _home(session, actor)
    if not (policies.edits(actor, community_id) or community_id in home):
        raise NotFound(policies.NO_COMMUNITY, field="community_id")
    since, until = _period(start, end)
    shifts = [
        s
        for s in repository.shifts_between(session, [community_id], since, until)
        if policies.sees_post(
            actor,
            home,
            community_id=s.community_id,
            place_kind=PlaceKind(s.place_kind),
            place_id=s.place_id,
            user_id=s.user_id,
        )
    ]
    return _shift_outs(session, shifts)


def _label(shift: DutyShift) -> str:
    return f"{DutyRole(shift.duty_role).label} {_span(shift.starts_at)}–{_span(shift.ends_at)}"


def _shift_outs(session: Session, shifts: Sequence[DutyShift]) -> list[ShiftOut]:
    names = accounts.display_names(session, [s.user_id for s in shifts])
    places = _places(session, {s.community_id for s in shifts})
    return [
        ShiftOut(
            id=s.id,
            community_id=s.community_id,
            user_id=s.user_id,
            user_name=names.get(s.user_id, f"#{s.user_id}"),
            duty_role=DutyRole(s.duty_role),
            duty_role_label=DutyRole(s.duty_role).label,
            place_kind=PlaceKind(s.place_kind),
            place_id=s.place_id,
            place_name=places.name(PlaceKind(s.place_kind), s.place_id),
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            template_id=s.template_id,
            note=s.note,
            signed_in_at=s.signed_in_at,
            signed_out_at=s.signed_out_at,
        )
        for s in shifts
    ]


# ---------------------------------------------------------------- weekly templates and holidays


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def add_template(session: Session, *, actor: Principal, data: TemplateIn) -> TemplateOut:
    """A weekly template; its shifts appear when the templates are applied to a period."""
    policies.require_editor(actor, data.community_id)
    start, end = _minute(data.start), _minute(data.end)
    if start == end:
        raise Invalid("结束时间不能等于开始时间（跨夜班的结束时间早于开始时间）", field="end")
    _check_post(session, data.community_id, data.duty_role, data.place_kind, data.place_id)
    _check_person(session, data.community_id, data.user_id)
    template = DutyTemplate(
        community_id=data.community_id,
        user_id=data.user_id,
        duty_role=data.duty_role.value,
        place_kind=data.place_kind.value,
        place_id=data.place_id,
        weekday=data.weekday,
        start_minute=start,
        end_minute=end,
    )
    session.add(template)
    session.flush()
    out = _template_outs(session, [template])[0]
    _audit(
        session,
        actor,
        "template.add",
        community_id=template.community_id,
        target_type="duty_template",
        target_id=template.id,
        label=f"{out.duty_role_label} 周{out.weekday} {out.start}–{out.end}",
        detail=out.model_dump(mode="json"),
    )
    return out


def remove_template(
    session: Session, *, actor: Principal, template_id: int, now: datetime | None = None
) -> int:
    """Remove a template and the shifts it produced that have not started; how many shifts went."""
    policies.require_reader(actor)
    template = repository.template_by_id(session, template_id)
    if template is None or not policies.edits(actor, template.community_id):
        raise NotFound(policies.NO_TEMPLATE, field="template_id")
    removed = repository.delete_future_template_shifts(session, template.id, now or utcnow())
    _audit(
        session,
        actor,
        "template.remove",
        community_id=template.community_id,
        target_type="duty_template",
        target_id=template.id,
        label=f"模板 #{template.id}",
        detail={"future_shifts_removed": removed},
    )
    session.delete(template)
    session.flush()
    return removed


def list_templates(session: Session, *, actor: Principal, community_id: int) -> list[TemplateOut]:
    """A community's weekly templates (its office)."""
    policies.require_editor(actor, community_id)
    return _template_outs(session, repository.templates_of(session, community_id))


def _template_outs(session: Session, templates: Sequence[DutyTemplate]) -> list[TemplateOut]:
    names = accounts.display_names(session, [t.user_id for t in templates])
    places = _places(session, {t.community_id for t in templates})
    return [
        TemplateOut(
            id=t.id,
            community_id=t.community_id,
            user_id=t.user_id,
            user_name=names.get(t.user_id, f"#{t.user_id}"),
            duty_role=DutyRole(t.duty_role),
            duty_role_label=DutyRole(t.duty_role).label,
            place_kind=PlaceKind(t.place_kind),
            place_id=t.place_id,
            place_name=places.name(PlaceKind(t.place_kind), t.place_id),
            weekday=t.weekday,
            start=_hhmm(t.start_minute),
            end=_hhmm(t.end_minute),
            overnight=t.end_minute <= t.start_minute,
        )
        for t in templates
    ]


def add_holiday(session: Session, *, actor: Principal, data: HolidayIn) -> HolidayOut:
    """A date on which the templates are not applied (shifts already produced for it stay)."""
    policies.require_editor(actor, data.community_id)
    if repository.holiday_on(session, data.community_id, data.day) is not None:
        raise Conflict(f"{data.day} 已是节假日", field="day")
    holiday = DutyHoliday(community_id=data.community_id, day=data.day, name=data.name)
    session.add(holiday)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"{data.day} 已是节假日", field="day") from None
    _audit(
        session,
        actor,
        "holiday.add",
        community_id=data.community_id,
        target_type="duty_holiday",
        target_id=holiday.id,
        label=f"{data.day} {data.name}",
        detail={"day": data.day.isoformat()},
    )
    return HolidayOut(id=holiday.id, community_id=holiday.community_id, day=holiday.day, name=holiday.name)


def remove_holiday(session: Session, *, actor: Principal, holiday_id: int) -> None:
    """The templates apply on that date again (shifts are produced the next time they are applied)."""
    policies.require_reader(actor)
    holiday = repository.holiday_by_id(session, holiday_id)
    if holiday is None or not policies.edits(actor, holiday.community_id):
        raise NotFound(policies.NO_HOLIDAY, field="holiday_id")
    _audit(
        session,
        actor,
        "holiday.remove",
        community_id=holiday.community_id,
        target_type="duty_holiday",
        target_id=holiday.id,
        label=f"{holiday.day} {holiday.name}",
        detail={"day": holiday.day.isoformat()},
    )
    session.delete(holiday)
    session.flush()


def list_holidays(session: Session, *, actor: Principal, community_id: int) -> list[HolidayOut]:
    """A community's holidays."""
    policies.require_editor(actor, community_id)
    return [
        HolidayOut(id=h.id, community_id=h.community_id, day=h.day, name=h.name)
        for h in repository.holidays_of(session, community_id)
    ]


def apply_templates(session: Session, *, actor: Principal, data: ApplyIn) -> ApplyOut:
    """Produce the templates' shifts for each date of the period that is not a holiday. A shift already
    produced is left as it is (applying twice adds nothing); a shift that would overlap another of the
    same person refuses the whole period, naming the template and date."""
    policies.require_editor(actor, data.community_id)
    _period(data.start, data.end)
    templates = repository.templates_of(session, data.community_id)
    for template in templates:
        try:
            _check_person(session, template.community_id, template.user_id)
        except Invalid as exc:
            # An account deactivated or moved since the template was made stops the roster, by name.
            raise Invalid(
                f"模板 #{template.id}：{exc.message}，请先删除或改派", field="template_id"
            ) from None
    holidays = {h.day for h in repository.holidays_of(session, data.community_id)}
    done = repository.template_starts(session, [t.id for t in templates])
    created: list[DutyShift] = []
    already = 0
    skipped: list[date] = []
    day = data.start
    while day <= data.end:
        if day in holidays:
            skipped.append(day)
            day += timedelta(days=1)
            continue
        for template in (t for t in templates if t.weekday == day.isoweekday()):
            starts_at = datetime.combine(day, time(*divmod(template.start_minute, 60)), LOCAL_TZ).astimezone(
                UTC
            )
            end_day = day if template.end_minute > template.start_minute else day + timedelta(days=1)
            ends_at = datetime.combine(end_day, time(*divmod(template.end_minute, 60)), LOCAL_TZ).astimezone(
                UTC
            )
            if (template.id, starts_at) in done:
                already += 1
                continue
            clash = repository.overlapping(session, template.user_id, starts_at, ends_at)
            if clash is not None:
                name = accounts.display_names(session, [template.user_id]).get(template.user_id, "")
                raise Invalid(
                    f"模板 #{template.id}（{name}）在 {day} 与班次 #{clash.id}"
                    f"（{_span(clash.starts_at)}–{_span(clash.ends_at)}）时间重叠，未生成任何班次",
                    field="template_id",
                )
            shift = DutyShift(
                community_id=template.community_id,
                user_id=template.user_id,
                duty_role=template.duty_role,
                place_kind=template.place_kind,
                place_id=template.place_id,
                starts_at=starts_at,
                ends_at=ends_at,
                template_id=template.id,
                note="",
            )
            session.add(shift)
            session.flush()
            created.append(shift)
        day += timedelta(days=1)
    _audit(
        session,
        actor,
        "template.apply",
        community_id=data.community_id,
        target_type="duty_roster",
        target_id=data.community_id,
        label=f"{data.start}–{data.end}",
        detail={"created": len(created), "already": already, "holidays": [d.isoformat() for d in skipped]},
        shift_ids=[s.id for s in created],
    )
    return ApplyOut(created=len(created), already=already, holidays=skipped)


# ---------------------------------------------------------------- coverage and who is on duty


def coverage_gaps(
    session: Session, *, actor: Principal, community_id: int, start: date, end: date
) -> list[GapOut]:
    """Every stretch of the period (Beijing dates, inclusive) in which nobody is on duty at a grid: no
    shift at the grid itself and no community-wide 网格长."""
    policies.require_editor(actor, community_id)
    since, until = _period(start, end)
    places = _places(session, [community_id])
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
            message=f"{places.grids[grid_id]} {_span(gap_start)} 至 {_span(gap_end)} 无人值班",
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
    home = _home(session, actor)
    communities = home
    if actor.is_system and community_id is None:
        communities = frozenset(c.id for c in structure.list_communities(session, actor=actor))
    if community_id is not None:
        if not (policies.edits(actor, community_id) or community_id in home):
            raise NotFound(policies.NO_COMMUNITY, field="community_id")
        communities = frozenset({community_id})
    shifts = repository.shifts_at(session, communities, at)
    names = accounts.display_names(session, [s.user_id for s in shifts])
    places = _places(session, communities)
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
                place_name=places.name(kind, place_id),
                people=[_on_duty(s, names) for s in here],
            )
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
    names = accounts.display_names(session, [s.user_id for s in shifts])
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
    names = accounts.display_names(session, [s.user_id for s in shifts])
    for role in CHAIN[min(step, len(CHAIN) - 1) :]:
        if role is DutyRole.GRID_WORKER and grid_id is None:
            continue
        holder = _post_holder(shifts, role, grid_id)
        if holder is not None:
            return _on_duty(holder, names)
    return None
