"""Passwords, throttling and lockout, kept in the users table."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import passwords, service
from jiayuan.accounts.models import AuditEntry, User
from jiayuan.accounts.schemas import LoginPolicy
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from tests.integration.accounts.helpers import PASSWORD, make_user

POLICY = LoginPolicy(slowdown_after=2, lock_after=4, lock_minutes=15, session_hours=12)


def attempt(
    sessions: sessionmaker[Session], password: str, username: str = "liuying"
) -> User | service.LoginRefused:
    with unit_of_work(sessions) as session:
        return service.authenticate(
            session, username=username, password=password, policy=POLICY, ip="10.0.0.9"
        )


def rewind_last_failure(sessions: sessionmaker[Session], seconds: int = 3600) -> None:
    with unit_of_work(sessions) as session:
        user = session.scalars(select(User)).one()
        assert user.last_failed_login_at is not None
        user.last_failed_login_at -= timedelta(seconds=seconds)


def test_good_password_signs_in_and_is_audited(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF, scopes=["community:7"])
    outcome = attempt(sessions, PASSWORD)
    assert isinstance(outcome, User)
    with sessions() as session:
        user = session.scalars(select(User)).one()
        assert user.last_login_at is not None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.success")).one()
        assert (entry.actor_name, entry.target_id, entry.community_id, entry.ip) == (
            "liuying",
            str(user.id),
            7,
            "10.0.0.9",
        )


def test_failures_slow_down_then_lock_and_the_lock_runs_out(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    first = attempt(sessions, "wrong-1")
    assert isinstance(first, service.LoginRefused) and first.status == 401
    second = attempt(sessions, "wrong-2")
    assert isinstance(second, service.LoginRefused) and second.status == 401
    assert "再错 2 次账户将锁定 15 分钟" in second.message

    # Slowed: the next try comes too soon and is refused without even checking the password.
    hasty = attempt(sessions, PASSWORD)
    assert isinstance(hasty, service.LoginRefused)
    assert hasty.status == 429 and hasty.retry_after == 1
    assert "秒后再试" in hasty.message

    rewind_last_failure(sessions)
    assert isinstance(attempt(sessions, "wrong-3"), service.LoginRefused)
    rewind_last_failure(sessions)
    locked = attempt(sessions, "wrong-4")
    assert isinstance(locked, service.LoginRefused) and locked.status == 429
    assert "账户已锁定至" in locked.message and "北京时间" in locked.message
    assert locked.retry_after is not None and 14 * 60 < locked.retry_after <= 15 * 60

    # Locked: even the right password is refused until the lock runs out.
    rewind_last_failure(sessions)
    still = attempt(sessions, PASSWORD)
    assert isinstance(still, service.LoginRefused) and "账户已锁定至" in still.message

    with unit_of_work(sessions) as session:
        user = session.scalars(select(User)).one()
        assert user.failed_logins == 4
        assert user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
    assert isinstance(attempt(sessions, PASSWORD), User)
    with sessions() as session:
        user = session.scalars(select(User)).one()
        assert (user.failed_logins, user.locked_until, user.last_failed_login_at) == (0, None, None)
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("user.locked") == 1
    assert actions[-1] == "login.success"


def test_a_lock_survives_a_new_session_factory(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    for _ in range(4):
        attempt(sessions, "wrong")
        rewind_last_failure(sessions)
    # A fresh sessionmaker stands in for a restarted process: the lock is read from the table.
    from jiayuan.db.session import make_sessionmaker

    fresh = make_sessionmaker(sessions.kw["bind"])
    refused = attempt(fresh, PASSWORD)
    assert isinstance(refused, service.LoginRefused) and refused.status == 429


def test_unknown_and_inactive_users_get_the_generic_answer(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "nopass", Role.DEVICE, password=None)
    for name in ("ghost", "nopass", "", "x" * 500):
        refused = attempt(sessions, "whatever", username=name)
        assert isinstance(refused, service.LoginRefused)
        assert (refused.status, refused.message) == (401, "用户名或密码错误")
    with sessions() as session:
        reasons = [
            e.detail["reason"] for e in session.scalars(select(AuditEntry)) if e.action == "login.failed"
        ]
    assert reasons == ["unknown_user", "no_password", "unknown_user", "unknown_user"]


def test_an_old_hash_is_upgraded_on_sign_in(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    with sessions() as session:
        old_hash = session.scalars(select(User.password_hash)).one()
    passwords.configure(time_cost=2, memory_kib=2048)
    assert passwords.needs_rehash(old_hash or "")
    assert isinstance(attempt(sessions, PASSWORD), User)
    with sessions() as session:
        new_hash = session.scalars(select(User.password_hash)).one()
    assert new_hash != old_hash and new_hash is not None
    assert "m=2048,t=2" in new_hash
    assert not passwords.needs_rehash(new_hash)
