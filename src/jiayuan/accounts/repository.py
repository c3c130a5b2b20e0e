"""Queries of the accounts domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, noload
from sqlalchemy.orm.attributes import set_committed_value

from jiayuan.accounts.models import (
    ApiToken,
    AuditEntry,
    LoginSession,
    LoginThrottle,
    SignInCode,
    User,
    UserScope,
)
from jiayuan.accounts.schemas import AuditFilter, ScopeKind, actions_named
from jiayuan.kernel.clock import utcnow


def user_by_username(session: Session, username: str) -> User | None:
    """The user with this exact username."""
    return session.scalar(select(User).where(User.username == username))


def user_for_login(session: Session, username: str) -> User | None:
    """The user with this username and its scopes, in the same two queries whether or not it exists.

    A login's work (and so its timing) must not tell which usernames exist.
    """
    user = session.scalar(select(User).where(User.username == username).options(noload(User.scopes)))
    scopes = session.scalars(select(UserScope).where(UserScope.user_id == (user.id if user else -1))).all()
    if user is not None:
        set_committed_value(user, "scopes", list(scopes))
    return user


def user_by_id(session: Session, user_id: int) -> User | None:
    """The user with this id."""
    return session.get(User, user_id)


def users_in(session: Session, community_ids: frozenset[int] | None) -> Select[User]:
    """Users, all of them (None) or those whose communities all lie among these (the rule of
    `policies.user_in_scope`: someone who also works elsewhere is not these communities' alone)."""
    query = select(User).order_by(User.id)
    if community_ids is not None:
        memberships = select(UserScope.user_id).where(UserScope.kind == ScopeKind.COMMUNITY.value)
        elsewhere = memberships.where(UserScope.ref_id.not_in(community_ids))
        query = query.where(User.id.in_(memberships), User.id.not_in(elsewhere))
    return query


def count(session: Session, query: Select[User] | Select[AuditEntry]) -> int:
    """How many rows a query would return."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def login_session_by_hash(session: Session, token_hash: str) -> LoginSession | None:
    """The browser session whose cookie hashes to this value."""
    return session.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash))


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """The bearer token that hashes to this value."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def api_tokens(session: Session, *, user_id: int | None = None) -> Sequence[ApiToken]:
    """Tokens, newest first; only one user's when `user_id` is given."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.scalars(query).all()


def audit_query(criteria: AuditFilter, community_ids: frozenset[int] | None) -> Select[AuditEntry]:
    """Audit rows matching the filter, newest first, limited to the communities when given."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if community_ids is not None:
        query = query.where(AuditEntry.community_id.in_(community_ids))
    if criteria.actor:
        query = query.where(AuditEntry.actor_name.contains(criteria.actor, autoescape=True))
    if criteria.action:
        by_code = AuditEntry.action.startswith(criteria.action, autoescape=True)
        named = actions_named(criteria.action)
        query = query.where(or_(by_code, AuditEntry.action.in_(named)) if named else by_code)
    if criteria.target:
        needle = criteria.target
        query = query.where(
            or_(
                AuditEntry.target_label.contains(needle, autoescape=True),
                AuditEntry.target_id == needle,
                AuditEntry.target_type == needle,
            )
        )
    if criteria.since is not None:
        query = query.where(AuditEntry.at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEntry.at < criteria.until)
    return query


def login_sessions_of(session: Session, user_id: int) -> Sequence[LoginSession]:
    """Every browser session of one user."""
    return session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)).all()


def device_tokens(session: Session, device_id: str) -> Sequence[ApiToken]:
    """Every token ever issued to a device."""
    return session.scalars(select(ApiToken).where(ApiToken.device_id == device_id)).all()


def expired_sessions(session: Session, now: datetime) -> Sequence[LoginSession]:
    """Browser sessions past their expiry."""
    return session.scalars(select(LoginSession).where(LoginSession.expires_at < now)).all()


def active_users_in_scopes(
    session: Session, scopes: Sequence[tuple[ScopeKind, int]], roles: Sequence[str]
) -> list[tuple[int, str, str]]:
    """`(id, shown name, role)` of the active users of these roles holding one of these scopes, by name."""
    if not scopes or not roles:
        return []
    held = or_(*((UserScope.kind == kind.value) & (UserScope.ref_id == ref) for kind, ref in scopes))
    rows = session.execute(
        select(User.id, User.display_name, User.username, User.role)
        .where(
            User.is_active,
            User.role.in_(sorted(set(roles))),
            User.id.in_(select(UserScope.user_id).where(held)),
        )
        .order_by(User.username)
    )
    return [(user_id, display or username, role) for user_id, display, username, role in rows]


def display_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """How the users among `ids` are shown: their display name, or the username when it is blank."""
    if not ids:
        return {}
    wanted = sorted(set(ids))
    rows = session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(wanted)))
    return {user_id: display or username for user_id, display, username in rows}


def users_by_username(session: Session, usernames: Sequence[str]) -> dict[str, User]:
    """The users among these usernames, by username."""
    if not usernames:
        return {}
    return {u.username: u for u in session.scalars(select(User).where(User.username.in_(set(usernames))))}


def throttles_by_key(session: Session, keys: Sequence[str]) -> dict[str, LoginThrottle]:
    """The login throttle rows with these keys, locked for update where the database can."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)).with_for_update())
    return {row.key: row for row in rows}


def claim_throttle(
    session: Session, *, key: str, kind: str, username: str | None, ip: str | None
) -> LoginThrottle:
    """The throttle row for a key, made if missing; two concurrent first failures share one row."""
    values = {
        "key": key,
        "kind": kind,
        "username": username,
        "ip": ip,
        "failures": 0,
        "last_failed_at": utcnow(),
    }
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    return session.scalars(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()).one()


def locked_throttles(session: Session, now: datetime) -> Sequence[LoginThrottle]:
    """Throttle rows whose lock is still in force, soonest to end first."""
    query = select(LoginThrottle).where(LoginThrottle.locked_until > now).order_by(LoginThrottle.locked_until)
    return session.scalars(query).all()


def delete_throttles_of(session: Session, username: str) -> int:
    """Forget every failure counted against a username (from any address); returns how many rows."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
    return int(getattr(result, "rowcount", 0) or 0)


def count_actions_since(
    session: Session, *, user_id: int | None, username: str, action: str, since: datetime
) -> int:
    """Audit rows of one action by one account (by user id, or by name for the CLI's OS user)."""
    actor = AuditEntry.actor_user_id == user_id if user_id is not None else AuditEntry.actor_name == username
    query = select(func.count()).where(actor, AuditEntry.action == action, AuditEntry.at >= since)
    return session.scalar(query) or 0


def sign_in_code(session: Session, phone_hash: str) -> SignInCode | None:
    """The code last sent for a number (by the number's keyed hash), locked for this transaction."""
    return session.scalar(select(SignInCode).where(SignInCode.phone_hash == phone_hash).with_for_update())


def delete_expired_codes(session: Session, now: datetime) -> None:
    """Forget codes that can no longer be used."""
    session.execute(delete(SignInCode).where(SignInCode.expires_at <= now))


def users_holding(session: Session, kind: ScopeKind, ref_id: int, role: str) -> list[User]:
    """Users of a role holding one scope (active or not), oldest first."""
    held = select(UserScope.user_id).where(UserScope.kind == kind.value, UserScope.ref_id == ref_id)
    return list(session.scalars(select(User).where(User.role == role, User.id.in_(held)).order_by(User.id)))
