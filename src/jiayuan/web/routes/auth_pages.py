"""The login and logout pages of the browser faces."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jiayuan.accounts.service import logins, sessions
from jiayuan.db.uow import unit_of_work
from jiayuan.web import i18n
from jiayuan.web.auth import (
    SESSION_COOKIE,
    OptionalPrincipal,
    clear_session_cookie,
    client_ip,
    login_policy,
    set_session_cookie,
)
from jiayuan.web.deps import ContextDep, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

router = APIRouter(tags=["auth"], include_in_schema=False)

# The login form has no session yet, so it gets its own double-submit token against login CSRF.
LOGIN_CSRF_COOKIE = "jiayuan_login_csrf"
DEFAULT_NEXT = "/console"


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (never `//host` or `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return DEFAULT_NEXT
    return target


def _login_form(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "username": username, "error": error, "login_csrf": token},
        status_code=status,
        headers=headers,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="lax")
    return response


@router.get("/login")
def login_page(request: Request, principal: OptionalPrincipal, next: str | None = None) -> Response:
    """The sign-in form; someone already signed in goes straight on."""
    target = safe_next(next)
    if principal is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(request, next_url=target)


@router.post("/login")
def login_submit(
    request: Request,
    context: ContextDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = DEFAULT_NEXT,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; on success set the session cookie and go on, else show why not."""
    target = safe_next(next[:2000])
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(
            request,
            next_url=target,
            username=username,
            error=i18n.translate(N_("页面已过期，请重新输入后登录")),
            status=403,
        )
    username = username.strip()[:64]
    if not username or not password:
        return _login_form(
            request,
            next_url=target,
            username=username,
            error=i18n.translate(N_("请输入用户名和密码")),
            status=422,
        )
    if len(password) > 256:
        return _login_form(
            request,
            next_url=target,
            username=username,
            error=i18n.translate(N_("密码过长（最多 256 位）")),
            status=422,
        )
    policy = login_policy(context.settings)
    # Own transaction: a failed attempt must be committed (counter, audit row) even though it is refused.
    with unit_of_work(context.sessions) as session:
        outcome = logins.authenticate(
            session, username=username, password=password, policy=policy, ip=client_ip(request)
        )
        ticket = None
        if not isinstance(outcome, logins.LoginRefused):
            ticket = sessions.start_session(
                session,
                principal=outcome,
                policy=policy,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
    if ticket is None:
        assert isinstance(outcome, logins.LoginRefused)
        headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
        return _login_form(
            request,
            next_url=target,
            username=username,
            error=i18n.error_text(outcome),
            status=outcome.status,
            headers=headers,
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, ticket, context.settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: OptionalPrincipal,
    next: Annotated[str, Form(max_length=200)] = "/login",
) -> Response:
    """End the browser session (the CSRF token is checked like any other form); the resident's page
    sends its people back to its own sign-in (`next`, same-site paths only)."""
    if principal is not None:
        sessions.end_session(session, cookie=request.cookies.get(SESSION_COOKIE, ""))
    target = next if next == "/h5/login" else "/login"
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, context.settings)
    return response


@router.get("/lang")
def switch_language(request: Request, to: str = "") -> Response:
    """The 中文/EN switch: remember the language in a cookie (a year) and go back to the page it was clicked
    on, taken from the Referer (same site only): the pages need not echo their own address, which may hold
    a searched ID number and would tell an out-of-scope id from a missing one."""
    referer = urlsplit(request.headers.get("referer", ""))
    back = None
    if referer.netloc == request.url.netloc:
        back = referer.path + (f"?{referer.query}" if referer.query else "")
    response = RedirectResponse(safe_next(back), status_code=303)
    response.set_cookie(
        i18n.LANG_COOKIE, i18n.chosen(to), max_age=365 * 24 * 3600, path="/", samesite="lax", httponly=True
    )
    return response
