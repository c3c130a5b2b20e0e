"""The staff console: home, audit log and users pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from jiayuan.accounts.schemas import USER_ROLES, AuditSearch, parse_scope
from jiayuan.accounts.service import audit, logins, users
from jiayuan.kernel.errors import Invalid, JiayuanError
from jiayuan.kernel.ids import RowIdInt
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service.directory import scope_resolver
from jiayuan.web import i18n
from jiayuan.web.areas import areas_for
from jiayuan.web.auth import SESSION_COOKIE, PagePrincipal, require_current_password
from jiayuan.web.deps import ContextDep, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
# The bare address a person types into the browser leads to the console (and from there to login).
entry = APIRouter(include_in_schema=False)


@entry.get("/")
def root() -> RedirectResponse:
    """Send visitors of `/` to the console."""
    return RedirectResponse("/console", status_code=303)


@router.get("")
def console_home(request: Request, principal: PagePrincipal) -> Response:
    """The landing page with links to the areas of the console."""
    return render(request, "console/index.html", {"areas": areas_for(principal)})


_AUDIT_FIELDS = ("actor", "action", "target", "since", "until")


@router.get("/audit")
def audit_page(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """The audit log with filters; htmx requests get only the results table."""
    error = None
    try:
        search = AuditSearch.model_validate(dict(request.query_params))
    except ValidationError as exc:
        error = i18n.translate(N_("筛选条件有误：")) + "；".join(
            f"{'.'.join(map(str, e['loc']))} {e['msg']}" for e in exc.errors()
        )
        search = AuditSearch()
    results = audit.search_audit(session, actor=principal, criteria=search.criteria(), params=search.paging())
    # The filter as typed, for the form, the page links and the export link.
    query = {k: v for k in _AUDIT_FIELDS if (v := request.query_params.get(k, "").strip())}
    context = {"results": results, "query": query, "error": error}
    status = 422 if error else 200
    if request.headers.get("hx-request"):
        return render(request, "console/_audit_results.html", context, status_code=status)
    return render(request, "console/audit.html", context, status_code=status)


@router.get("/users")
def users_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    paging: Annotated[PageParams, Query()],
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Users of the admin's communities, with forms to add, deactivate and unlock."""
    return _users_view(request, principal, session, paging=paging, notice=notice)


def _users_view(
    request: Request,
    principal: Principal,
    session: Session,
    *,
    paging: PageParams | None = None,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    listed = users.list_users(session, actor=principal, params=paging or PageParams(size=200))
    lockouts = logins.list_lockouts(session, actor=principal)
    context = {
        "users": listed,
        "lockouts": lockouts,
        "locked_names": {lock.username for lock in lockouts if lock.username},
        "roles": USER_ROLES,
        "notice": notice,
        "error": error,
        "form": form or {},
    }
    return render(request, "console/users.html", context, status_code=status_code)


def _done(message: str) -> Response:
    return RedirectResponse(f"/console/users?notice={quote(message)}", status_code=303)


@router.post("/users")
def add_user(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    scopes: Annotated[str, Form()] = "",
) -> Response:
    """Add a user from the console form; errors come back beside the form."""
    form = {"username": username, "display_name": display_name, "role": role, "scopes": scopes}
    try:
        if role not in {r.value for r in USER_ROLES}:
            raise Invalid("请选择角色", field="role")
        if len(password) > 256:
            raise Invalid("密码过长", field="password")
        user = users.create_user(
            session,
            actor=principal,
            username=username,
            display_name=display_name.strip()[:64],
            role=Role(role),
            password=password or None,
            scopes=[parse_scope(s) for s in scopes.replace("，", ",").replace(",", " ").split()],
            community_of=scope_resolver(session),
        )
    except JiayuanError as exc:
        session.rollback()
        return _users_view(
            request, principal, session, error=i18n.error_text(exc), form=form, status_code=exc.status
        )
    return _done(i18n.translate(N_("已添加用户 {name}")).format(name=user.username))


@router.post("/users/{user_id}/deactivate")
def deactivate_user(
    request: Request,
    user_id: RowIdInt,
    principal: PagePrincipal,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Deactivate a user from the console."""
    try:
        user = users.deactivate_user(session, actor=principal, user_id=user_id, reason=reason.strip() or None)
    except JiayuanError as exc:
        session.rollback()
        return _users_view(request, principal, session, error=i18n.error_text(exc), status_code=exc.status)
    return _done(i18n.translate(N_("已停用 {name}")).format(name=user.username))


@router.post("/users/{user_id}/unlock")
def unlock_user(
    request: Request, user_id: RowIdInt, principal: PagePrincipal, session: SessionDep
) -> Response:
    """Lift a login lock from the console."""
    try:
        user = users.unlock_user(session, actor=principal, user_id=user_id)
    except JiayuanError as exc:
        session.rollback()
        return _users_view(request, principal, session, error=i18n.error_text(exc), status_code=exc.status)
    return _done(i18n.translate(N_("已解除 {name} 的登录锁定")).format(name=user.username))


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: RowIdInt,
    principal: PagePrincipal,
    session: SessionDep,
    new_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Set a user's password from the console; the user is signed out everywhere."""
    try:
        user = users.reset_password(session, actor=principal, user_id=user_id, new_password=new_password)
    except JiayuanError as exc:
        session.rollback()
        return _users_view(request, principal, session, error=i18n.error_text(exc), status_code=exc.status)
    return _done(
        i18n.translate(N_("已重置 {name} 的密码，其所有登录已退出、令牌已吊销")).format(name=user.username)
    )


@router.post("/lockouts/{lockout_id}/lift")
def lift_lockout(
    request: Request, lockout_id: RowIdInt, principal: PagePrincipal, session: SessionDep
) -> Response:
    """End one login lock early from the console."""
    try:
        lock = logins.lift_lockout(session, actor=principal, lockout_id=lockout_id)
    except JiayuanError as exc:
        session.rollback()
        return _users_view(request, principal, session, error=i18n.error_text(exc), status_code=exc.status)
    return _done(i18n.translate(N_("已解除 {name} 的登录锁定")).format(name=lock.username or lock.ip))


@router.get("/password")
def password_page(request: Request, principal: PagePrincipal) -> Response:
    """The form to change one's own password."""
    return render(request, "console/password.html", {"notice": None, "error": None})


@router.post("/password")
def change_password(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_again: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Change one's own password; this browser stays signed in, every other session ends."""
    try:
        if new_password != new_password_again:
            raise Invalid("两次输入的新密码不一致", field="new_password_again")
        require_current_password(
            session,
            principal=principal,
            password=current_password,
            settings=context.settings,
            request=request,
        )
        users.change_password(
            session,
            actor=principal,
            current_password=current_password,
            new_password=new_password,
            keep_cookie=request.cookies.get(SESSION_COOKIE),
        )
    except JiayuanError as exc:
        session.rollback()
        values = {"notice": None, "error": i18n.error_text(exc)}
        return render(request, "console/password.html", values, status_code=exc.status)
    notice = i18n.translate(N_("密码已修改；其他设备上的登录已退出，API 令牌已全部吊销"))
    return render(request, "console/password.html", {"notice": notice, "error": None})
