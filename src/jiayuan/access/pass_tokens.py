"""E-pass tokens `JY1.<payload>.<signature>` (DESIGN.md §3): Ed25519 over canonical JSON, no database."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic_core import from_json

PREFIX = "JY1"
MAX_TOKEN_LENGTH = 2048


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Inverse of `b64url`; raises ValueError on anything else."""
    if not text or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text
    ):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def canonical(claims: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8."""
    return json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Claims:
    """What a pass says: key id, kind, person/visitor, household, compounds, times, nonce."""

    k: str
    t: Literal["r", "v"]
    p: int
    h: int
    c: tuple[int, ...]
    iat: int
    exp: int
    n: str

    def as_dict(self) -> dict[str, Any]:
        """The payload's JSON object."""
        return {"k": self.k, "t": self.t, "p": self.p, "h": self.h, "c": list(self.c), "iat": self.iat,
                "exp": self.exp, "n": self.n}  # fmt: skip


class Signer:
    """The platform's pass key, derived from JIAYUAN_PASS_SIGNING_KEY and a key id."""

    def __init__(self, secret: str, key_id: str = "k1") -> None:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jiayuan-pass", info=key_id.encode()).derive(
            secret.encode("utf-8")
        )
        self.key_id = key_id
        self._private = Ed25519PrivateKey.from_private_bytes(seed)

    def public_key_b64(self) -> str:
        """The raw 32-byte public key, base64url (what the `keys` command carries)."""
        return b64url(self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def public_keys(self) -> dict[str, str]:
        """Key id → public key for verifiers."""
        return {self.key_id: self.public_key_b64()}

    def sign(
        self,
        *,
        kind: Literal["r", "v"],
        person: int,
        household: int,
        compounds: list[int],
        iat: int,
        exp: int,
        nonce: str | None = None,
    ) -> tuple[str, Claims]:
        """A fresh token; the nonce is random unless given (the simulator replays a seed)."""
        nonce = nonce or secrets.token_hex(8)
        claims = Claims(self.key_id, kind, person, household, tuple(sorted(compounds)), iat, exp, nonce)
        payload = canonical(claims.as_dict())
        return f"{PREFIX}.{b64url(payload)}.{b64url(self._private.sign(payload))}", claims


@lru_cache(maxsize=8)
def signer_for(secret: str, key_id: str) -> Signer:
    """The signer of a configured secret (derived once per process)."""
    return Signer(secret, key_id)


class BadPass(ValueError):
    """A token that is malformed or whose signature does not verify."""


def verify(token: str, public_keys: dict[str, str]) -> Claims:
    """Check format and signature (what a gate reader does offline); raises BadPass."""
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise BadPass("通行码过长")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise BadPass("不是家园通行码")
    try:
        payload, signature = unb64url(parts[1]), unb64url(parts[2])
        # Not json.loads: a scanned code nesting arrays a thousand deep would raise RecursionError.
        data = from_json(payload)
    except ValueError as exc:
        raise BadPass("通行码格式错误") from exc
    if not isinstance(data, dict) or set(data) != {"k", "t", "p", "h", "c", "iat", "exp", "n"}:
        raise BadPass("通行码内容不完整")
    key = public_keys.get(str(data["k"]))
    if key is None:
        raise BadPass("未知的密钥编号")
    try:
        Ed25519PublicKey.from_public_bytes(unb64url(key)).verify(signature, payload)
    except (InvalidSignature, ValueError) as exc:
        raise BadPass("签名无效") from exc
    try:
        compounds = tuple(int(c) for c in data["c"])
        if data["t"] not in ("r", "v"):
            raise ValueError("kind")
        return Claims(str(data["k"]), data["t"], int(data["p"]), int(data["h"]), compounds, int(data["iat"]),
                      int(data["exp"]), str(data["n"]))  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise BadPass("通行码字段类型错误") from exc
