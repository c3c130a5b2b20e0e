"""Who is calling: bearer tokens and session cookies, CSRF for cookie-authenticated writes.

Use `CurrentPrincipal` in API routes (401 without a credential), `PagePrincipal` in HTML pages
(redirect to the login page), `OptionalPrincipal` where signing in is optional, and
`require_roles(...)` for coarse role guards; fine-grained scope stays in the services.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import LoginPolicy, SessionTicket
from jiayuan.accounts.service import logins, sessions, tokens
from jiayuan.kernel.errors import Forbidden, Unauthorized
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from jiayuan.web.deps import SessionDep

SESSION_COOKIE = "jiayuan_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})


@dataclass(frozen=True)
class Authentication:
    """The outcome of reading the request's credential."""

    principal: Principal | None
    via: Literal["bearer", "cookie"] | None = None
    csrf_token: str | None = None


def require_current_password(
    session: Session, *, principal: Principal, password: str, settings: Settings, request: Request
) -> None:
    """Before a password change: refuse a wrong current password, keeping the failure counted (it is
    committed before the refusal is raised, so the request's rollback cannot undo it)."""
    refused = logins.check_current_password(
        session, actor=principal, password=password, policy=login_policy(settings), ip=client_ip(request)
    )
    if refused is not None:
        session.commit()
        raise refused


def login_policy(settings: Settings) -> LoginPolicy:
    """The login throttling and session length configured in settings."""
    return LoginPolicy(
        slowdown_after=settings.login_slowdown_after,
        lock_after=settings.login_lock_after,
        lock_minutes=settings.login_lock_minutes,
        address_lock_after=settings.login_address_lock_after,
        account_slowdown_after=settings.login_account_slowdown_after,
        session_hours=settings.session_hours,
    )


def client_ip(request: Request) -> str | None:
    """The caller's address as the server sees it (for the audit log)."""
    return request.client.host if request.client else None


def _authenticate(request: Request, session: SessionDep) -> Authentication:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization 请求头应为 “Bearer 令牌”")
        auth = Authentication(tokens.principal_for_token(session, value.strip()), "bearer")
    else:
        found = sessions.principal_for_session(session, request.cookies.get(SESSION_COOKIE, ""))
        auth = Authentication(found[0], "cookie", found[1]) if found else Authentication(None)
    request.state.principal = auth.principal
    request.state.csrf_token = auth.csrf_token
    return auth


async def _csrf_checked(
    request: Request, auth: Annotated[Authentication, Depends(_authenticate)]
) -> Authentication:
    """Refuse a cookie-authenticated write that lacks this session's CSRF token (header or form field),
    and a cookie-authenticated reveal (a GET with a stated `reason`: a full-number search, a full export)
    that another site started: the reason is the user's own statement, so a link elsewhere cannot
    make one in their name. Browsers say where a request came from in Sec-Fetch-Site."""
    if auth.via != "cookie" or auth.csrf_token is None:
        return auth
    if request.method in SAFE_METHODS:
        if "reason" in request.query_params and request.headers.get("sec-fetch-site") in _FOREIGN_SITES:
            raise Forbidden("查看完整号码须在本系统页面内填写理由，不能从其他网站的链接发起", field="reason")
        return auth
    sent: object = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), auth.csrf_token.encode()):
        raise Forbidden("安全校验失败（CSRF 令牌缺失或不符），请刷新页面后重试", field=CSRF_FIELD)
    return auth


AuthDep = Annotated[Authentication, Depends(_csrf_checked)]


def current_principal(auth: AuthDep) -> Principal:
    """The signed-in principal; 401 when there is no valid credential."""
    if auth.principal is None:
        raise Unauthorized("请先登录或提供有效的 Bearer 令牌")
    return auth.principal


def optional_principal(auth: AuthDep) -> Principal | None:
    """The signed-in principal, or None for an anonymous caller."""
    return auth.principal


def page_principal(request: Request, auth: AuthDep) -> Principal:
    """The signed-in principal of an HTML page; anonymous visitors are sent to the login page."""
    if auth.principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}"
        raise HTTPException(
            status_code=303, detail="请先登录", headers={"Location": location, "HX-Redirect": location}
        )
    return auth.principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
PagePrincipal = Annotated[Principal, Depends(page_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 for the others, 401 when anonymous)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden("您的角色无权执行此操作")
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def set_session_cookie(response: Response, ticket: SessionTicket, settings: Settings) -> None:
    """Hand the browser its session: HttpOnly, SameSite=Lax, Secure in production."""
    response.set_cookie(
        SESSION_COOKIE,
        ticket.cookie,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Make the browser forget its session."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.env == "production"
    )
