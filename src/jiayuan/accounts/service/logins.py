"""Password logins with throttling that tells nothing about which usernames exist.

Failures are counted under three keys, all built from the username as typed so that an unknown
username is counted and answered exactly like a real one:

- `pair`: this username from this address. Slowed after `slowdown_after` failures, locked for
  `lock_minutes` after `lock_after`. Guessing from one address locks that address out of that account,
  never the account's owner at another desk.
- `address`: any username from this address; locked after `address_lock_after` failures, so one
  address cannot try many usernames.
- `account`: this username from any address; only a short slowdown (at most 10 s between attempts)
  after `account_slowdown_after` failures, never a lock the owner would have to wait out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from jiayuan.accounts import passwords, policies, repository
from jiayuan.accounts.models import LoginThrottle, User
from jiayuan.accounts.schemas import LockoutOut, LoginPolicy
from jiayuan.accounts.service.audit import record_audit
from jiayuan.accounts.service.users import signed_in, user_community
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Invalid, JiayuanError, NotFound, TooManyRequests
from jiayuan.kernel.principal import Principal

_MAX_SLOWDOWN_SECONDS = 60
_MAX_ACCOUNT_SLOWDOWN_SECONDS = 10
# A counter with no failure for this long starts again from zero.
_FORGET_AFTER = timedelta(days=1)
UNKNOWN_ADDRESS = "unknown"


def throttle_address(ip: str | None) -> str:
    """The network address a throttle counts under (one for requests that give none)."""
    return (ip or UNKNOWN_ADDRESS)[:64]


class ThrottleKind(StrEnum):
    """What a throttle row counts failures for."""

    PAIR = "pair"
    ADDRESS = "address"
    ACCOUNT = "account"


class LoginRefused(JiayuanError):
    """A refused login; `retry_after` (seconds) is set when waiting helps."""

    def __init__(
        self, message: str, *, status: int, retry_after: int | None = None, **params: object
    ) -> None:
        super().__init__(message, field="password", **params)
        self.status = status
        self.retry_after = retry_after


def _keys(username: str, address: str) -> dict[ThrottleKind, tuple[str, str | None, str | None]]:
    """Each kind's (key, username, address)."""
    return {
        ThrottleKind.PAIR: (f"pair:{address}|{username}", username, address),
        ThrottleKind.ADDRESS: (f"addr:{address}", None, address),
        ThrottleKind.ACCOUNT: (f"acct:{username}", username, None),
    }


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    policy: LoginPolicy,
    ip: str | None = None,
) -> Principal | LoginRefused:
    """Check a password under the throttles; returns who signed in, or the refusal.

    The refusal is returned, not raised, so the caller commits the counters and the audit row. Every
    path does the same work whether or not the username exists: the same lookups, one Argon2 check
    (against a dummy hash when there is no usable password), the same counters and messages.
    """
    user = _check(session, username=username, password=password, policy=policy, ip=ip)
    if isinstance(user, LoginRefused):
        return user
    return signed_in(session, user, ip=ip)


def check_current_password(
    session: Session, *, actor: Principal, password: str, policy: LoginPolicy, ip: str | None = None
) -> JiayuanError | None:
    """Before a password change: the current password, counted by the same throttles as a login (a
    stolen session must not become a way to guess it). Returns the error to raise once the caller has
    committed the counters, or None."""
    checked = _check(session, username=actor.username, password=password, policy=policy, ip=ip)
    if not isinstance(checked, LoginRefused):
        return None
    if checked.status == 429:
        return TooManyRequests(checked.template, field="current_password", **checked.params)
    return Invalid("当前密码不正确", field="current_password")


def _check(
    session: Session, *, username: str, password: str, policy: LoginPolicy, ip: str | None
) -> User | LoginRefused:
    now = utcnow()
    username = username.strip()[:64]
    address = throttle_address(ip)
    keys = _keys(username, address)
    found = repository.throttles_by_key(session, [key for key, _, _ in keys.values()])
    rows = {kind: found.get(key) for kind, (key, _, _) in keys.items()}
    for row in rows.values():
        if row is not None:
            _forget_if_stale(row, now)
    user = repository.user_for_login(session, username)

    refusal = _throttled(rows, now, policy)
    if refusal is not None:
        _audit_failure(session, user, username, ip, reason="throttled")
        return refusal

    if user is not None and user.is_active and user.password_hash is not None:
        ok = passwords.verify_password(user.password_hash, password)
    else:
        passwords.verify_nothing(password)
        ok = False
    if not ok:
        return _count_failure(session, keys, rows, user, username, ip, now, policy)

    assert user is not None and user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if rows[ThrottleKind.PAIR] is not None:
        session.delete(rows[ThrottleKind.PAIR])
    return user


def _forget_if_stale(row: LoginThrottle, now: datetime) -> None:
    lock_over = row.locked_until is not None and row.locked_until <= now
    if lock_over or (row.locked_until is None and now - row.last_failed_at > _FORGET_AFTER):
        row.failures = 0
        row.locked_until = None


def _throttled(
    rows: dict[ThrottleKind, LoginThrottle | None], now: datetime, policy: LoginPolicy
) -> LoginRefused | None:
    address, pair, account = rows[ThrottleKind.ADDRESS], rows[ThrottleKind.PAIR], rows[ThrottleKind.ACCOUNT]
    if address is not None and address.locked_until is not None:
        return _locked_message(address, now)
    if pair is not None and pair.locked_until is not None:
        return _locked_message(pair, now)
    waits = []
    if pair is not None and pair.failures >= policy.slowdown_after:
        waits.append(_wait(pair, pair.failures - policy.slowdown_after, _MAX_SLOWDOWN_SECONDS, now))
    if account is not None and account.failures >= policy.account_slowdown_after:
        excess = account.failures - policy.account_slowdown_after
        waits.append(_wait(account, excess, _MAX_ACCOUNT_SLOWDOWN_SECONDS, now))
    wait = max(waits, default=0)
    if wait > 0:
        return LoginRefused("登录失败次数过多，请 {wait} 秒后再试", status=429, retry_after=wait, wait=wait)
    return None


def _wait(row: LoginThrottle, excess: int, cap: int, now: datetime) -> int:
    """Seconds still to wait: 1, 2, 4 … after the last failure as failures pile up, capped."""
    ready = row.last_failed_at + timedelta(seconds=min(2 ** max(excess, 0), cap))
    return max(1, int((ready - now).total_seconds() + 0.999)) if now < ready else 0


def _locked_message(row: LoginThrottle, now: datetime) -> LoginRefused:
    assert row.locked_until is not None
    wait = max(1, int((row.locked_until - now).total_seconds() + 0.999))
    until = local(row.locked_until).strftime("%Y-%m-%d %H:%M")
    if row.kind == ThrottleKind.ADDRESS:
        return LoginRefused(
            "此网络地址登录失败次数过多，已暂停登录至 {until}（北京时间），请届时再试或联系管理员解除",
            status=429,
            retry_after=wait,
            until=until,
        )
    return LoginRefused(
        "密码错误次数过多，此账户在当前网络地址已锁定至 {until}（北京时间），"
        "请届时再试、换一台设备登录或联系管理员解除",
        status=429,
        retry_after=wait,
        until=until,
    )


def _count_failure(
    session: Session,
    keys: dict[ThrottleKind, tuple[str, str | None, str | None]],
    rows: dict[ThrottleKind, LoginThrottle | None],
    user: User | None,
    username: str,
    ip: str | None,
    now: datetime,
    policy: LoginPolicy,
) -> LoginRefused:
    counted = {}
    for kind, (key, name, address) in keys.items():
        row = rows[kind] or repository.claim_throttle(
            session, key=key, kind=kind.value, username=name, ip=address
        )
        row.failures += 1
        row.last_failed_at = now
        counted[kind] = row
    _audit_failure(session, user, username, ip, reason=_why(user))
    limits = {ThrottleKind.ADDRESS: policy.address_lock_after, ThrottleKind.PAIR: policy.lock_after}
    locked = None
    for kind, limit in limits.items():
        row = counted[kind]
        if row.failures >= limit and row.locked_until is None:
            row.locked_until = now + timedelta(minutes=policy.lock_minutes)
            record_audit(
                session,
                actor=Principal.system(),
                action="login.locked",
                target_type="user" if kind == ThrottleKind.PAIR else "address",
                target_id=user.id if user is not None and kind == ThrottleKind.PAIR else None,
                target_label=row.username if kind == ThrottleKind.PAIR else row.ip,
                community_id=user_community(user) if user is not None else None,
                ip=ip,
                detail={"kind": kind.value, "failures": row.failures, "until": row.locked_until.isoformat()},
            )
            locked = locked or row
    if locked is not None:
        return _locked_message(locked, now)
    left = policy.lock_after - counted[ThrottleKind.PAIR].failures
    if left <= 3:
        return LoginRefused(
            "用户名或密码错误；再错 {left} 次将在当前网络地址锁定 {minutes} 分钟",
            status=401,
            left=left,
            minutes=policy.lock_minutes,
        )
    return LoginRefused("用户名或密码错误", status=401)


def _why(user: User | None) -> str:
    if user is None:
        return "unknown_user"
    if not user.is_active:
        return "inactive"
    return "no_password" if user.password_hash is None else "bad_password"


def _audit_failure(
    session: Session, user: User | None, username: str, ip: str | None, *, reason: str
) -> None:
    record_audit(
        session,
        actor=Principal.system(),
        action="login.failed",
        target_type="user",
        target_id=user.id if user else None,
        target_label=username,
        community_id=user_community(user) if user else None,
        ip=ip,
        detail={"reason": reason},
    )


# ---------------------------------------------------------------- lockouts as admins see them


def list_lockouts(session: Session, *, actor: Principal) -> list[LockoutOut]:
    """Locks in force that the actor may lift, soonest to end first."""
    policies.require_user_admin(actor)
    rows = repository.locked_throttles(session, utcnow())
    owners = repository.users_by_username(session, [r.username for r in rows if r.username])
    return [
        _lockout_out(row, owners.get(row.username or ""))
        for row in rows
        if policies.lockout_visible(
            actor, has_username=row.username is not None, owner=owners.get(row.username or "")
        )
    ]


def lift_lockout(session: Session, *, actor: Principal, lockout_id: int) -> LockoutOut:
    """End one lock early (audited); a lock the actor may not see is 404."""
    policies.require_user_admin(actor)
    row = session.get(LoginThrottle, lockout_id)
    owner = None
    if row is not None and row.username is not None:
        owner = repository.users_by_username(session, [row.username]).get(row.username)
    if row is None or not policies.lockout_visible(actor, has_username=row.username is not None, owner=owner):
        raise NotFound("锁定记录不存在", field="lockout_id")
    out = _lockout_out(row, owner)
    session.delete(row)
    record_audit(
        session,
        actor=actor,
        action="login.unlock",
        target_type="user" if row.username is not None else "address",
        target_id=owner.id if owner is not None else None,
        target_label=row.username or row.ip,
        community_id=user_community(owner) if owner is not None else None,
        detail={"kind": row.kind, "ip": row.ip},
    )
    return out


def _lockout_out(row: LoginThrottle, owner: User | None) -> LockoutOut:
    assert row.locked_until is not None
    return LockoutOut(
        id=row.id,
        kind=row.kind,
        username=row.username,
        user_id=owner.id if owner is not None else None,
        ip=row.ip,
        failures=row.failures,
        locked_until=row.locked_until,
    )
