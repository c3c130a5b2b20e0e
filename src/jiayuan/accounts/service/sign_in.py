"""Residents sign in on /h5 with the mobile number the registry holds for them and a one-time code.

Accounts sits below the registry and the outbox, so the caller hands in three things: `keyed` (the PII
vault's keyed hash), `find` (who in the registry holds a number) and `send` (put the code in the
outbox). Asking for a code gets the same answer, the same stored row and the same counters whether or
not the number is registered: only the outbox message differs, which the caller cannot see. A code
lives `valid_minutes`, is kept only as a keyed hash and allows `max_tries` guesses; sending is
throttled per number and per address with the login throttle table (keys of their own kinds).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from jiayuan.accounts import repository
from jiayuan.accounts.models import LoginThrottle, SignInCode, User
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.logins import throttle_address
from jiayuan.accounts.service.users import create_user, signed_in
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, JiayuanError, TooManyRequests
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.phones import FULL_WIDTH, mobile_or_none
from jiayuan.kernel.principal import Principal, Role

_CODE = re.compile(r"^\d{6}$", re.ASCII)
_WINDOW = timedelta(hours=1)
_DAY = timedelta(hours=24)
TOO_MANY_WRONG = N_("今天验证码输错次数过多，请明天再试，或请社区工作人员协助登录")
# What anyone is told after asking for a code, registered or not.
CODE_SENT = N_(
    "如该手机号已在社区登记，验证码已发出（5 分钟内有效）。没有收到请联系社区工作人员核对登记的手机号。"
)
WRONG_CODE = N_("验证码不正确或已过期，请重新输入或重新获取")


@dataclass(frozen=True)
class CodePolicy:
    """How long a code lives, how many guesses it allows, how often codes may be sent."""

    valid_minutes: int = 5
    max_tries: int = 5
    resend_after_s: int = 60
    per_phone_per_hour: int = 5
    per_address_per_hour: int = 20
    # Wrong codes a number may take in a day, over all its codes: 5 tries × 5 codes an hour would
    # otherwise allow 600 guesses a day at one resident's account.
    wrong_per_day: int = 10


@dataclass(frozen=True)
class PhoneHolder:
    """The registered resident a mobile number belongs to: the person, their household and community."""

    person_id: int
    household_id: int
    community_id: int
    name: str


class FindHolder(Protocol):
    """The resident (not moved out) registered with this mobile number, or None."""

    def __call__(self, phone: str) -> PhoneHolder | None: ...


class SendCode(Protocol):
    """Put the code in the outbox for the number's holder (SMS, or the console in the demo)."""

    def __call__(self, holder: PhoneHolder, phone: str, code: str) -> None: ...


class CodeRefused(JiayuanError):
    """A code that did not sign anyone in; returned (not raised) so the caller commits the tries."""

    def __init__(self, message: str, *, status: int = 401, **params: object) -> None:
        super().__init__(message, field="code", **params)
        self.status = status


def normalise_mobile(raw: str) -> str:
    """`+86 138-1234-5678` (full-width digits too) → `13812345678`, as the registry stores it; Invalid
    (field `phone`) for anything but a mainland mobile."""
    phone = mobile_or_none(raw or "")
    if phone is None:
        raise Invalid("请输入 11 位手机号码（如 13812345678）", field="phone")
    return phone


def request_code(
    session: Session,
    *,
    phone: str,
    ip: str | None,
    keyed: Callable[[str], str],
    find: FindHolder,
    send: SendCode,
    policy: CodePolicy,
    now: datetime | None = None,
) -> str:
    """Make and (for a registered number) send a new code; what to tell the person (always the same)."""
    now = now or utcnow()
    phone = normalise_mobile(phone)
    phone_hash = keyed(phone)
    address = throttle_address(ip)
    counters = [
        (_counter(session, f"code-phone:{phone_hash}", "code_phone", None, now), policy.per_phone_per_hour),
        (_counter(session, f"code-addr:{address}", "code_addr", address, now), policy.per_address_per_hour),
    ]
    if _wrong_today(session, phone_hash, now).failures >= policy.wrong_per_day:
        raise TooManyRequests(TOO_MANY_WRONG, field="phone")
    wait = _send_wait(counters[0][0], now, policy.resend_after_s)
    for row, limit in counters:
        if row.failures >= limit:
            wait = max(wait, int((row.last_failed_at + _WINDOW - now).total_seconds() + 0.999))
    if wait > 0:
        if wait < 120:
            raise TooManyRequests("获取验证码过于频繁，请 {seconds} 秒后再试", field="phone", seconds=wait)
        raise TooManyRequests(
            "获取验证码过于频繁，请 {minutes} 分钟后再试", field="phone", minutes=(wait + 59) // 60
        )
    for row, _limit in counters:
        row.failures += 1
        row.last_failed_at = now
    code = f"{secrets.randbelow(10**6):06d}"
    repository.delete_expired_codes(session, now)
    stored = repository.sign_in_code(session, phone_hash)
    if stored is None:
        stored = SignInCode(phone_hash=phone_hash)
        session.add(stored)
    stored.code_hash = keyed(f"sign-in-code:{phone}:{code}")
    stored.sent_at = now
    stored.expires_at = now + timedelta(minutes=policy.valid_minutes)
    stored.tries = 0
    holder = find(phone)
    if holder is not None:
        send(holder, phone, code)
    session.flush()
    return CODE_SENT


def _counter(
    session: Session, key: str, kind: str, ip: str | None, now: datetime, window: timedelta = _WINDOW
) -> LoginThrottle:
    row = repository.claim_throttle(session, key=key, kind=kind, username=None, ip=ip)
    if now - row.last_failed_at > window:
        row.failures = 0
    return row


def _wrong_today(session: Session, phone_hash: str, now: datetime) -> LoginThrottle:
    """The wrong codes typed for a number in the last day, whatever code they were meant for."""
    return _counter(session, f"code-wrong:{phone_hash}", "code_wrong", None, now, window=_DAY)


def _send_wait(row: LoginThrottle, now: datetime, resend_after_s: int) -> int:
    if row.failures == 0:
        return 0
    ready = row.last_failed_at + timedelta(seconds=resend_after_s)
    return int((ready - now).total_seconds() + 0.999) if ready > now else 0


def sign_in_with_code(
    session: Session,
    *,
    phone: str,
    code: str,
    ip: str | None,
    keyed: Callable[[str], str],
    find: FindHolder,
    policy: CodePolicy,
    now: datetime | None = None,
) -> Principal | CodeRefused:
    """Check a code; the resident's principal (their account made on first sign-in), or the refusal.

    A wrong code counts a try; after `max_tries` the code is spent and a new one must be asked for.
    """
    now = now or utcnow()
    phone = normalise_mobile(phone)
    code = (code or "").strip().translate(FULL_WIDTH)
    if not _CODE.match(code):
        raise Invalid("请输入短信中的 6 位数字验证码", field="code")
    wrong = _wrong_today(session, keyed(phone), now)
    if wrong.failures >= policy.wrong_per_day:
        return CodeRefused(TOO_MANY_WRONG, status=429)
    row = repository.sign_in_code(session, keyed(phone))
    if row is None or row.expires_at <= now or row.tries >= policy.max_tries:
        return CodeRefused(WRONG_CODE)
    if not secrets.compare_digest(row.code_hash, keyed(f"sign-in-code:{phone}:{code}")):
        wrong.failures += 1
        wrong.last_failed_at = now
        row.tries += 1
        left = policy.max_tries - row.tries
        if left <= 0:
            session.delete(row)
            return CodeRefused("验证码错误次数过多，请重新获取验证码", status=429)
        return CodeRefused("验证码不正确，还可以再试 {left} 次", left=left)
    session.delete(row)
    holder = find(phone)
    if holder is None:  # moved out since the code was sent (an unregistered number never gets one)
        return CodeRefused(WRONG_CODE)
    user = _resident_account(session, holder)
    if user is None:
        return CodeRefused("您的居民账号已停用，请联系社区工作人员", status=403)
    return signed_in(session, user, ip=ip, method="sms_code")


def _resident_account(session: Session, holder: PhoneHolder) -> User | None:
    """The resident account bound to this person, made (role resident, scoped to their household and
    person, in their community) when there is none; None when it exists but is switched off."""
    accounts = repository.users_holding(session, ScopeKind.PERSON, holder.person_id, Role.RESIDENT.value)
    active = [u for u in accounts if u.is_active]
    if active:
        return active[0]
    if accounts:
        return None
    username = f"resident-{holder.person_id}"
    while repository.user_by_username(session, username) is not None:
        username = f"resident-{holder.person_id}-{secrets.token_hex(2)}"
    made = create_user(
        session,
        actor=Principal.system(),
        username=username,
        display_name=holder.name,
        role=Role.RESIDENT,
        scopes=[
            (ScopeKind.COMMUNITY, holder.community_id),
            (ScopeKind.HOUSEHOLD, holder.household_id),
            (ScopeKind.PERSON, holder.person_id),
        ],
    )
    return repository.user_by_id(session, made.id)
