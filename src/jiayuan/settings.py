"""One settings class for the whole platform, read from JIAYUAN_* environment variables."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jiayuan.kernel.numbers import row_id

# Development defaults: usable by `make demo`, refused when env=production.
DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105
DEV_PII_KEY = "dev-pii-key-change-me"
DEV_PASS_KEY = "dev-pass-signing-seed-change-me"  # noqa: S105

# Shipped inside the package (Apache-2.0, see vision/models/README.md): an installation finds it offline.
PACKAGED_MODEL = Path(__file__).resolve().parent / "vision" / "models" / "yolox_nano.onnx"


class CommunityRobots(BaseModel):
    """One community's own group robots (an entry of JIAYUAN_NOTIFY_COMMUNITY_ROBOTS)."""

    model_config = ConfigDict(extra="forbid")

    wecom: str | None = None
    dingtalk: str | None = None
    dingtalk_secret: str | None = None


class Settings(BaseSettings):
    """Everything configurable, with embedded defaults for development."""

    # Validation errors must never echo a value: the input may be a secret.
    model_config = SettingsConfigDict(
        env_prefix="JIAYUAN_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    mqtt_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    pii_key: SecretStr = SecretStr(DEV_PII_KEY)
    pass_signing_key: SecretStr = SecretStr(DEV_PASS_KEY)
    host: str = "127.0.0.1"
    port: int = 8000

    # Password hashing: Argon2id parameters (lowered in tests to keep them quick).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # Login throttling (docs/accounts.md): a username from one address waits after `slowdown_after`
    # failures and is locked there after `lock_after`; an address is locked after `address_lock_after`
    # failures over any usernames; a username only slows down (≤ 10 s) after `account_slowdown_after`.
    login_slowdown_after: int = Field(default=3, ge=1)
    login_lock_after: int = Field(default=8, ge=1)
    login_lock_minutes: int = Field(default=15, ge=1)
    login_address_lock_after: int = Field(default=30, ge=1)
    login_account_slowdown_after: int = Field(default=20, ge=1)
    session_hours: int = 12
    # Searches by a full ID number or phone (a reveal: reason, audit) one account may make per hour.
    full_number_searches_per_hour: int = Field(default=20, ge=1, le=1000)
    # The longest a user's API token may live; device tokens are not limited.
    api_token_max_days: int = Field(default=90, ge=1, le=3650)

    # Device pipeline (DESIGN.md §3): topics live under `{mqtt_topic_prefix}/v1/devices/…`; a test run
    # may choose its own prefix so parallel runs on one broker never see each other's traffic.
    mqtt_topic_prefix: str = "jiayuan"
    mqtt_client_id: str = "jiayuan-ingest"
    # The largest MQTT packet the broker takes (`jiayuan broker config` writes it as max_packet_size): at
    # least the largest message the protocol accepts, a 512 KiB snapshot, plus 4 KiB for topic and header.
    # Between the protocol's limits and this, a message reaches ingest and is parked as `too_large`;
    # beyond it the broker refuses it and logs the client (docs/brokers.md).
    mqtt_max_packet_bytes: int = Field(default=516 * 1024, ge=516 * 1024, le=256 * 1024**2)  # 512 KiB + 4 KiB
    # Keep Mosquitto's dynamic security plugin in step with device tokens (the account in
    # JIAYUAN_MQTT_URL must hold the jiayuan-platform role; see docs/devices.md). Off for other brokers.
    mqtt_dynsec: bool = True
    # `jiayuan demo` without JIAYUAN_MQTT_URL: the embedded broker's port (another free one when taken).
    embedded_mqtt_port: int = Field(default=1883, ge=1, le=65535)
    ingest_batch_size: int = 500
    ingest_batch_interval_ms: int = 20
    device_event_max_bytes: int = 16384
    device_clock_future_s: int = 300
    device_clock_past_days: int = 7
    device_offline_after_s: int = 120
    # Evidence snapshots devices send (docs/devices.md): kept this many days, and at most this many bytes
    # in all (the oldest go first); the ingest prunes every `snapshot_prune_interval_s`.
    snapshot_retention_days: int = Field(default=30, ge=1, le=3650)
    snapshot_max_bytes: int = Field(default=20 * 1024**3, ge=1024**2)
    snapshot_prune_interval_s: float = Field(default=60.0, gt=0, le=86400)
    pass_validity_s: int = 45
    pass_key_id: str = "k1"  # noqa: S105 - a key id, not a secret

    # Browser-facing limits: how often an open WebSocket or MJPEG stream re-checks its sign-in, how long
    # one MJPEG response lasts (the page reconnects), the request body caps, and the site's public origin
    # (scheme://host[:port]) that WebSocket Origin headers must match besides the request's own Host.
    stream_recheck_s: float = Field(default=20.0, gt=0, le=3600)
    mjpeg_max_s: float = Field(default=600.0, gt=0, le=86400)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=21 * 1024 * 1024, ge=1024)  # a 20 MiB workbook and its form
    # A workbook larger than this is imported in a child process (about 3,500 rows and up), so the web
    # server neither spends its own time on it nor keeps the memory it took.
    import_in_child_bytes: int = Field(default=256 * 1024, ge=0)
    public_origin: str = ""

    # Vision: the pretrained COCO detector (a missing or unreadable file stops the worker with an error).
    vision_model_path: Path = PACKAGED_MODEL

    # Outbound messages (docs/cases.md): group robots that case notices go to, an HTTP SMS provider for
    # the dispatched person; with none configured, messages are shown on the console page 消息.
    # Webhook URLs carry the robot's access token, so they are secrets like the keys.
    notify_wecom_webhook: SecretStr | None = None
    notify_dingtalk_webhook: SecretStr | None = None
    notify_dingtalk_secret: SecretStr | None = None
    # Communities with robots of their own, instead of the two above: a JSON object such as
    # {"12": {"wecom": "https://…", "dingtalk": "https://…", "dingtalk_secret": "SEC…"}}.
    notify_community_robots: SecretStr | None = None
    notify_sms_url: SecretStr | None = None
    # "Header-Name: value", e.g. "Authorization: Bearer …".
    notify_sms_auth: SecretStr | None = None
    # A JSON body whose strings may hold {phone} and {text}; both must appear somewhere.
    notify_sms_body: str = '{"phone": "{phone}", "text": "{text}"}'
    notify_timeout_s: float = Field(default=5.0, gt=0, le=60)
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_backoff_base_s: float = Field(default=5.0, gt=0, le=3600)
    notify_backoff_cap_s: float = Field(default=600.0, gt=0, le=86400)
    # Sent and failed messages are deleted after this many days (pending ones never).
    notify_retention_days: int = Field(default=90, ge=1, le=3650)
    # How long after 结案 the reporter may still reopen a case (closed is not fixed).
    case_reopen_days: int = Field(default=7, ge=1, le=365)

    @model_validator(mode="after")
    def _fill_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'jiayuan.db'}"
        self._check_notify()
        if self.env == "production":
            defaults = {
                "JIAYUAN_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
                "JIAYUAN_PII_KEY": (self.pii_key, DEV_PII_KEY),
                "JIAYUAN_PASS_SIGNING_KEY": (self.pass_signing_key, DEV_PASS_KEY),
            }
            for variable, (value, default) in defaults.items():
                secret = value.get_secret_value()
                weakness = "is the development default" if secret == default else secret_weakness(secret)
                if weakness:
                    # Names the variable and the kind of weakness only, never any part of the value.
                    raise ValueError(
                        f"{variable} {weakness}; production needs a random secret of at least "
                        f"{MIN_SECRET_LENGTH} characters (generate one with: "
                        f"python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                    )
        return self

    def _check_notify(self) -> None:
        """Refuse a provider configuration that could never deliver; names the variable, never its value."""
        for variable, value in (
            ("JIAYUAN_NOTIFY_WECOM_WEBHOOK", self.notify_wecom_webhook),
            ("JIAYUAN_NOTIFY_DINGTALK_WEBHOOK", self.notify_dingtalk_webhook),
            ("JIAYUAN_NOTIFY_SMS_URL", self.notify_sms_url),
        ):
            if value is not None and not re.fullmatch(r"https?://[^\s/]+\S*", value.get_secret_value()):
                raise ValueError(f"{variable} must be an http:// or https:// URL")
        if self.notify_dingtalk_secret is not None and self.notify_dingtalk_webhook is None:
            raise ValueError(
                "JIAYUAN_NOTIFY_DINGTALK_SECRET is set but JIAYUAN_NOTIFY_DINGTALK_WEBHOOK is not"
            )
        if self.notify_dingtalk_webhook is not None and not self.notify_dingtalk_secret:
            raise ValueError("JIAYUAN_NOTIFY_DINGTALK_WEBHOOK needs JIAYUAN_NOTIFY_DINGTALK_SECRET (加签)")
        self.community_robots()
        if self.notify_sms_auth is not None and ":" not in self.notify_sms_auth.get_secret_value():
            raise ValueError('JIAYUAN_NOTIFY_SMS_AUTH must read "Header-Name: value"')
        if self.notify_sms_url is not None:
            self.sms_body_template()
        if self.notify_backoff_cap_s < self.notify_backoff_base_s:
            raise ValueError(
                "JIAYUAN_NOTIFY_BACKOFF_CAP_S must not be less than JIAYUAN_NOTIFY_BACKOFF_BASE_S"
            )

    def community_robots(self) -> dict[int, CommunityRobots]:
        """JIAYUAN_NOTIFY_COMMUNITY_ROBOTS parsed and checked: community id → its robots."""
        variable = "JIAYUAN_NOTIFY_COMMUNITY_ROBOTS"
        if self.notify_community_robots is None:
            return {}
        try:
            raw = json.loads(self.notify_community_robots.get_secret_value())
        except ValueError:
            raise ValueError(f"{variable} is not valid JSON") from None
        if not isinstance(raw, dict):
            raise ValueError(
                f'{variable} must be a JSON object of community ids, e.g. {{"12": {{"wecom": "https://…"}}}}'
            )
        robots: dict[int, CommunityRobots] = {}
        for key, value in raw.items():
            if not (isinstance(key, str) and row_id(key) is not None):
                raise ValueError(f"{variable}: every key must be a community id (a positive whole number)")
            try:
                entry = CommunityRobots.model_validate(value)
            except ValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"]) or "the entry" for e in exc.errors())
                raise ValueError(
                    f"{variable}: community {key}: {fields}: the keys are wecom, dingtalk and "
                    "dingtalk_secret, each a string"
                ) from None
            for name, url in (("wecom", entry.wecom), ("dingtalk", entry.dingtalk)):
                if url is not None and not re.fullmatch(r"https?://[^\s/]+\S*", url):
                    raise ValueError(
                        f"{variable}: community {key}: {name} must be an http:// or https:// URL"
                    )
            if (entry.dingtalk is None) != (entry.dingtalk_secret is None):
                raise ValueError(f"{variable}: community {key}: dingtalk and dingtalk_secret go together")
            if entry.wecom is None and entry.dingtalk is None:
                raise ValueError(f"{variable}: community {key} names no robot")
            robots[int(key)] = entry
        return robots

    def sms_body_template(self) -> dict[str, object]:
        """JIAYUAN_NOTIFY_SMS_BODY parsed: a JSON object whose strings hold {phone} and {text}."""
        try:
            template = json.loads(self.notify_sms_body)
        except ValueError:
            raise ValueError("JIAYUAN_NOTIFY_SMS_BODY is not valid JSON") from None
        if not isinstance(template, dict):
            raise ValueError("JIAYUAN_NOTIFY_SMS_BODY must be a JSON object")
        for placeholder in ("{phone}", "{text}"):
            if placeholder not in self.notify_sms_body:
                raise ValueError(f"JIAYUAN_NOTIFY_SMS_BODY must contain {placeholder}")
        return template

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


MIN_SECRET_LENGTH = 16
# A Shannon estimate over the characters themselves: 16 random URL-safe characters score about 60,
# token_urlsafe(32) about 210; words, keyboard walks and repeats score far less.
MIN_SECRET_BITS = 64
_SECRET_WORDS = (
    "secret",
    "password",
    "passwd",
    "change",
    "default",
    "example",
    "jiayuan",
    "admin",
    "letmein",
    "test",
    "sample",
    "key",
)
_KEYBOARD = {
    c: (row, col)
    for row, keys in enumerate(("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"))
    for col, c in enumerate(keys)
}
# The shifted digit row types the same keys: !QAZ@WSX walks the same columns as 1qaz2wsx.
_UNSHIFT = str.maketrans("!@#$%^&*()", "1234567890")


def _neighbours(a: str, b: str) -> bool:
    """Same or next character in the alphabet, or keys that touch on the keyboard (along a row, or
    up and down the slanted columns: 1qaz, 2wsx, 1q2w)."""
    if abs(ord(a) - ord(b)) <= 1:
        return True
    ka, kb = _KEYBOARD.get(a.translate(_UNSHIFT)), _KEYBOARD.get(b.translate(_UNSHIFT))
    if ka is None or kb is None:
        return False
    rows, cols = kb[0] - ka[0], kb[1] - ka[1]
    # Each row sits half a key to the right of the one above: a key touches the one above it and the
    # one above-right, so the column changes by 0 or +1 going up and by 0 or -1 going down.
    if rows == 0:
        return abs(cols) == 1
    return (rows, cols) in {(-1, 0), (-1, 1), (1, 0), (1, -1)}


def secret_weakness(secret: str) -> str | None:
    """Why a production secret is too weak to use (without quoting it), or None when it will do."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    for size in range(1, len(secret) // 2 + 1):
        if secret == (secret[:size] * (len(secret) // size + 1))[: len(secret)]:
            return "repeats a short pattern"
    pairs = list(zip(secret.lower(), secret[1:].lower(), strict=False))
    # Seven in ten: every walk tried scores 0.8 or more; random text about 0.25 (a generous keyboard
    # makes neighbours common, so half would refuse one token_urlsafe(32) in a few thousand).
    if sum(1 for a, b in pairs if _neighbours(a, b)) * 10 >= len(pairs) * 7:
        return "is mostly a run of neighbouring characters (in the alphabet, or touching keys)"
    lowered = secret.lower()
    letters = re.sub(r"[^a-z]", "", lowered)
    words = sum(len(word) for word in _SECRET_WORDS if word in lowered)
    if letters and words * 2 >= len(letters):
        return "is made of common words"
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return "has too little randomness (too few different characters)"
    return None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
