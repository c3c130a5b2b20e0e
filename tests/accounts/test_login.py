"""Passwords, throttling and lockout: per username and address, per address, per username; in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import passwords
from jiayuan.accounts.models import AuditEntry, LoginThrottle, User
from jiayuan.accounts.schemas import LoginPolicy
from jiayuan.accounts.service import logins, users
from jiayuan.db.session import make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.principal import Principal, Role
from tests.factories import PASSWORD, make_user

POLICY = LoginPolicy(
    slowdown_after=2, lock_after=4, lock_minutes=15, address_lock_after=10, account_slowdown_after=50
)
# No slowdown, so a test can fail in a row without rewinding the clock.
FAST = LoginPolicy(
    slowdown_after=100, lock_after=4, lock_minutes=15, address_lock_after=10, account_slowdown_after=100
)


def attempt(
    sessions: sessionmaker[Session],
    password: str,
    username: str = "liuying",
    ip: str = "10.0.0.9",
    policy: LoginPolicy = POLICY,
) -> Principal | logins.LoginRefused:
    with unit_of_work(sessions) as session:
        return logins.authenticate(session, username=username, password=password, policy=policy, ip=ip)


def rewind_failures(sessions: sessionmaker[Session], seconds: int = 3600) -> None:
    with unit_of_work(sessions) as session:
        for row in session.scalars(select(LoginThrottle)):
            row.last_failed_at -= timedelta(seconds=seconds)


def answer(outcome: Principal | logins.LoginRefused) -> tuple[int, str, int | None]:
    assert isinstance(outcome, logins.LoginRefused)
    return outcome.status, outcome.message, outcome.retry_after


def test_good_password_signs_in_and_is_audited(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF, scopes=["community:7"])
    outcome = attempt(sessions, PASSWORD)
    assert isinstance(outcome, Principal)
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


def test_failures_from_one_address_slow_down_then_lock_there_and_the_lock_runs_out(
    sessions: sessionmaker[Session],
) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    assert answer(attempt(sessions, "wrong-1"))[0] == 401
    status, message, _ = answer(attempt(sessions, "wrong-2"))
    assert status == 401 and "再错 2 次将在当前网络地址锁定 15 分钟" in message

    # Slowed: the next try comes too soon and is refused without even checking the password.
    assert answer(attempt(sessions, PASSWORD)) == (429, "登录失败次数过多，请 1 秒后再试", 1)

    rewind_failures(sessions)
    assert answer(attempt(sessions, "wrong-3"))[0] == 401
    rewind_failures(sessions)
    status, message, retry = answer(attempt(sessions, "wrong-4"))
    assert status == 429 and "在当前网络地址已锁定至" in message and "北京时间" in message
    assert retry is not None and 14 * 60 < retry <= 15 * 60

    # Locked: even the right password is refused from this address until the lock runs out.
    rewind_failures(sessions)
    assert "已锁定至" in answer(attempt(sessions, PASSWORD))[1]

    with unit_of_work(sessions) as session:
        pair = session.scalars(select(LoginThrottle).where(LoginThrottle.kind == "pair")).one()
        assert pair.failures == 4 and pair.locked_until is not None
        pair.locked_until = utcnow() - timedelta(seconds=1)
    assert isinstance(attempt(sessions, PASSWORD), Principal)
    with sessions() as session:
        kinds = set(session.scalars(select(LoginThrottle.kind)))
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "pair" not in kinds  # a success forgets that address's failures for the account
    assert actions.count("login.locked") == 1
    assert actions[-1] == "login.success"


def test_a_lock_survives_a_new_session_factory(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    for _ in range(4):
        attempt(sessions, "wrong", policy=FAST)
    # A fresh sessionmaker stands in for a restarted process: the lock is read from the table.
    fresh = make_sessionmaker(sessions.kw["bind"])
    assert answer(attempt(fresh, PASSWORD))[0] == 429


def test_an_attacker_locks_only_their_own_address_out_of_the_account(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    for _ in range(6):
        attempt(sessions, "guess", ip="203.0.113.5", policy=FAST)
    assert answer(attempt(sessions, PASSWORD, ip="203.0.113.5", policy=FAST))[0] == 429
    # The owner at the office desk is not locked out.
    assert isinstance(attempt(sessions, PASSWORD, ip="192.0.2.20", policy=FAST), Principal)


def test_many_guesses_on_one_account_from_many_addresses_only_slow_it_briefly(
    sessions: sessionmaker[Session],
) -> None:
    policy = LoginPolicy(slowdown_after=100, lock_after=100, address_lock_after=100, account_slowdown_after=3)
    make_user(sessions, "liuying", Role.STAFF)
    for n in range(6):
        attempt(sessions, "guess", ip=f"203.0.113.{n}", policy=policy)
    status, _, retry = answer(attempt(sessions, PASSWORD, ip="192.0.2.20", policy=policy))
    assert status == 429 and retry is not None and retry <= 10
    rewind_failures(sessions, seconds=11)
    assert isinstance(attempt(sessions, PASSWORD, ip="192.0.2.20", policy=policy), Principal)


def test_an_address_guessing_many_usernames_is_locked(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    for n in range(10):
        attempt(sessions, "123456", username=f"user{n}", ip="203.0.113.5", policy=FAST)
    status, message, _ = answer(attempt(sessions, PASSWORD, ip="203.0.113.5", policy=FAST))
    assert status == 429 and "此网络地址登录失败次数过多" in message
    # Other addresses are unaffected.
    assert isinstance(attempt(sessions, PASSWORD, ip="192.0.2.20", policy=FAST), Principal)
    with sessions() as session:
        locked = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.locked")).one()
    assert (locked.target_type, locked.target_label) == ("address", "203.0.113.5")


class Work:
    """What one login attempt costs: Argon2 checks and SQL statements."""

    def __init__(self) -> None:
        self.checks = 0
        self.statements: list[str] = []


@pytest.fixture
def work(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    counted = Work()
    real_verify = passwords.verify_password

    def verify(password_hash: str, password: str) -> bool:
        counted.checks += 1
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", verify)
    engine = sessions.kw["bind"]

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        counted.statements.append(sql.split()[0].upper())

    event.listen(engine, "before_cursor_execute", statement)
    yield counted
    event.remove(engine, "before_cursor_execute", statement)


def test_unknown_and_known_usernames_get_the_same_answers_for_the_same_work(
    sessions: sessionmaker[Session], work: Work
) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    make_user(sessions, "nopass", Role.DEVICE, password=None)
    gone = make_user(sessions, "gone", Role.STAFF)
    with unit_of_work(sessions) as session:
        users.deactivate_user(session, actor=Principal.system(), user_id=gone)

    def run(username: str, ip: str) -> tuple[list[tuple[int, str]], list[tuple[int, list[str]]]]:
        answers, costs = [], []
        for _ in range(6):
            work.checks, work.statements = 0, []
            status, message, _ = answer(
                attempt(sessions, "wrong-guess", username=username, ip=ip, policy=FAST)
            )
            answers.append((status, message.split("（")[0]))
            costs.append((work.checks, work.statements))
        return answers, costs

    known = run("liuying", "198.51.100.1")
    for index, name in enumerate(["ghost", "nopass", "gone"]):
        assert run(name, f"198.51.100.{index + 2}") == known, name
    # The answers themselves: the generic refusal, the warning, then the lock, whoever the name is.
    assert [a[0] for a in known[0]] == [401, 401, 401, 429, 429, 429]
    assert known[0][0][1] == "用户名或密码错误；再错 3 次将在当前网络地址锁定 15 分钟"
    assert [c[0] for c in known[1]] == [1, 1, 1, 1, 0, 0]


def test_admins_see_and_lift_locks_within_their_scope(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    for _ in range(4):
        attempt(sessions, "guess", ip="203.0.113.5", policy=FAST)
        attempt(sessions, "guess", username="ghost", ip="203.0.113.6", policy=FAST)
    for n in range(10):
        attempt(sessions, "guess", username=f"u{n}", ip="203.0.113.7", policy=FAST)

    def admin(name: str, scopes: list[str]) -> Principal:
        user_id = make_user(sessions, name, Role.ADMIN, scopes=scopes)
        with sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            return users.principal_of(user)

    mine, other, district = admin("boss1", ["community:1"]), admin("boss2", ["community:2"]), admin("qu", [])
    with sessions() as session:
        seen = {
            name: {(lock.username, lock.ip) for lock in logins.list_lockouts(session, actor=who)}
            for name, who in (("mine", mine), ("other", other), ("district", district))
        }
    assert ("liuying", "203.0.113.5") in seen["mine"]
    assert ("liuying", "203.0.113.5") not in seen["other"]
    # A guessed username nobody has is shown only to admins of the whole installation.
    assert ("ghost", "203.0.113.6") not in seen["mine"] and ("ghost", "203.0.113.6") in seen["district"]
    # An address lock names no one: every admin may lift it.
    assert all((None, "203.0.113.7") in s for s in seen.values())

    with sessions() as session:
        pair_id = next(lock.id for lock in logins.list_lockouts(session, actor=mine) if lock.username)
    with unit_of_work(sessions) as session, pytest.raises(NotFound):
        logins.lift_lockout(session, actor=other, lockout_id=pair_id)
    with unit_of_work(sessions) as session:
        logins.lift_lockout(session, actor=mine, lockout_id=pair_id)
    assert isinstance(attempt(sessions, PASSWORD, ip="203.0.113.5", policy=FAST), Principal)
    with sessions() as session:
        unlock = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.unlock")).one()
    assert (unlock.actor_name, unlock.target_label) == ("boss1", "liuying")


def test_an_old_hash_is_upgraded_on_sign_in(sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    with sessions() as session:
        old_hash = session.scalars(select(User.password_hash)).one()
    passwords.configure(time_cost=2, memory_kib=2048)
    assert passwords.needs_rehash(old_hash or "")
    assert isinstance(attempt(sessions, PASSWORD), Principal)
    with sessions() as session:
        new_hash = session.scalars(select(User.password_hash)).one()
    assert new_hash != old_hash and new_hash is not None
    assert "m=2048,t=2" in new_hash
    assert not passwords.needs_rehash(new_hash)
