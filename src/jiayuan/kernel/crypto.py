"""Personal-data protection: AES-GCM field encryption, keyed lookup hashes, masking.

One secret (JIAYUAN_PII_KEY) is stretched with HKDF into separate keys for encryption and for
hashing, so a leaked lookup hash never helps decrypt and the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_CIPHER_PREFIX = "g1:"


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jiayuan", info=purpose).derive(
        secret.encode("utf-8")
    )


class DecryptionError(ValueError):
    """Stored ciphertext that this key cannot open (wrong key or tampered data)."""


@dataclass(frozen=True)
class PiiVault:
    """Encrypts, decrypts and hashes personal data fields with keys derived from one secret."""

    encryption_key: bytes
    hash_key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> PiiVault:
        """Derive both keys from the configured PII secret."""
        return cls(_derive(secret, b"pii-encryption"), _derive(secret, b"pii-lookup-hash"))

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """AES-GCM with a random 96-bit nonce; `context` binds the value to its column."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.encryption_key).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return _CIPHER_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Open a value made by `encrypt` with the same context."""
        if not token.startswith(_CIPHER_PREFIX):
            raise DecryptionError("not an encrypted value")
        raw = base64.urlsafe_b64decode(token[len(_CIPHER_PREFIX) :])
        try:
            plain = AESGCM(self.encryption_key).decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag as exc:
            raise DecryptionError("wrong key or tampered value") from exc
        return plain.decode("utf-8")

    def lookup_hash(self, value: str) -> str:
        """Keyed hash (HMAC-SHA256) used to find a row by an exact value without storing it."""
        return hmac.new(self.hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_id_number(id_number: str) -> str:
    """`410181199003071234` → `4101**********1234`."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """`刘莹` → `刘*`, `欧阳娜娜` → `欧***` (for the masked police feed)."""
    return name[:1] + "*" * (len(name) - 1) if name else name
