"""Use cases of shifts: add one, change or call it off, swap two, sign in and out, list a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.duty import policies, repository
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftChange, ShiftIn, ShiftOut, SwapIn
from jiayuan.duty.service.common import (
    MAX_SHIFT,
    as_utc,
    audit,
    check_free,
    check_person,
    check_post,
    home_of,
    period,
    places_of,
    span,
)
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.i18n import Label
from jiayuan.kernel.principal import Principal

# How early before its start a shift may be signed in.
SIGN_IN_EARLY = timedelta(minutes=30)


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("结束时间须晚于开始时间", field="ends_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise Invalid("一个班次不能超过 24 小时", field="ends_at")


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
            home_of(session, actor),
            community_id=shift.community_id,
            place_kind=PlaceKind(shift.place_kind),
            place_id=shift.place_id,
            user_id=shift.user_id,
        )
    )
    if not ok:
        raise NotFound(policies.NO_SHIFT, field="shift_id")
    return shift


def _audit_shift(
    session: Session, actor: Principal, action: str, shift: DutyShift, detail: dict[str, object]
) -> None:
    audit(
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


def add_shift(session: Session, *, actor: Principal, data: ShiftIn) -> ShiftOut:
    """A one-off shift (an extra person, a change for one day)."""
    policies.require_editor(actor, data.community_id)
    starts_at, ends_at = as_utc(data.starts_at), as_utc(data.ends_at)
    _check_times(starts_at, ends_at)
    check_post(session, data.community_id, data.duty_role, data.place_kind, data.place_id)
    check_person(session, data.community_id, data.user_id)
    check_free(session, data.user_id, starts_at, ends_at)
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
    starts_at = as_utc(data.starts_at) if data.starts_at is not None else shift.starts_at
    ends_at = as_utc(data.ends_at) if data.ends_at is not None else shift.ends_at
    _check_times(starts_at, ends_at)
    if user_id != shift.user_id:
        check_person(session, shift.community_id, user_id)
        shift.signed_in_at = shift.signed_out_at = None
    check_free(session, user_id, starts_at, ends_at, skip=[shift.id])
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
            "只能在同一值班角色之间调班（{first} 与 {second}）",
            field="second_shift_id",
            first=Label(DutyRole(first.duty_role).label),
            second=Label(DutyRole(second.duty_role).label),
        )
    both = [first.id, second.id]
    repository.lock_people(session, [first.user_id, second.user_id])
    check_free(session, second.user_id, first.starts_at, first.ends_at, skip=both)
    check_free(session, first.user_id, second.starts_at, second.ends_at, skip=both)
    first.user_id, second.user_id = second.user_id, first.user_id
    for shift in (first, second):
        shift.signed_in_at = shift.signed_out_at = None
    session.flush()
    audit(
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
        raise Conflict("已于 {at:%m月%d日 %H:%M} 签到", field="shift_id", at=local(shift.signed_in_at))
    if now < shift.starts_at - SIGN_IN_EARLY:
        raise Conflict(
            "班次 {at:%m月%d日 %H:%M} 开始，最早提前 30 分钟签到", field="shift_id", at=local(shift.starts_at)
        )
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
        raise Conflict("已于 {at:%m月%d日 %H:%M} 签退", field="shift_id", at=local(shift.signed_out_at))
    shift.signed_out_at = now
    session.flush()
    _audit_shift(session, actor, "shift.sign_out", shift, {"at": now.isoformat()})
    return _shift_outs(session, [shift])[0]


def list_shifts(
    session: Session, *, actor: Principal, community_id: int, start: date, end: date
) -> list[ShiftOut]:
    """The shifts of a community within reach from `start` to `end` (Beijing dates, inclusive)."""
    policies.require_reader(actor)
    home = home_of(session, actor)
    if not (policies.edits(actor, community_id) or community_id in home):
        raise NotFound(policies.NO_COMMUNITY, field="community_id")
    since, until = period(start, end)
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
    return f"{DutyRole(shift.duty_role).label} {span(shift.starts_at)}–{span(shift.ends_at)}"


def _shift_outs(session: Session, shifts: Sequence[DutyShift]) -> list[ShiftOut]:
    names = users.display_names(session, [s.user_id for s in shifts])
    places = places_of(session, {s.community_id for s in shifts})
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
            place_name="",
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            template_id=s.template_id,
            note=s.note,
            signed_in_at=s.signed_in_at,
            signed_out_at=s.signed_out_at,
        ).built(place_name=places.name(PlaceKind(s.place_kind), s.place_id))
        for s in shifts
    ]
