"""JSON API of gate access: gates, flow, passes, visitors (invite, list, cancel), isolation, alarms, unread
plates (待辨认车牌)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from jiayuan.access.pass_tokens import Signer, signer_for
from jiayuan.access.schemas import (
    AlarmOut,
    CheckOut,
    DailySummary,
    FlowOut,
    FlowToday,
    GateOut,
    IsolationIn,
    IsolationOut,
    IssuedPass,
    PlateDismissal,
    PlateReading,
    PresenceOut,
    PublicKeyOut,
    RevocationsOut,
    RevokeIn,
    UnreadPlateOut,
    VerifyRequest,
    VisitorCancel,
    VisitorFilter,
    VisitorInvite,
    VisitorOut,
    WatchPlateIn,
    WatchPlateOut,
)
from jiayuan.access.service import alarms as alarms_service
from jiayuan.access.service import gate_checks, passes, plate_reviews, reports, vehicles
from jiayuan.access.service import visitors as visitors_service
from jiayuan.access.states import VisitorState
from jiayuan.cases.service import intake
from jiayuan.kernel.clock import InputDate, InputDatetime
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.ids import MAX_ROW_ID, RowIdInt
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageParams
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import ContextDep, RowId, SessionDep

router = APIRouter(prefix="/api/v1", tags=["access"])


def _signer(context: ContextDep) -> Signer:
    return signer_for(context.settings.pass_signing_key.get_secret_value(), context.settings.pass_key_id)


@router.get("/gates", response_model=list[GateOut])
def gates(principal: CurrentPrincipal, session: SessionDep) -> list[GateOut]:
    """Gates with their compound and devices."""
    return reports.list_gates(session, actor=principal)


@router.get("/gates/{gate_id}/flow", response_model=FlowOut)
def gate_flow(
    gate_id: RowIdInt, principal: CurrentPrincipal, session: SessionDep, since: InputDatetime | None = None
) -> FlowOut:
    """People and vehicles through a gate in 5-minute buckets since `since` (default 24 h, at most 7 days)."""
    return reports.gate_flow(session, actor=principal, gate_id=gate_id, since=since)


@router.get("/compounds/{compound_id}/flow", response_model=FlowOut)
def compound_flow(
    compound_id: RowIdInt,
    principal: CurrentPrincipal,
    session: SessionDep,
    since: InputDatetime | None = None,
) -> FlowOut:
    """A compound's flow (its gates summed) and the outside vehicles inside now."""
    return reports.compound_flow(session, actor=principal, compound_id=compound_id, since=since)


@router.get("/flow/today", response_model=FlowToday)
def flow_today(
    principal: CurrentPrincipal,
    session: SessionDep,
    compound_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    gate_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> FlowToday:
    """Today so far at a gate or compound (default: the first in scope): flow, vehicles, passages, alarms."""
    return reports.flow_today(session, actor=principal, compound_id=compound_id, gate_id=gate_id)


@router.get("/compounds/{compound_id}/daily", response_model=DailySummary)
def daily(
    compound_id: RowIdInt,
    principal: CurrentPrincipal,
    session: SessionDep,
    day: Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> DailySummary:
    """A compound's day (Asia/Shanghai): totals, peak, alarms, refusals by reason."""
    return reports.daily_summary(session, actor=principal, compound_id=compound_id, day=day)


@router.get("/passes/keys", response_model=list[PublicKeyOut])
def keys(_principal: CurrentPrincipal, context: ContextDep) -> list[PublicKeyOut]:
    """Public keys for verifying passes offline (what the `keys` command carries)."""
    return [PublicKeyOut(kid=k, ed25519=v) for k, v in _signer(context).public_keys().items()]


@router.get("/passes/revocations", response_model=RevocationsOut)
def revocations(principal: CurrentPrincipal, session: SessionDep) -> RevocationsOut:
    """The revocation list of the caller's communities with its version."""
    version, refs = passes.revocation_list(session, actor=principal)
    return RevocationsOut(version=version, revoked=refs)


@router.post("/passes/revocations", response_model=RevocationsOut, status_code=201)
def revoke(body: RevokeIn, principal: CurrentPrincipal, session: SessionDep) -> RevocationsOut:
    """Revoke a person's passes (`p:ID`), a visitor pass (`v:ID`) or one pass (its nonce)."""
    passes.revoke(session, actor=principal, data=body)
    version, refs = passes.revocation_list(session, actor=principal)
    return RevocationsOut(version=version, revoked=refs)


class ResidentPassRequest(BaseModel):
    """Which resident; a resident may leave it out for themself."""

    model_config = ConfigDict(extra="forbid")

    person_id: RowIdInt | None = None


@router.post("/passes/resident", response_model=IssuedPass)
def resident_pass(
    body: ResidentPassRequest, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> IssuedPass:
    """A fresh resident e-pass (the phone asks again every 30–60 s)."""
    person_id = body.person_id or principal.person_id
    if person_id is None:
        raise Invalid("请指定居民编号", field="person_id")
    return passes.issue_resident_pass(
        session,
        actor=principal,
        signer=_signer(context),
        person_id=person_id,
        validity_s=context.settings.pass_validity_s,
    )


@router.post("/passes/verify", response_model=CheckOut)
def verify(
    body: VerifyRequest, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> CheckOut:
    """Check a scanned token at a gate and record the decision."""
    return gate_checks.verify_at_gate(
        session,
        actor=principal,
        token=body.token,
        gate_ref=body.gate,
        direction=body.direction,
        public_keys=_signer(context).public_keys(),
    )


@router.post("/visitors", response_model=VisitorOut, status_code=201)
def invite(
    body: VisitorInvite, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> VisitorOut:
    """A household invites a visitor; the answer carries the visitor's QR token."""
    visitor = visitors_service.invite_visitor(session, actor=principal, vault=context.vault, invite=body)
    token = visitors_service.visitor_token(
        session, actor=principal, signer=_signer(context), visitor_id=visitor.id
    )
    return visitor.model_copy(update={"token": token.token})


_VISITOR_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权查看或撤销访客通行证"},
    404: {"description": "不存在或不在权限范围内"},
    422: {"description": "输入有误（指出字段）"},
}


@router.get("/visitors", response_model=Page[VisitorOut], responses=_VISITOR_ERRORS)
def visitors(
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    compound_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="小区编号")] = None,
    household_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="住户编号")] = None,
    status: Annotated[
        VisitorState | None,
        Query(description="active 有效, pending 未生效, used_up 已用完, expired 已过期, revoked 已撤销"),
    ] = None,
    on: Annotated[
        InputDate | None, Query(description="在这一天（北京时间）有效的通行证，如 2026-11-27")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="页码，从 1 开始")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = 20,
) -> Page[VisitorOut]:
    """Visitor passes in scope, newest first: the household's own, the compound's, the community's."""
    criteria = VisitorFilter(compound_id=compound_id, household_id=household_id, status=status, on=on)
    return visitors_service.list_visitors(
        session,
        actor=principal,
        vault=context.vault,
        criteria=criteria,
        params=PageParams(page=page, size=size),
    )


@router.get("/visitors/{visitor_id}", response_model=VisitorOut, responses=_VISITOR_ERRORS)
def visitor(
    visitor_id: RowId, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> VisitorOut:
    """One visitor pass (the phone masked)."""
    return visitors_service.show_visitor(session, actor=principal, vault=context.vault, visitor_id=visitor_id)


@router.post(
    "/visitors/{visitor_id}/cancel",
    response_model=VisitorOut,
    responses=_VISITOR_ERRORS | {409: {"description": "已撤销或已过期"}},
)
def cancel_visitor(
    visitor_id: RowId,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    body: VisitorCancel | None = None,
) -> VisitorOut:
    """撤销: every gate refuses the pass from now on (reason `revoked`); audited."""
    return visitors_service.cancel_visitor(
        session,
        actor=principal,
        vault=context.vault,
        visitor_id=visitor_id,
        reason=body.reason if body else None,
    )


@router.post("/isolations", response_model=IsolationOut, status_code=201)
def isolate(body: IsolationIn, principal: CurrentPrincipal, session: SessionDep) -> IsolationOut:
    """Record a home isolation (consent, purpose, end date) that the gates enforce."""
    return passes.record_isolation(session, actor=principal, data=body)


@router.get("/vehicles/overnight", response_model=list[PresenceOut])
def overnight(principal: CurrentPrincipal, session: SessionDep) -> list[PresenceOut]:
    """Outside vehicles that stayed overnight and are still inside."""
    return reports.overnight_outside(session, actor=principal)


@router.post("/watch-plates", response_model=WatchPlateOut, status_code=201)
def watch(body: WatchPlateIn, principal: CurrentPrincipal, session: SessionDep) -> WatchPlateOut:
    """Put a plate on the watch list; a read at any gate of the community raises an alarm."""
    return vehicles.add_watch_plate(session, actor=principal, data=body)


@router.get("/alarms", response_model=list[AlarmOut])
def alarms(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: Literal["open", "acknowledged", "cleared"] | None = None,
    type: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlarmOut]:
    """Gate alarms in scope, newest first."""
    return alarms_service.list_alarms(session, actor=principal, state=state, type=type, limit=limit)


_UNREAD_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "该角色不能查看或辨认待辨认车牌"},
    404: {"description": "没有这条待辨认车牌，或它不在您的负责范围内"},
    409: {"description": "已由他人辨认或标记"},
    422: {"description": "输入有误（指出字段），如车牌号码不符合车牌格式"},
}


@router.get("/unread-plates", response_model=Page[UnreadPlateOut], responses=_UNREAD_ERRORS)
def unread_plates(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="页码，从 1 开始")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = 20,
) -> Page[UnreadPlateOut]:
    """待辨认车牌: vehicles whose plate no device could read, waiting for a person, oldest first."""
    return plate_reviews.list_waiting(session, actor=principal, params=PageParams(page=page, size=size))


@router.post("/unread-plates/{unread_id}/read", response_model=UnreadPlateOut, responses=_UNREAD_ERRORS)
def read_unread_plate(
    unread_id: RowId, body: PlateReading, principal: CurrentPrincipal, session: SessionDep
) -> UnreadPlateOut:
    """The plate a person read on the snapshot: an ordinary plate read at the time the vehicle passed
    (presence, watch list and its case, flow); audited."""
    done = plate_reviews.read_plate(session, actor=principal, unread_id=unread_id, data=body)
    intake.open_cases(session)
    return done


@router.post("/unread-plates/{unread_id}/dismiss", response_model=UnreadPlateOut, responses=_UNREAD_ERRORS)
def dismiss_unread_plate(
    unread_id: RowId, principal: CurrentPrincipal, session: SessionDep, body: PlateDismissal | None = None
) -> UnreadPlateOut:
    """Mark the vehicle 无车牌/无法辨认: it stays out of every count; audited."""
    reason = body.reason if body else None
    return plate_reviews.dismiss(session, actor=principal, unread_id=unread_id, reason=reason or None)
