"""Browser sessions: open one for a person who just signed in, find who a cookie is, sign out."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts import repository
from jiayuan.accounts.models import LoginSession
from jiayuan.accounts.schemas import LoginPolicy, SessionTicket
from jiayuan.accounts.service.audit import record_audit
from jiayuan.accounts.service.users import _hash, principal_of, user_community
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal

# Writing last_used_at / last_seen_at on every request would turn reads into writes.
_TOUCH_EVERY = timedelta(minutes=1)


def start_session(
    session: Session,
    *,
    principal: Principal,
    policy: LoginPolicy,
    ip: str | None = None,
    user_agent: str | None = None,
) -> SessionTicket:
    """Open a browser session for a user who just proved who they are (`logins.authenticate`)."""
    if principal.user_id is None:
        raise Forbidden("只有用户账户可以登录网页")
    now = utcnow()
    for stale in repository.expired_sessions(session, now):
        session.delete(stale)
    cookie = secrets.token_urlsafe(32)
    ticket = SessionTicket(
        cookie=cookie,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + timedelta(hours=policy.session_hours),
    )
    session.add(
        LoginSession(
            token_hash=_hash(cookie),
            user_id=principal.user_id,
            csrf_token=ticket.csrf_token,
            created_at=now,
            expires_at=ticket.expires_at,
            last_seen_at=now,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:255] if user_agent else None,
        )
    )
    return ticket


def principal_for_session(session: Session, cookie: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live browser session, or None."""
    if not cookie or len(cookie) > 128:
        return None
    login = repository.login_session_by_hash(session, _hash(cookie))
    now = utcnow()
    if login is None or login.expires_at <= now:
        return None
    user = repository.user_by_id(session, login.user_id)
    if user is None or not user.is_active:
        return None
    if now - login.last_seen_at > _TOUCH_EVERY:
        login.last_seen_at = now
    return principal_of(user), login.csrf_token


def end_session(session: Session, *, cookie: str) -> None:
    """Sign out: forget the browser session."""
    login = repository.login_session_by_hash(session, _hash(cookie)) if cookie else None
    if login is None:
        return
    user = repository.user_by_id(session, login.user_id)
    session.delete(login)
    if user is not None:
        record_audit(
            session,
            actor=principal_of(user),
            action="logout",
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            community_id=user_community(user),
        )
