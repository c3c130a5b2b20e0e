"""Use cases of the accounts domain: users, principals and the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import passwords
from jiayuan.accounts.models import AuditEntry, User, UserScope
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid
from jiayuan.kernel.principal import Principal, Role


def create_user(
    session: Session,
    *,
    actor: Principal,
    username: str,
    display_name: str,
    role: Role,
    password: str | None = None,
    scopes: Iterable[tuple[ScopeKind, int]] = (),
) -> User:
    """Add a user with a role and scope; only admins (and the system) may."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("只有管理员可以添加用户")
    username = username.strip()
    if not username:
        raise Invalid("用户名不能为空", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", field="username")
    if password is not None and len(password) < 8:
        raise Invalid("密码至少 8 位", field="password")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        password_hash=passwords.hash_password(password) if password else None,
        scopes=[UserScope(kind=kind.value, ref_id=ref_id) for kind, ref_id in scopes],
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
        detail={"role": role.value, "scopes": [[k.value, i] for k, i in scopes]},
    )
    return user


def principal_of(user: User) -> Principal:
    """The principal a signed-in user acts as."""

    def ids(kind: ScopeKind) -> frozenset[int]:
        return frozenset(s.ref_id for s in user.scopes if s.kind == kind.value)

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
) -> AuditEntry:
    """Append one audit row in the caller's transaction (so it exists exactly when the change does)."""
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor_name=actor.username,
        actor_role=actor.role.value,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        target_label=target_label,
        reason=reason,
        community_id=community_id,
        ip=ip,
        detail=detail,
    )
    session.add(entry)
    return entry
