"""Use cases of the accounts domain: users, logins, sessions, tokens and the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from jiayuan.accounts import passwords, policies, repository
from jiayuan.accounts.events import DeviceTokensRevoked
from jiayuan.accounts.models import ApiToken, AuditEntry, LoginSession, User, UserScope
from jiayuan.accounts.schemas import (
    USERNAME_PATTERN,
    AuditFilter,
    AuditOut,
    LoginPolicy,
    MobileIn,
    ScopeKind,
    TokenIssued,
    TokenOut,
    UserOut,
    parse_scope,
)
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_phone
from jiayuan.kernel.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.phones import mobile_or_none
from jiayuan.kernel.principal import Principal, Role
from jiayuan.kernel.scopes import CommunityOf, DeviceCommunities

USER_TOKEN_PREFIX = "jy_"  # noqa: S105
DEVICE_TOKEN_PREFIX = "jyd_"  # noqa: S105
# Writing last_used_at / last_seen_at on every request would turn reads into writes.
_TOUCH_EVERY = timedelta(minutes=1)
DEFAULT_TOKEN_MAX_DAYS = 90


# ---------------------------------------------------------------- users


def create_user(
    session: Session,
    *,
    actor: Principal,
    username: str,
    display_name: str,
    role: Role,
    password: str | None = None,
    scopes: Iterable[tuple[ScopeKind, int]] = (),
    community_of: CommunityOf | None = None,
) -> UserOut:
    """Add a user with a role and scope; only admins (and the system) may.

    `community_of` (the registry's `scope_resolver`) places each scope in its community; an admin
    may grant only scopes inside their own communities, and without it only the system grants.
    """
    policies.require_user_admin(actor)
    scopes = list(scopes)
    username = username.strip()
    if not username:
        raise Invalid("用户名不能为空", field="username")
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Invalid("用户名须为 2–64 位字母、数字、汉字或 _.-", field="username")
    if role is Role.SYSTEM:
        raise Invalid("system 不是可分配的角色", field="role")
    if password is not None:
        passwords.check_rules(password, username=username)
    policies.require_scopes_grantable(actor, scopes, community_of)
    scopes = _with_communities(scopes, community_of)
    if repository.user_by_username(session, username) is not None:
        raise Conflict("用户名 {username} 已存在", field="username", username=username)
    user = User(
        username=username,
        display_name=(display_name or username)[:64],
        role=role.value,
        password_hash=passwords.hash_password(password) if password else None,
        scopes=[UserScope(kind=kind.value, ref_id=ref_id) for kind, ref_id in dict.fromkeys(scopes)],
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        target_label=username,
        community_id=user_community(user),
        detail={"role": role.value, "scopes": [[k.value, i] for k, i in scopes]},
    )
    return UserOut.model_validate(user)


def _with_communities(
    scopes: list[tuple[ScopeKind, int]], community_of: CommunityOf | None
) -> list[tuple[ScopeKind, int]]:
    """The scopes plus the community each grid, compound, household or person lies in, when none is
    named: an account belongs to its community, whose admins then see and manage it (`grid:3` alone
    from the command line would make an account no community admin could find)."""
    if community_of is None or any(kind is ScopeKind.COMMUNITY for kind, _ in scopes):
        return scopes
    owners = {community_of(kind.value, str(ref)) for kind, ref in scopes}
    return scopes + [(ScopeKind.COMMUNITY, c) for c in sorted(o for o in owners if o is not None)]


def signed_in(session: Session, user: User, *, ip: str | None, method: str | None = None) -> Principal:
    """Record a successful sign-in (its time and its audit row, by password or by a one-time code) and
    return the principal the person acts as from now on."""
    user.last_login_at = utcnow()
    principal = principal_of(user)
    record_audit(
        session,
        actor=principal,
        action="login.success",
        target_type="user",
        target_id=user.id,
        target_label=user.username,
        community_id=user_community(user),
        ip=ip,
        detail={"method": method} if method else None,
    )
    return principal


def principal_of(user: User | UserOut) -> Principal:
    """The principal a user acts as, from the stored row or from what the service returned."""
    if isinstance(user, UserOut):
        scopes = [parse_scope(text) for text in user.scopes]
    else:
        scopes = [(ScopeKind(s.kind), s.ref_id) for s in user.scopes]

    def ids(kind: ScopeKind) -> frozenset[int]:
        return frozenset(ref for k, ref in scopes if k is kind)

    households = ids(ScopeKind.HOUSEHOLD)
    people = ids(ScopeKind.PERSON)
    return Principal(
        role=Role(user.role),
        user_id=user.id,
        username=user.username,
        community_ids=ids(ScopeKind.COMMUNITY),
        compound_ids=ids(ScopeKind.COMPOUND),
        grid_ids=ids(ScopeKind.GRID),
        household_id=min(households) if households else None,
        person_id=min(people) if people else None,
    )


def list_users(session: Session, *, actor: Principal, params: PageParams) -> Page[UserOut]:
    """Users the actor administers, a page at a time."""
    policies.require_user_admin(actor)
    query = repository.users_in(session, policies.visible_communities(actor))
    users = session.scalars(query.offset(params.offset).limit(params.size)).all()
    return Page[UserOut](
        items=[UserOut.model_validate(u) for u in users],
        total=repository.count(session, query),
        page=params.page,
        size=params.size,
    )


def get_user(session: Session, *, actor: Principal, user_id: int) -> UserOut:
    """One user the actor administers (404 for anyone else's)."""
    return UserOut.model_validate(_managed(session, actor, user_id))


def find_user(session: Session, *, actor: Principal, username: str) -> UserOut:
    """A user by username, if the actor administers it."""
    user = repository.user_by_username(session, username.strip())
    return UserOut.model_validate(policies.require_user_visible(actor, user))


def _managed(session: Session, actor: Principal, user_id: int) -> User:
    return policies.require_user_visible(actor, repository.user_by_id(session, user_id))


def deactivate_user(
    session: Session, *, actor: Principal, user_id: int, reason: str | None = None
) -> UserOut:
    """Stop a user from signing in: ends their sessions and revokes their tokens."""
    user = _managed(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict("不能停用自己的账户", field="user_id")
    if user.is_active:
        now = utcnow()
        user.is_active = False
        for login in repository.login_sessions_of(session, user.id):
            session.delete(login)
        for token in repository.api_tokens(session, user_id=user.id):
            token.revoked_at = token.revoked_at or now
        record_audit(
            session,
            actor=actor,
            action="user.deactivate",
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
            community_id=user_community(user),
        )
    return UserOut.model_validate(user)


MOBILE_CONTEXT = "accounts.mobile"


def set_mobile(
    session: Session, *, actor: Principal, user_id: int, data: MobileIn, vault: PiiVault
) -> UserOut:
    """Set (or, empty, clear) the mobile a person's own notices go to: by the person, or by an admin who
    manages them. Kept encrypted; audited with the masked number."""
    user = (
        repository.user_by_id(session, user_id)
        if actor.user_id == user_id
        else _managed(session, actor, user_id)
    )
    if user is None:
        raise NotFound("用户不存在", field="user_id")
    typed = data.mobile.strip()
    mobile = mobile_or_none(typed) if typed else None
    if typed and mobile is None:
        raise Invalid("手机号应为 11 位，以 13–19 开头", field="mobile")
    user.mobile_cipher = vault.encrypt(mobile, context=MOBILE_CONTEXT) if mobile else None
    user.mobile_masked = mask_phone(mobile) if mobile else ""
    record_audit(
        session,
        actor=actor,
        action="user.mobile",
        target_type="user",
        target_id=user.id,
        target_label=user.username,
        community_id=user_community(user),
        detail={"mobile": user.mobile_masked},
    )
    return UserOut.model_validate(user)


def mobile_of(session: Session, user_id: int, *, vault: PiiVault) -> str | None:
    """The mobile of an active account, in full: for the sender of that person's own notices."""
    user = repository.user_by_id(session, user_id)
    if user is None or not user.is_active or user.mobile_cipher is None:
        return None
    return vault.decrypt(user.mobile_cipher, context=MOBILE_CONTEXT)


def unlock_user(session: Session, *, actor: Principal, user_id: int) -> UserOut:
    """Lift every login lock and slowdown on a user's username, from every address."""
    user = _managed(session, actor, user_id)
    repository.delete_throttles_of(session, user.username)
    record_audit(
        session,
        actor=actor,
        action="user.unlock",
        target_type="user",
        target_id=user.id,
        target_label=user.username,
        community_id=user_community(user),
    )
    return UserOut.model_validate(user)


def change_password(
    session: Session, *, actor: Principal, current_password: str, new_password: str, keep_cookie: str | None
) -> UserOut:
    """A user changes their own password; every other session ends and every API token is revoked.

    `keep_cookie` is the browser session the change was made from, which stays signed in.
    """
    user = repository.user_by_id(session, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.is_active:
        raise Forbidden("只有登录的用户可以修改自己的密码")
    if user.password_hash is None or not passwords.verify_password(user.password_hash, current_password):
        raise Invalid("当前密码不正确", field="current_password")
    if current_password == new_password:
        raise Invalid("新密码不能与当前密码相同", field="new_password")
    passwords.check_rules(new_password, username=user.username, field="new_password")
    _replace_password(session, user, new_password, keep_cookie=keep_cookie)
    record_audit(
        session,
        actor=actor,
        action="user.password_change",
        target_type="user",
        target_id=user.id,
        target_label=user.username,
        community_id=user_community(user),
    )
    return UserOut.model_validate(user)


def reset_password(session: Session, *, actor: Principal, user_id: int, new_password: str) -> UserOut:
    """An admin sets a user's password: the user is signed out everywhere and their tokens revoked."""
    user = _managed(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict("修改自己的密码请用“修改密码”（需要当前密码）", field="user_id")
    passwords.check_rules(new_password, username=user.username, field="new_password")
    _replace_password(session, user, new_password, keep_cookie=None)
    repository.delete_throttles_of(session, user.username)
    record_audit(
        session,
        actor=actor,
        action="user.password_reset",
        target_type="user",
        target_id=user.id,
        target_label=user.username,
        community_id=user_community(user),
    )
    return UserOut.model_validate(user)


def _replace_password(session: Session, user: User, new_password: str, *, keep_cookie: str | None) -> None:
    now = utcnow()
    user.password_hash = passwords.hash_password(new_password)
    kept = _hash(keep_cookie) if keep_cookie else None
    for login in repository.login_sessions_of(session, user.id):
        if login.token_hash != kept:
            session.delete(login)
    for token in repository.api_tokens(session, user_id=user.id):
        token.revoked_at = token.revoked_at or now


def active_principal(session: Session, username: str) -> Principal | None:
    """The principal of an active account by its username (for a command run as that account)."""
    user = repository.user_by_username(session, username.strip())
    return principal_of(user) if user is not None and user.is_active else None


def active_principal_by_id(session: Session, user_id: int) -> Principal | None:
    """What an active account may do, by its id (None when there is no such active account): for
    a domain checking whom it may hand work to."""
    user = repository.user_by_id(session, user_id)
    return principal_of(user) if user is not None and user.is_active else None


def user_community(user: User) -> int | None:
    ids = [s.ref_id for s in user.scopes if s.kind == ScopeKind.COMMUNITY.value]
    return min(ids) if ids else None


# ---------------------------------------------------------------- browser sessions


@dataclass(frozen=True)
class SessionTicket:
    """What the browser gets for a new session: the cookie value and the form token."""

    cookie: str
    csrf_token: str
    expires_at: datetime


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 suffices (no salt or slow hash needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


# ---------------------------------------------------------------- API and device tokens


def create_api_token(
    session: Session,
    *,
    actor: Principal,
    name: str,
    user_id: int | None = None,
    device_id: str | None = None,
    expires_at: datetime | None = None,
    device_community: int | None = None,
    max_days: int = DEFAULT_TOKEN_MAX_DAYS,
) -> TokenIssued:
    """Issue a bearer token for a user or a device; its plain value is returned this once only.

    Device tokens go through `devices.service.tokens.issue_device_token`, which checks that the device
    exists and passes its community as `device_community`; they live until revoked. A user's token
    lives at most `max_days` (JIAYUAN_API_TOKEN_MAX_DAYS): no expiry, or a later one, becomes that limit.
    """
    if actor.role is Role.DEVICE:
        raise Forbidden("设备令牌不能再签发令牌")
    name = name.strip()[:64]
    if not name:
        raise Invalid("令牌名称不能为空", field="name")
    if (user_id is None) == (device_id is None):
        raise Invalid("请指定用户或设备之一（user_id 或 device_id）", field="user_id")
    user = None
    if user_id is not None:
        user = repository.user_by_id(session, user_id)
    if device_id is not None:
        device_id = device_id.strip()
        if not device_id or len(device_id) > 64:
            raise Invalid("设备编号须为 1–64 个字符", field="device_id")
    policies.require_token_issuer(
        actor, for_user=user, device_id=device_id, device_community=device_community
    )
    if user is not None and not user.is_active:
        raise Conflict("该用户已停用，不能签发令牌", field="user_id")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid("到期时间（expires_at）必须晚于现在", field="expires_at")
    if device_id is None:
        latest = now + timedelta(days=max_days)
        expires_at = latest if expires_at is None else min(expires_at, latest)
    prefix = DEVICE_TOKEN_PREFIX if device_id is not None else USER_TOKEN_PREFIX
    plain = prefix + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=_hash(plain),
        user_id=user_id,
        device_id=device_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="token.issue",
        target_type="device" if device_id is not None else "user",
        target_id=device_id if device_id is not None else user_id,
        target_label=device_id if device_id is not None else (user.username if user else None),
        community_id=user_community(user) if user else device_community,
        detail={"token_id": token.id, "name": name},
    )
    return TokenIssued(
        id=token.id,
        token=plain,
        name=name,
        user_id=user_id,
        device_id=device_id,
        expires_at=expires_at,
    )


def issue_api_token(
    session: Session,
    *,
    actor: Principal,
    name: str,
    user_id: int | None = None,
    device_id: str | None = None,
    expires_at: datetime | None = None,
    max_days: int = DEFAULT_TOKEN_MAX_DAYS,
) -> str:
    """Issue a bearer token and return only its plain value (shown once, stored as a hash)."""
    return create_api_token(
        session,
        actor=actor,
        name=name,
        user_id=user_id,
        device_id=device_id,
        expires_at=expires_at,
        max_days=max_days,
    ).token


def principal_for_token(session: Session, token: str) -> Principal:
    """Who a bearer token acts as; a device token gives Role.DEVICE with its device id."""
    if not token.startswith((USER_TOKEN_PREFIX, DEVICE_TOKEN_PREFIX)) or len(token) > 128:
        raise Unauthorized("令牌无效")
    row = repository.api_token_by_hash(session, _hash(token))
    now = utcnow()
    if row is None:
        raise Unauthorized("令牌无效")
    if row.revoked_at is not None:
        raise Unauthorized("令牌已被吊销")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("令牌已过期")
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    if row.device_id is not None:
        return Principal(role=Role.DEVICE, username=f"device:{row.device_id}", device_id=row.device_id)
    user = repository.user_by_id(session, row.user_id) if row.user_id is not None else None
    if user is None or not user.is_active:
        raise Unauthorized("令牌所属账户已停用")
    return principal_of(user)


def list_api_tokens(
    session: Session, *, actor: Principal, device_communities: DeviceCommunities | None = None
) -> list[TokenOut]:
    """Tokens the actor may manage: their own, or, as an admin, those of the users and devices of
    their communities. Without `device_communities` (the devices domain's lookup) device tokens are
    shown to installation admins only."""
    if actor.role is Role.DEVICE:
        raise Forbidden("设备不能查看令牌")
    rows = repository.api_tokens(session, user_id=None if actor.has_role(Role.ADMIN) else actor.user_id)
    places = _device_places(rows, device_communities)
    return [TokenOut.model_validate(t) for t in rows if _token_visible(session, actor, t, places)]


def revoke_api_token(
    session: Session, *, actor: Principal, token_id: int, device_communities: DeviceCommunities | None = None
) -> TokenOut:
    """Revoke a token at once; revoking twice is harmless. A token out of reach reads as unknown."""
    token = session.get(ApiToken, token_id)
    if actor.role is Role.DEVICE:
        raise Forbidden("设备不能吊销令牌")
    places = _device_places([token] if token else [], device_communities)
    if token is None or not _token_visible(session, actor, token, places):
        raise NotFound("令牌不存在", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(
            session,
            actor=actor,
            action="token.revoke",
            target_type="device" if token.device_id is not None else "user",
            target_id=token.device_id if token.device_id is not None else token.user_id,
            community_id=places.get(token.device_id) if token.device_id is not None else None,
            detail={"token_id": token.id, "name": token.name},
        )
        if token.device_id is not None:
            publish_on_commit(session, DeviceTokensRevoked(device_id=token.device_id, token_ids=[token.id]))
    return TokenOut.model_validate(token)


def revoke_device_tokens(
    session: Session, *, actor: Principal, device_id: str, community_id: int | None, reason: str
) -> int:
    """Revoke every live token of a device (when it is disabled, removed or compromised); returns how many.

    The caller (`devices.service.lifecycle`) has decided that the actor may switch this device; the revocation
    is audited as the actor's, with their reason.
    """
    now = utcnow()
    live = [t for t in repository.device_tokens(session, device_id) if t.revoked_at is None]
    for token in live:
        token.revoked_at = now
    if live:
        record_audit(
            session,
            actor=actor,
            action="token.revoke",
            target_type="device",
            target_id=device_id,
            reason=reason,
            community_id=community_id,
            detail={"token_ids": [t.id for t in live]},
        )
        publish_on_commit(session, DeviceTokensRevoked(device_id=device_id, token_ids=[t.id for t in live]))
    return len(live)


def device_token_ids(session: Session, device_id: str) -> tuple[list[int], list[int]]:
    """`(live, dead)`: the ids of a device's tokens that still work, newest first (the broker's password
    is the first), and of those revoked or expired. A token issued after this read is in neither."""
    now = utcnow()
    tokens = repository.device_tokens(session, device_id)
    live = [t for t in tokens if t.revoked_at is None and (t.expires_at is None or t.expires_at > now)]
    dead = [t.id for t in tokens if t not in live]
    return [t.id for t in sorted(live, key=lambda t: (t.created_at, t.id), reverse=True)], dead


def _device_places(
    tokens: Iterable[ApiToken], device_communities: DeviceCommunities | None
) -> Mapping[str, int | None]:
    device_ids = {t.device_id for t in tokens if t.device_id is not None}
    if not device_ids or device_communities is None:
        return {}
    return device_communities(device_ids)


def _token_visible(
    session: Session, actor: Principal, token: ApiToken, device_places: Mapping[str, int | None]
) -> bool:
    if token.device_id is not None:
        return policies.device_token_in_scope(actor, device_places.get(token.device_id))
    if not policies.may_manage_token(actor, owner_id=token.user_id):
        return False
    if token.user_id is None or token.user_id == actor.user_id:
        return True
    owner = repository.user_by_id(session, token.user_id)
    return owner is not None and policies.user_in_scope(actor, owner)


# ---------------------------------------------------------------- audit log


def active_users_in_scopes(
    session: Session, scopes: Sequence[tuple[ScopeKind, int]], roles: Sequence[Role]
) -> list[tuple[int, str, Role]]:
    """`(id, shown name, role)` of the active users of these roles who hold one of these scopes, by
    username: for a domain offering whom work may be given to (the caller checked the actor's reach)."""
    rows = repository.active_users_in_scopes(session, scopes, [r.value for r in roles])
    return [(user_id, name, Role(role)) for user_id, name, role in rows]


def display_names(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    """How the users among `user_ids` are shown beside the rows they acted on (display name, or the
    username when it is blank); the caller has already checked that the actor may see those rows."""
    return repository.display_names(session, user_ids)


def actions_since(session: Session, *, actor: Principal, action: str, since: datetime) -> int:
    """How many audit rows of `action` the actor's account wrote since `since` (for per-account limits
    that survive restarts and hold across processes)."""
    return repository.count_actions_since(
        session, user_id=actor.user_id, username=actor.username, action=action, since=since
    )


def record_audit(
    session: Session,
    *,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: int | str | None = None,
    target_label: str | None = None,
    reason: str | None = None,
    community_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction (so it exists exactly when the change does).

    Without an explicit community the row belongs to the actor's community, so that community's
    admins find it.
    """
    if community_id is None and actor.community_ids:
        community_id = min(actor.community_ids)
    entry = AuditEntry(
        at=utcnow(),
        actor_user_id=actor.user_id,
        actor_name=actor.username[:64],
        actor_role=actor.role.value,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        target_label=target_label[:128] if target_label else target_label,
        reason=reason[:500] if reason else reason,
        community_id=community_id,
        ip=ip[:64] if ip else ip,
        detail=detail,
    )
    session.add(entry)


@dataclass(frozen=True)
class AuditTarget:
    """One object of a bulk change, for `record_audits`."""

    target_id: int | str
    target_label: str | None
    community_id: int | None
    detail: dict[str, Any] | None = None


def record_audits(
    session: Session, *, actor: Principal, action: str, target_type: str, targets: Sequence[AuditTarget]
) -> None:
    """One audit row per target, as `record_audit` writes them, inserted in one batched statement (an
    import of a hundred thousand residents audits each one)."""
    at = utcnow()
    fallback = min(actor.community_ids) if actor.community_ids else None
    rows = [
        {
            "at": at,
            "actor_user_id": actor.user_id,
            "actor_name": actor.username[:64],
            "actor_role": actor.role.value,
            "action": action,
            "target_type": target_type,
            "target_id": str(target.target_id)[:64],
            "target_label": target.target_label[:128] if target.target_label else target.target_label,
            "reason": None,
            "community_id": target.community_id if target.community_id is not None else fallback,
            "ip": None,
            "detail": target.detail,
        }
        for target in targets
    ]
    if rows:
        session.connection().execute(insert(table_of(AuditEntry)), rows)


def search_audit(
    session: Session, *, actor: Principal, criteria: AuditFilter, params: PageParams
) -> Page[AuditOut]:
    """Audit rows matching the filter, newest first (admins only, their communities only)."""
    policies.require_audit_reader(actor)
    query = repository.audit_query(criteria, policies.visible_communities(actor))
    rows = session.scalars(query.offset(params.offset).limit(params.size)).all()
    return Page[AuditOut](
        items=[AuditOut.model_validate(r) for r in rows],
        total=repository.count(session, query),
        page=params.page,
        size=params.size,
    )


AUDIT_EXPORT_LIMIT = 100_000


def audit_rows_for_export(session: Session, *, actor: Principal, criteria: AuditFilter) -> list[AuditOut]:
    """Every matching row (up to the export limit) for a spreadsheet; the export itself is audited."""
    policies.require_audit_reader(actor)
    query = repository.audit_query(criteria, policies.visible_communities(actor))
    if repository.count(session, query) > AUDIT_EXPORT_LIMIT:
        raise Invalid(
            "匹配的审计记录超过 {limit} 条，请缩小时间范围后再导出", field="since", limit=AUDIT_EXPORT_LIMIT
        )
    rows = [AuditOut.model_validate(r) for r in session.scalars(query)]
    record_audit(
        session,
        actor=actor,
        action="audit.export",
        target_type="audit_log",
        detail={"rows": len(rows), "filter": criteria.model_dump(mode="json", exclude_none=True)},
    )
    return rows
