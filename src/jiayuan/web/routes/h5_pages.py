"""The resident's H5 pages (/h5) and the JSON they fetch (/api/v1/h5): sign-in by phone and one-time
code, the e-pass QR, visitor passes to share, 一键报警, reports and following them.

Thin: the services decide scope (a resident reaches only their own household and their own cases);
`web.h5` puts the pieces together.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from jiayuan.access.pass_tokens import BadPass, Signer, signer_for, verify
from jiayuan.access.schemas import VisitorFilter, VisitorInvite
from jiayuan.access.service import passes, visitors
from jiayuan.accounts.service import sessions, sign_in
from jiayuan.cases.attachments import MAX_PER_STEP
from jiayuan.cases.schemas import ActionIn, CaseIn, Category, RequestId, RowIdList
from jiayuan.cases.service import reads, reporting, workflow
from jiayuan.cases.states import CaseAction
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.errors import Invalid, JiayuanError, NotFound, Unauthorized
from jiayuan.kernel.numbers import row_id
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.web import h5, i18n
from jiayuan.web.auth import AuthDep, client_ip, login_policy, set_session_cookie
from jiayuan.web.context import AppContext
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

pages = APIRouter(prefix="/h5", tags=["h5"], include_in_schema=False)
api = APIRouter(prefix="/api/v1/h5", tags=["h5"])

# The sign-in form has no session yet: its own double-submit token against login CSRF.
H5_CSRF_COOKIE = "jiayuan_h5_csrf"


def _principal(request: Request, auth: AuthDep) -> Principal:
    """A signed-in resident; without a session pages go to the resident sign-in, the API answers 401."""
    if auth.principal is None:
        if request.url.path.startswith("/api/"):
            raise Unauthorized("登录已过期，请重新登录")
        raise HTTPException(
            status_code=303, detail="请先登录", headers={"Location": "/h5/login", "HX-Redirect": "/h5/login"}
        )
    return h5.require_resident(auth.principal)


Resident = Annotated[Principal, Depends(_principal)]


def _signer(context: AppContext) -> Signer:
    return signer_for(context.settings.pass_signing_key.get_secret_value(), context.settings.pass_key_id)


# ---------------------------------------------------------------- sign-in


def _sign_in_page(
    request: Request,
    *,
    phone: str = "",
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    code_step: bool = False,
) -> Response:
    token = request.cookies.get(H5_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "h5/login.html",
        {"phone": phone, "notice": notice, "error": error, "login_csrf": token, "code_step": code_step},
        status_code=status,
    )
    response.set_cookie(H5_CSRF_COOKIE, token, max_age=3600, path="/h5", httponly=True, samesite="lax")
    return response


def _login_csrf_ok(request: Request, sent: str) -> bool:
    expected = request.cookies.get(H5_CSRF_COOKIE, "")
    return bool(expected) and secrets.compare_digest(expected.encode(), sent.encode())


@pages.get("/login")
def login_page(request: Request, auth: AuthDep) -> Response:
    """Phone number, then the code sent to it."""
    if auth.principal is not None:
        return RedirectResponse("/h5", status_code=303)
    return _sign_in_page(request)


@pages.post("/login/code")
def send_code(
    request: Request,
    context: ContextDep,
    phone: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a code: the same answer whether or not the number is registered."""
    if not _login_csrf_ok(request, csrf_token):
        return _sign_in_page(request, phone=phone, error=N_("页面已过期，请重新输入手机号"), status=403)
    if context.settings.env == "production" and context.settings.notify_sms_url is None:
        # Without SMS the code would be shown on the console, where an admin could sign in as anyone.
        error = N_("本社区尚未开通短信验证码登录，请联系社区工作人员")
        return _sign_in_page(request, phone=phone, error=error, status=503)
    try:
        with unit_of_work(context.sessions) as session:
            keyed, find, send = h5.sign_in_tools(session, context.vault)
            notice = sign_in.request_code(
                session, phone=phone, ip=client_ip(request), keyed=keyed, find=find, send=send,
                policy=h5.CODE_POLICY,
            )  # fmt: skip
    except JiayuanError as exc:
        return _sign_in_page(request, phone=phone, error=i18n.error_text(exc), status=exc.status)
    return _sign_in_page(request, phone=phone.strip(), notice=notice, code_step=True)


@pages.post("/login")
def login_submit(
    request: Request,
    context: ContextDep,
    phone: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the code; on success the resident's session starts and the home page opens."""
    if not _login_csrf_ok(request, csrf_token):
        return _sign_in_page(request, phone=phone, error=N_("页面已过期，请重新获取验证码"), status=403)
    policy = login_policy(context.settings)
    try:
        # Own transaction: a wrong code's try must be kept although the answer is a refusal.
        with unit_of_work(context.sessions) as session:
            keyed, find, _send = h5.sign_in_tools(session, context.vault)
            outcome = sign_in.sign_in_with_code(
                session, phone=phone, code=code, ip=client_ip(request), keyed=keyed, find=find,
                policy=h5.CODE_POLICY,
            )  # fmt: skip
            ticket = None
            if not isinstance(outcome, sign_in.CodeRefused):
                ticket = sessions.start_session(
                    session, principal=outcome, policy=policy, ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )  # fmt: skip
    except JiayuanError as exc:
        return _sign_in_page(
            request, phone=phone, error=i18n.error_text(exc), status=exc.status, code_step=True
        )
    if ticket is None:
        assert isinstance(outcome, sign_in.CodeRefused)
        return _sign_in_page(
            request, phone=phone, error=i18n.error_text(outcome), status=outcome.status, code_step=True
        )
    response = RedirectResponse("/h5", status_code=303)
    set_session_cookie(response, ticket, context.settings)
    response.delete_cookie(H5_CSRF_COOKIE, path="/h5")
    return response


# ---------------------------------------------------------------- home and e-pass


@pages.get("")
def home(request: Request, principal: Resident, session: SessionDep) -> Response:
    """My e-pass (refreshing itself) and the big buttons."""
    return render(request, "h5/home.html", {"home": h5.home_label(session, principal)})


class PassOut(BaseModel):
    """A fresh e-pass as the page shows it."""

    qr: str = Field(description="二维码（SVG data URI）")
    expires_at: datetime
    refresh_in_s: int = Field(description="几秒后取下一张（过期前）")


@api.get("/pass", response_model=PassOut)
def my_pass(principal: Resident, session: SessionDep, context: ContextDep) -> PassOut:
    """My e-pass now; the page asks again a few seconds before it expires."""
    assert principal.person_id is not None
    issued = passes.issue_resident_pass(
        session, actor=principal, signer=_signer(context), person_id=principal.person_id,
        validity_s=context.settings.pass_validity_s,
    )  # fmt: skip
    left = (issued.expires_at - utcnow()).total_seconds()
    return PassOut(
        qr=h5.qr_data_uri(issued.token), expires_at=issued.expires_at, refresh_in_s=max(5, int(left) - 10)
    )


# ---------------------------------------------------------------- visitors


def _visitors_page(
    request: Request,
    principal: Principal,
    session: SessionDep,
    context: AppContext,
    *,
    status: int = 200,
    **extra: object,
) -> Response:
    found = visitors.list_visitors(
        session, actor=principal, vault=context.vault, criteria=VisitorFilter(),
        params=PageParams(page=1, size=20),
    )  # fmt: skip
    today = local(utcnow()).date()
    values = {"visitors": found.items, "today": today.isoformat(), "form": {}} | extra
    return render(request, "h5/visitors.html", values, status_code=status)


@pages.get("/visitors")
def visitors_page(
    request: Request, principal: Resident, session: SessionDep, context: ContextDep
) -> Response:
    """My household's visitor passes and a form to invite one."""
    return _visitors_page(request, principal, session, context)


# How far ahead a visit may be booked (a pass for next year is no invitation).
_INVITE_AHEAD_DAYS = 90


def _window(day: str, days: int) -> tuple[datetime, datetime]:
    try:
        first = date.fromisoformat(day)
    except ValueError:
        raise Invalid("请选择来访日期", field="day") from None
    now = utcnow()
    if first < local(now).date():
        raise Invalid("来访日期不能早于今天", field="day")
    if first > local(now).date() + timedelta(days=_INVITE_AHEAD_DAYS):
        raise Invalid("来访日期最多可选 {days} 天以后", field="day", days=_INVITE_AHEAD_DAYS)
    start = max(datetime.combine(first, time(0), LOCAL_TZ), now - timedelta(minutes=1))
    end = datetime.combine(first + timedelta(days=days), time(0), LOCAL_TZ) - timedelta(seconds=1)
    return start, end


@pages.post("/visitors")
def invite(
    request: Request,
    principal: Resident,
    session: SessionDep,
    context: ContextDep,
    name: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    plate: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[str, Form(max_length=20)] = "",
    days: Annotated[int, Form(ge=1, le=7)] = 1,
    entries: Annotated[int, Form(ge=1, le=20)] = 2,
) -> Response:
    """Invite a visitor to my household; then the pass to share."""
    form = {"name": name, "phone": phone, "plate": plate, "day": day, "days": days, "entries": entries}
    try:
        start, end = _window(day, days)
        invite_data = VisitorInvite(
            household_id=principal.household_id or 0, name=name, phone=phone, plate=plate or None,
            valid_from=start, valid_until=end, entries=entries,
        )  # fmt: skip
        made = visitors.invite_visitor(session, actor=principal, vault=context.vault, invite=invite_data)
    except ValidationError as exc:
        _ = i18n.translate
        labels = {"name": _("访客姓名"), "phone": _("访客手机号"), "plate": _("车牌")}
        fields = sorted({labels.get(str(e["loc"][0]), _("来访时间")) for e in exc.errors() if e["loc"]})
        message = _("请检查：{fields}").format(fields=_("、").join(fields or [_("填写内容")]))
        return _visitors_page(request, principal, session, context, error=message, form=form, status=422)
    except JiayuanError as exc:
        session.rollback()
        return _visitors_page(
            request, principal, session, context, error=i18n.error_text(exc), form=form, status=exc.status
        )
    return RedirectResponse(f"/h5/visitors/{made.id}", status_code=303)


@pages.get("/visitors/{visitor_id}")
def visitor_share(
    request: Request, visitor_id: RowId, principal: Resident, session: SessionDep, context: ContextDep
) -> Response:
    """One of my household's visitor passes: the link and the picture to send to the visitor."""
    shown = visitors.show_visitor(session, actor=principal, vault=context.vault, visitor_id=visitor_id)
    issued = visitors.visitor_token(session, actor=principal, signer=_signer(context), visitor_id=visitor_id)
    link = f"{str(request.base_url).rstrip('/')}/h5/v/{issued.token}"
    values = {
        "v": shown,
        "link": link,
        "qr": h5.qr_data_uri(issued.token),
        "png": f"/h5/v/{issued.token}/qr.png",
    }
    return render(request, "h5/visitor.html", values)


@pages.post("/visitors/{visitor_id}/cancel")
def visitor_cancel(
    request: Request, visitor_id: RowId, principal: Resident, session: SessionDep, context: ContextDep
) -> Response:
    """Cancel an invitation: every gate refuses the pass from now on."""
    try:
        visitors.cancel_visitor(session, actor=principal, vault=context.vault, visitor_id=visitor_id)
    except JiayuanError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        error = i18n.error_text(exc)
        return _visitors_page(request, principal, session, context, error=error, status=exc.status)
    return RedirectResponse("/h5/visitors", status_code=303)


def _visitor_claims(context: AppContext, token: str) -> datetime:
    try:
        claims = verify(token, _signer(context).public_keys())
    except BadPass:
        raise NotFound("通行证链接无效，请向邀请您的住户重新索取") from None
    if claims.t != "v":
        raise NotFound("通行证链接无效，请向邀请您的住户重新索取")
    return datetime.fromtimestamp(claims.exp, tz=LOCAL_TZ)


@pages.get("/v/{token}")
def visitor_public(request: Request, token: str, context: ContextDep) -> Response:
    """The visitor's page (no sign-in: the link is the pass): the QR to show at the gate."""
    until = _visitor_claims(context, token)
    values = {
        "qr": h5.qr_data_uri(token),
        "until": until,
        "expired": until <= utcnow(),
        "png": f"/h5/v/{token}/qr.png",
    }
    return render(request, "h5/visitor_public.html", values)


@pages.get("/v/{token}/qr.png")
def visitor_png(token: str, context: ContextDep) -> Response:
    """The visitor pass as a picture."""
    until = _visitor_claims(context, token)
    return Response(
        h5.qr_png(token, until=until),
        media_type="image/png",
        headers={"Content-Disposition": 'inline; filename="visitor-pass.png"', "Cache-Control": "private"},
    )


# ---------------------------------------------------------------- 一键报警


@pages.get("/sos")
def sos_page(request: Request, principal: Resident, session: SessionDep) -> Response:
    """The big button, with a confirm step naming the address help will come to."""
    return render(request, "h5/sos.html", {"home": h5.home_label(session, principal)})


class SosIn(BaseModel):
    """一键报警 from the phone: the position when the resident let the browser share it."""

    model_config = ConfigDict(extra="forbid")

    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    attachment_ids: RowIdList = Field(default=[], description="先上传的照片、语音")
    request_id: RequestId | None = Field(default=None, description="这次报警的编号；重发不会重复报警")


class SosOut(BaseModel):
    """The case the alarm opened (or joined)."""

    case_id: int
    url: str


@api.post("/sos", response_model=SosOut, status_code=201)
def sos(body: SosIn, principal: Resident, session: SessionDep) -> SosOut:
    """Raise 一键报警 at my household with its photos and voice notes; the same `request_id` again, or a
    second press within two minutes, joins the first."""
    case = h5.raise_sos(
        session, actor=principal, latitude=body.latitude, longitude=body.longitude,
        accuracy_m=body.accuracy_m, attachment_ids=body.attachment_ids, request_id=body.request_id,
    )  # fmt: skip
    return SosOut(case_id=case.id, url=f"/h5/cases/{case.id}")


# ---------------------------------------------------------------- reports and following them


@pages.get("/report")
def report_page(request: Request, principal: Resident) -> Response:
    """Report a problem (诉求): category and description."""
    form = {"request_id": secrets.token_urlsafe(16)}
    return render(request, "h5/report.html", {"categories": h5.REPORT_CATEGORIES, "form": form})


@pages.post("/report")
def report(
    request: Request,
    principal: Resident,
    session: SessionDep,
    category: Annotated[str, Form(max_length=24)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    attachment_ids: Annotated[str, Form(max_length=100)] = "",
    request_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Raise the report as a case at my household (with the photos and voice notes the page uploaded
    first), then follow it; the form's `request_id` makes a second press of 提交 the same report."""
    form = {"category": category, "description": description, "place": place, "request_id": request_id}
    error = None
    description = description.strip()
    ids = _ids(attachment_ids)
    if ids is None:
        error = N_("照片或语音没有上传成功，请重新添加")
    elif category not in {c.value for c in h5.REPORT_CATEGORIES}:
        error = N_("请选择问题类别")
    elif len(description) < 4:
        error = N_("请用几句话说明问题（至少 4 个字）")
    elif len(description) > 1000:
        error = N_("问题说明最多 1000 字")
    elif len(place.strip()) > 128:
        error = N_("具体位置最多 128 字")
    if error is None:
        title = description.splitlines()[0][:30]
        try:
            data = CaseIn(
                category=Category(category), title=title if len(title) >= 2 else Category(category).label,
                description=description, place=place.strip(), attachment_ids=ids or [],
                request_id=request_id or None,
            )  # fmt: skip
            case = reporting.report_case(session, actor=principal, data=data)
        except ValidationError:
            error = N_("提交的内容有误，请刷新页面后重试")
        except JiayuanError as exc:
            session.rollback()
            error = i18n.error_text(exc)
        else:
            return RedirectResponse(f"/h5/cases/{case.id}", status_code=303)
    values = {
        "categories": h5.REPORT_CATEGORIES,
        "form": form,
        "error": i18n.translate(error) if error else None,
    }
    return render(request, "h5/report.html", values, status_code=422)


def _ids(text: str) -> list[int] | None:
    """`3,5` → [3, 5]; None when the field was tampered with."""
    ids = [row_id(p.strip()) for p in text.split(",") if p.strip()]
    if len(ids) > MAX_PER_STEP or None in ids:
        return None
    return [i for i in ids if i is not None]


@pages.get("/cases")
def my_cases(request: Request, principal: Resident, session: SessionDep) -> Response:
    """The alarms and reports I raised, newest first."""
    found = reads.list_cases(session, actor=principal, params=PageParams(page=1, size=50))
    return render(request, "h5/cases.html", {"cases": found.items})


def _resident_case(
    session: SessionDep, principal: Principal, context: AppContext, case_id: int
) -> h5.ResidentCase:
    shown = reads.show_case(session, actor=principal, case_id=case_id)
    return h5.resident_case(shown, reopen_days=context.settings.case_reopen_days)


@pages.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: RowId,
    principal: Resident,
    session: SessionDep,
    context: ContextDep,
    notice: str | None = None,
) -> Response:
    """One of my cases: where it stands, who is coming, its steps; kept current by polling."""
    case = _resident_case(session, principal, context, case_id)
    return render(request, "h5/case.html", {"case": case, "notice": (notice or "")[:100]})


@api.get("/cases/{case_id}", response_model=h5.ResidentCase)
def case_status(
    case_id: RowId, principal: Resident, session: SessionDep, context: ContextDep
) -> h5.ResidentCase:
    """Where one of my cases stands now (the page polls this)."""
    return _resident_case(session, principal, context, case_id)


@pages.post("/cases/{case_id}/reopen")
def reopen(
    request: Request,
    case_id: RowId,
    principal: Resident,
    session: SessionDep,
    context: ContextDep,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Reopen a closed case of mine within the allowed days: closed is not fixed."""
    try:
        workflow.act(
            session, actor=principal, case_id=case_id,
            data=ActionIn(action=CaseAction.REOPEN, note=note.strip() or "居民反映问题仍未解决"),
            reopen_days=context.settings.case_reopen_days,
        )  # fmt: skip
    except JiayuanError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        case = _resident_case(session, principal, context, case_id)
        values = {"case": case, "error": i18n.error_text(exc)}
        return render(request, "h5/case.html", values, status_code=exc.status)
    # The page shows the notice in its language (the template looks it up).
    return RedirectResponse(
        f"/h5/cases/{case_id}?notice={quote(N_('已重新打开，社区将再次处理'))}", status_code=303
    )
