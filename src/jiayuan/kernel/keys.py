"""Keys the platform derives from its secret key: one per purpose, so no use can stand in for another.

- `Sealer` keeps a secret the platform must give back later (a device's MQTT password, which the
  broker needs in clear to hash it its own way) encrypted with AES-GCM.
- `MessageSigner` signs messages between the platform's own processes over the broker (HMAC-SHA256),
  so a client that may publish on the broker cannot forge them.
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


def derive_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from a configured secret with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jiayuan-keys", info=purpose.encode()).derive(
        secret.encode("utf-8")
    )


class UnsealError(ValueError):
    """A sealed value this key cannot open (another secret key, or tampered data)."""


@dataclass(frozen=True)
class Sealer:
    """AES-GCM with a random nonce; `context` binds a sealed value to what it belongs to."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: str, purpose: str) -> Sealer:
        """A sealer whose key is derived from the secret for this purpose."""
        return cls(derive_key(secret, purpose))

    def seal(self, plaintext: str, *, context: str) -> str:
        """The value encrypted, as ASCII text."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unseal(self, sealed: str, *, context: str) -> str:
        """The value sealed with the same key and context; raises UnsealError otherwise."""
        try:
            raw = base64.urlsafe_b64decode(sealed)
            return AESGCM(self.key).decrypt(raw[:12], raw[12:], context.encode()).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise UnsealError("wrong key or tampered value") from exc


@dataclass(frozen=True)
class MessageSigner:
    """`sign` prefixes a body with its HMAC-SHA256 (hex) and a dot; `open` checks and strips it."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: str, purpose: str) -> MessageSigner:
        """A signer whose key is derived from the secret for this purpose."""
        return cls(derive_key(secret, purpose))

    def sign(self, body: bytes) -> bytes:
        """`<hex mac>.<body>`."""
        return hmac.new(self.key, body, hashlib.sha256).hexdigest().encode("ascii") + b"." + body

    def open(self, signed: bytes) -> bytes | None:
        """The body when the signature is right, None when it is missing or wrong."""
        mac, dot, body = signed.partition(b".")
        if not dot or len(mac) != 64:
            return None
        expected = hmac.new(self.key, body, hashlib.sha256).hexdigest().encode("ascii")
        return body if hmac.compare_digest(mac, expected) else None
