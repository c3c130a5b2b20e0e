"""Use cases of weekly templates and holidays, and producing the shifts of a period from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.duty import policies, repository
from jiayuan.duty.models import DutyHoliday, DutyShift, DutyTemplate
from jiayuan.duty.schemas import (
    ApplyIn,
    ApplyOut,
    DutyRole,
    HolidayIn,
    HolidayOut,
    PlaceKind,
    TemplateIn,
    TemplateOut,
    UpkeepOut,
)
from jiayuan.duty.service.common import audit, check_person, check_post, period, places_of
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.principal import Principal


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# How far ahead the platform keeps every roster produced (`extend_rosters`).
DAYS_AHEAD = 27


def add_template(session: Session, *, actor: Principal, data: TemplateIn) -> TemplateOut:
    """A weekly template; its shifts appear when the templates are applied to a period."""
    policies.require_editor(actor, data.community_id)
    start, end = _minute(data.start), _minute(data.end)
    if start == end:
        raise Invalid("结束时间不能等于开始时间（跨夜班的结束时间早于开始时间）", field="end")
    check_post(session, data.community_id, data.duty_role, data.place_kind, data.place_id)
    check_person(session, data.community_id, data.user_id)
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
    audit(
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
    audit(
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
    names = users.display_names(session, [t.user_id for t in templates])
    places = places_of(session, {t.community_id for t in templates})
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
            place_name="",
            weekday=t.weekday,
            start=_hhmm(t.start_minute),
            end=_hhmm(t.end_minute),
            overnight=t.end_minute <= t.start_minute,
        ).built(place_name=places.name(PlaceKind(t.place_kind), t.place_id))
        for t in templates
    ]


def add_holiday(session: Session, *, actor: Principal, data: HolidayIn) -> HolidayOut:
    """A date on which the templates are not applied (shifts already produced for it stay)."""
    policies.require_editor(actor, data.community_id)
    if repository.holiday_on(session, data.community_id, data.day) is not None:
        raise Conflict("{day} 已是节假日", field="day", day=data.day)
    holiday = DutyHoliday(community_id=data.community_id, day=data.day, name=data.name)
    session.add(holiday)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("{day} 已是节假日", field="day", day=data.day) from None
    audit(
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
    audit(
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
    period(data.start, data.end)
    return _produce(session, actor, data, audit_empty=True)


def extend_rosters(
    session: Session, *, actor: Principal, today: date, days: int = DAYS_AHEAD
) -> list[UpkeepOut]:
    """The platform's own upkeep: every community's template shifts from today to `days` ahead, so the
    roster never runs out. A community whose templates cannot be applied keeps its roster as it was,
    with the reason in its answer."""
    policies.require_system(actor)
    outcome = []
    for community_id in repository.template_communities(session):
        data = ApplyIn(community_id=community_id, start=today, end=today + timedelta(days=days))
        try:
            with session.begin_nested():
                done = _produce(session, actor, data, audit_empty=False)
        except Invalid as exc:
            outcome.append(UpkeepOut(community_id=community_id, created=0, refused=exc.message))
        else:
            outcome.append(UpkeepOut(community_id=community_id, created=done.created, refused=None))
    return outcome


def _produce(session: Session, actor: Principal, data: ApplyIn, *, audit_empty: bool) -> ApplyOut:
    templates = repository.templates_of(session, data.community_id)
    for template in templates:
        try:
            check_person(session, template.community_id, template.user_id)
        except Invalid as exc:
            # An account deactivated or moved since the template was made stops the roster, by name.
            raise Invalid(
                "模板 #{id}：{reason}，请先删除或改派", field="template_id", id=template.id, reason=exc
            ) from None
    repository.lock_people(session, [t.user_id for t in templates])
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
                name = users.display_names(session, [template.user_id]).get(template.user_id, "")
                raise Invalid(
                    "模板 #{id}（{name}）在 {day} 与班次 #{shift}"
                    "（{start:%m月%d日 %H:%M}–{end:%m月%d日 %H:%M}）时间重叠，未生成任何班次",
                    field="template_id",
                    id=template.id,
                    name=name,
                    day=day,
                    shift=clash.id,
                    start=local(clash.starts_at),
                    end=local(clash.ends_at),
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
    if not (created or audit_empty):
        return ApplyOut(created=0, already=already, holidays=skipped)
    audit(
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
