"""Use cases of users: create, list, find, deactivate, a person's mobile, passwords and unlocks, and the
principal an account acts as."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from jiayuan.accounts import passwords, policies, repository
from jiayuan.accounts.models import User, UserScope
from jiayuan.accounts.schemas import USERNAME_PATTERN, MobileIn, ScopeKind, UserOut, parse_scope
from jiayuan.accounts.service.audit import record_audit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_phone
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.phones import mobile_or_none
from jiayuan.kernel.principal import Principal, Role
from jiayuan.kernel.scopes import CommunityOf


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


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 suffices (no salt or slow hash needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
