"""Argon2id password hashing, with parameters from settings (lowered in tests)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jiayuan.kernel.errors import Invalid

_hasher = PasswordHasher()
_dummy: str | None = None

MIN_LENGTH = 8
MAX_LENGTH = 256
# The passwords people pick first (leaked-password lists, Chinese and international); compared casefolded.
COMMON = frozenset(
    [
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "12341234",
        "11223344",
        "123123123",
        "1qaz2wsx",
        "1q2w3e4r",
        "qwertyui",
        "qwerty123",
        "qwerty12",
        "asdfghjk",
        "zxcvbnm123",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "iloveyou",
        "woaini1314",
        "woaini520",
        "5201314520",
        "abc12345",
        "abcd1234",
        "a1234567",
        "a12345678",
        "aa123456",
        "admin123",
        "admin888",
        "administrator",
        "root1234",
        "welcome1",
        "letmein1",
        "changeme",
        "12qwaszx",
        "qazwsxedc",
        "147258369",
        "987654321",
        "abcdefgh",
        "iloveyou1",
        "sunshine",
        "football",
        "jiayuan123",
        "jiayuan2026",
        "zijinglu123",
        "shequ123",
    ]
)


def configure(*, time_cost: int, memory_kib: int) -> None:
    """Set the Argon2 cost once at start-up (settings.argon2_*)."""
    global _hasher, _dummy
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    # Made now, not on the first unknown username, whose answer would otherwise take twice as long.
    _dummy = hash_password(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An Argon2id hash with a random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches; a malformed hash counts as no match."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def verify_nothing(password: str) -> None:
    """The same work as a real check, for a username that has no usable password (timing stays alike)."""
    global _dummy
    if _dummy is None:
        _dummy = hash_password(secrets.token_urlsafe(16))
    verify_password(_dummy, password)


def check_rules(password: str, *, username: str, field: str = "password") -> None:
    """Refuse a password that is short, the username itself, or among the most common ones."""
    if len(password) < MIN_LENGTH:
        raise Invalid("密码至少 {n} 位", field=field, n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise Invalid("密码最多 {n} 位", field=field, n=MAX_LENGTH)
    folded = password.casefold()
    if folded == username.strip().casefold():
        raise Invalid("密码不能与用户名相同", field=field)
    if folded in COMMON or len(set(folded)) <= 2:
        raise Invalid("密码太常见，容易被猜中，请换一个", field=field)
