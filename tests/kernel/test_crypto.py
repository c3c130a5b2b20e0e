"""Field encryption round-trips, binds to its context and never shows the plaintext."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiayuan.kernel.crypto import DecryptionError, PiiVault, mask_id_number, mask_phone

VAULT = PiiVault.from_secret("unit-test-secret-0123456789")


@given(st.text(min_size=1, max_size=40))
def test_encrypt_round_trip(value: str) -> None:
    token = VAULT.encrypt(value, context="residents.id_number")
    assert token.startswith("g1:") and token != value
    assert VAULT.decrypt(token, context="residents.id_number") == value


def test_wrong_key_or_context_cannot_open() -> None:
    token = VAULT.encrypt("410181199003071234", context="a")
    with pytest.raises(DecryptionError):
        VAULT.decrypt(token, context="b")
    with pytest.raises(DecryptionError):
        PiiVault.from_secret("another-secret-0123456789").decrypt(token, context="a")


def test_lookup_hash_is_keyed_and_stable() -> None:
    other = PiiVault.from_secret("another-secret-0123456789")
    assert VAULT.lookup_hash("x") == VAULT.lookup_hash("x")
    assert VAULT.lookup_hash("x") != other.lookup_hash("x")


def test_masks() -> None:
    assert mask_id_number("410181199003071234") == "4101**********1234"
    assert mask_phone("13812345678") == "138****5678"
