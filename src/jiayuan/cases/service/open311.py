"""Use cases of the Open311 GeoReport v2 feed: our categories as services, cases as service requests
(list with the spec's filters, one by id, create), within the caller's reach like every other read.

The spec's fields are mapped onto ours: `status` is open until 结案 and closed after, `status_notes`
says the step we are at, `expected_datetime` is when the next step is due. Who reported a case never
appears (the spec's email, name and phone fields of a create are not stored). Filters come in as the
strings a client sent; a bad one is refused in Chinese naming the field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import isfinite

from sqlalchemy.orm import Session

from jiayuan.cases import policies, repository
from jiayuan.cases.models import Case
from jiayuan.cases.schemas import (
    ALARM_CATEGORIES,
    CaseIn,
    Category,
    Open311Created,
    Open311Filter,
    Open311Request,
    Open311RequestIn,
    Open311Service,
)
from jiayuan.cases.service import reporting
from jiayuan.cases.states import CaseState
from jiayuan.kernel.clock import aware, local, require_year, utcnow
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.numbers import row_id
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import directory

# The spec's limits on a list: at most 90 days, 1000 requests; without dates, the last 90 days.
MAX_DAYS = 90
MAX_REQUESTS = 1000
_ALARMS = frozenset(ALARM_CATEGORIES.values())
_STATUSES = ("open", "closed")


def services() -> list[Open311Service]:
    """Every category as a service; gate and camera alarms are grouped apart from residents' reports."""
    return [
        Open311Service(
            service_code=c.value,
            service_name=c.label,
            description=f"{'门岗与摄像机告警' if c in _ALARMS else '居民与网格诉求'}：{c.label}",
            keywords=c.label,
            group="告警" if c in _ALARMS else "诉求",
        )
        for c in Category
    ]


def list_requests(
    session: Session, *, actor: Principal, query: Open311Filter, now: datetime | None = None
) -> list[Open311Request]:
    """The requests within reach matching the spec's filters, newest first."""
    policies.require_reader(actor)
    now = now or utcnow()
    where = repository.reach(actor)
    ids = _ids(query.service_request_id)
    if ids:
        where = where & Case.id.in_(ids)
    else:
        start = _moment(query.start_date, "start_date")
        end = _moment(query.end_date, "end_date")
        if start is None and end is None:
            start = now - timedelta(days=MAX_DAYS)
        elif start is None:
            assert end is not None
            start = end - timedelta(days=MAX_DAYS)
        elif end is None:
            end = start + timedelta(days=MAX_DAYS)
        if end is not None and end < start:
            raise Invalid("end_date 不能早于 start_date", field="end_date")
        if end is not None and end - start > timedelta(days=MAX_DAYS):
            raise Invalid("start_date 与 end_date 相隔不能超过 {n} 天", field="end_date", n=MAX_DAYS)
        where = where & (Case.reported_at >= start)
        if end is not None:
            where = where & (Case.reported_at <= end)
    codes = _codes(query.service_code)
    if codes:
        where = where & Case.category.in_(codes)
    statuses = _statuses(query.status)
    if statuses == {"open"}:
        where = where & (Case.state != CaseState.CLOSED.value)
    elif statuses == {"closed"}:
        where = where & (Case.state == CaseState.CLOSED.value)
    rows = list(session.scalars(repository.cases_where(where).limit(MAX_REQUESTS)))
    return _out(session, rows)


def get_request(session: Session, *, actor: Principal, request_id: int) -> Open311Request:
    """One request within reach (another's reads as missing, like every case read)."""
    case = policies.require_visible(actor, repository.case_by_id(session, request_id))
    return _out(session, [case])[0]


def create_request(session: Session, *, actor: Principal, data: Open311RequestIn) -> Open311Created:
    """Open a case (上报) from a GeoReport v2 create: the service code is the category, the location a
    household (`address_id`) or the caller's community (`jurisdiction_id` when it has several), the
    coordinates and picture kept as the case's evidence."""
    policies.require_reporter(actor)
    category = _category(data.service_code)
    description = data.description.strip()
    if len(description) < 2:
        raise Invalid("description 须写明情况（至少 2 个字）", field="description")
    if len(description) > 1000:
        raise Invalid("description 不能超过 1000 个字", field="description")
    lat, long = _coordinates(data.lat, data.long)
    household = _row_id(data.address_id, "address_id")
    community = _row_id(data.jurisdiction_id, "jurisdiction_id")
    if community is not None and not policies.reaches_community(actor, community):
        raise Invalid("jurisdiction_id {id} 不是该 api_key 所属社区", field="jurisdiction_id", id=community)
    if household is None and community is None and actor.role is not Role.RESIDENT:
        if len(actor.community_ids) != 1:
            raise Invalid(
                "请用 jurisdiction_id 指明社区，或用 address_id 指明所在户", field="jurisdiction_id"
            )
        community = min(actor.community_ids)
    address = data.address_string.strip()
    if len(address) > 128:
        raise Invalid("address_string 不能超过 128 个字", field="address_string")
    if lat is None and not address and household is None:
        raise Invalid("请给出位置：lat 和 long、address_string 或 address_id", field="address_string")
    media = data.media_url.strip()
    if media and (len(media) > 500 or not media.startswith(("https://", "http://"))):
        raise Invalid("media_url 须为 http(s) 网址，且不超过 500 个字符", field="media_url")
    title = f"{category.label}：{description}"[:64]
    made = reporting.report_case(
        session,
        actor=actor,
        data=CaseIn(
            category=category,
            title=title,
            description=description,
            household_id=household,
            community_id=None if household is not None else community,
            place=address,
        ),
    )
    case = repository.case_by_id(session, made.id)
    assert case is not None
    extra: dict[str, float | str | None] = {"lat": lat, "long": long} if lat is not None else {}
    if media:
        extra["media_url"] = media
    if extra:
        case.evidence = {**case.evidence, **extra}
    notice = f"已受理上报，事件编号 {made.id}；状态变化可按编号查询"
    return Open311Created(service_request_id=str(made.id), service_notice=notice)


def _category(code: str) -> Category:
    try:
        return Category(code.strip())
    except ValueError:
        raise Invalid(
            "service_code “{code}”不存在；可用：{known}",
            field="service_code",
            code=code.strip()[:24],
            known="、".join(c.value for c in Category),
        ) from None


def _codes(text: str) -> list[str]:
    return [_category(part).value for part in text.split(",") if part.strip()]


def _statuses(text: str) -> set[str]:
    found = {part.strip() for part in text.split(",") if part.strip()}
    wrong = found - set(_STATUSES)
    if wrong:
        raise Invalid("status 只能是 open 或 closed，收到“{got}”", field="status", got=sorted(wrong)[0][:16])
    return found


def _ids(text: str) -> list[int]:
    return [i for part in text.split(",") if (i := _row_id(part, "service_request_id")) is not None]


def _row_id(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    found = row_id(text)
    if found is None:
        raise Invalid("{name} 须为正整数编号", field=field, name=field)
    return found


def _moment(text: str, field: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            "{name} 不是有效的日期时间；应为 ISO 8601，如 2026-12-01T08:00:00+08:00", field=field, name=field
        ) from None
    require_year(moment.year, field=field)
    return aware(moment)


def _coordinates(lat_text: str, long_text: str) -> tuple[float | None, float | None]:
    if not lat_text.strip() and not long_text.strip():
        return None, None
    values = []
    for text, field, bound in ((lat_text, "lat", 90), (long_text, "long", 180)):
        try:
            value = float(text.strip())
        except ValueError:
            raise Invalid(
                "{name} 须为数字（WGS84 经纬度），且 lat 与 long 须同时给出", field=field, name=field
            ) from None
        if not isfinite(value) or abs(value) > bound:
            raise Invalid("{name} 须在 -{bound} 到 {bound} 之间", field=field, name=field, bound=bound)
        values.append(value)
    return values[0], values[1]


def _iso(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")


def _out(session: Session, cases: list[Case]) -> list[Open311Request]:
    names = directory.place_names(session, community_ids={c.community_id for c in cases})
    found = []
    for case in cases:
        category, state = Category(case.category), CaseState(case.state)
        last = case.steps[-1] if case.steps else None
        # A resident's own words on a step (a reopen) could name them: only the office's notes go out.
        said = last.note if last is not None and last.actor_role != Role.RESIDENT.value else ""
        lat, long = case.evidence.get("lat"), case.evidence.get("long")
        found.append(
            Open311Request(
                service_request_id=str(case.id),
                status="closed" if state is CaseState.CLOSED else "open",
                status_notes=state.label + (f"：{said}" if said else ""),
                service_name=category.label,
                service_code=category.value,
                description=case.description or case.title,
                agency_responsible=names.get(("community", case.community_id), "社区居委会") + "居委会",
                requested_datetime=_iso(case.reported_at),
                updated_datetime=_iso(last.at if last is not None else case.reported_at),
                expected_datetime=_iso(case.due_at) if case.due_at is not None else None,
                address=case.place_label,
                lat=lat if isinstance(lat, float | int) else None,
                long=long if isinstance(long, float | int) else None,
                media_url=case.evidence.get("media_url")
                if isinstance(case.evidence.get("media_url"), str)
                else None,
            )
        )
    return found
