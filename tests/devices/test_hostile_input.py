"""Malformed device messages are refused when decoded with a `bad_*` reason, never by the database.

Everything here goes through the ingest's own path (snapshots.accept_messages, then the domain handlers,
in one unit of work), so a message the database or a handler refused would raise out of it: the ingest
would then isolate it as `handler_error`, which is kept for platform bugs.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import PassCheck
from jiayuan.cases.service import intake
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.decode import Limits
from jiayuan.devices.models import DeadLetter, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.devices.schemas import DEAD_LETTER_REASONS
from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import BatchOutcome, Pipeline, RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.principal import Principal
from tests.devices.snapshot_helpers import jpeg
from tests.factories import seed_site

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")
# Room for the deep and the huge: the size limit must not be what stops them.
PIPELINE = Pipeline(topics=Topics("t"), limits=Limits(max_bytes=1 << 20))
SYSTEM = Principal.system()
EVENT_ID = "01JDQ5V6Z8R2M3N4P5Q6R7S8T9"
# A well-formed payload of each type, and the device that sends it.
GOOD: dict[str, tuple[str, dict[str, Any]]] = {
    "qr_scan": ("jjhy-gate1-qr", {"token": "JY1.e30.AAAA", "direction": "in", "local_decision": "ok"}),
    "plate_read": (
        "jjhy-gate1-plate",
        {"plate": "豫A12345", "color": "blue", "confidence": 0.9, "direction": "in", "snapshot": "s-1"},
    ),
    "line_cross": ("jjhy-gate1-cam", {"line": "main", "class": "person", "direction": "in", "count": 1}),
    "occupancy": ("jjhy-gate1-cam", {"zone": "z", "class": "car", "count": 3}),
    "loitering": ("jjhy-gate1-cam", {"zone": "z", "class": "person", "seconds": 90.5, "track_id": 7}),
    "sos": ("jjhy-gate1-sos", {"button": "门岗", "pressed": "long"}),
    "door": ("jjhy-gate1-door", {"state": "forced", "by": None}),
    "heartbeat": ("jjhy-gate1-qr", {"uptime_s": 5, "fw": "1.0", "temp_c": 40.5, "queue": 0}),
    "command_ack": ("jjhy-gate1-speaker", {"command_id": "01JDQ5V6Z8R2M3N4P5Q6R7S8T8", "ok": True}),
}
# A scanned code whose content nests arrays 1,400 deep (it fits the 2,048 characters a token may have).
DEEP_TOKEN = "JY1." + base64.urlsafe_b64encode(b"[" * 1400).rstrip(b"=").decode() + ".AAAA"
DEEP = b"[" * 100_000 + b"]" * 100_000


def event(type: str, *, payload: dict[str, Any] | None = None, **envelope: Any) -> dict[str, Any]:
    device, good = GOOD[type]
    body = {"v": 1, "id": EVENT_ID, "device": device, "type": type, "ts": NOW.isoformat(), "payload": good}
    return {**body, **({"payload": {**good, **payload}} if payload else {}), **envelope}


def on_topic(body: bytes, device: str, kind: str = "events") -> RawMessage:
    return RawMessage("mqtt", PIPELINE.topics.device_root(device) + kind, body, NOW)


def dumps(data: object) -> bytes:
    """JSON as a careless device writes it: NaN and Infinity as bare words, lone surrogates escaped."""
    return json.dumps(data, allow_nan=True).encode()


def ingest(sessions: sessionmaker[Session], files: SnapshotFiles, messages: list[RawMessage]) -> BatchOutcome:
    """One batch the way the ingest commits it: stored, handled by the domains, committed."""
    with unit_of_work(sessions) as session:
        outcome = snapshots.accept_messages(
            session, actor=SYSTEM, messages=messages, pipeline=PIPELINE, files=files, now=NOW
        )
        intake.dispatch(session, outcome, public_keys={}, now=NOW)
    return outcome


def status(body: bytes) -> RawMessage:
    return on_topic(body, "jjhy-gate1-qr", "status")


HOSTILE: dict[str, tuple[RawMessage, str, str]] = {
    "nul_in_string": (
        on_topic(dumps(event("plate_read", payload={"plate": "豫A\x0012345"})), "jjhy-gate1-plate"),
        "bad_payload",
        "payload.plate: NUL character",
    ),
    "nul_in_key": (
        on_topic(dumps(event("sos", payload={"but\x00ton": "x"})), "jjhy-gate1-sos"),
        "bad_payload",
        "payload.but\\x00ton: NUL character in a key",
    ),
    "nul_in_envelope_key": (
        on_topic(dumps({**event("heartbeat"), "\x00": 1}), "jjhy-gate1-qr"),
        "bad_envelope",
        "\\x00: Extra inputs are not permitted",
    ),
    "nul_in_status_key": (
        status(dumps({"v": 1, "state": "online", "ts": NOW.isoformat(), "\x00": 1})),
        "bad_envelope",
        "\\x00: Extra inputs are not permitted",
    ),
    "lone_surrogate": (
        on_topic(dumps(event("heartbeat", payload={"fw": "\ud800"})), "jjhy-gate1-qr"),
        "bad_json",
        "Invalid JSON",
    ),
    "lone_surrogate_in_status": (
        status(dumps({"v": 1, "state": "online", "ts": NOW.isoformat(), "\udc00": 1})),
        "bad_json",
        "Invalid JSON",
    ),
    "seq_beyond_64_bits": (
        on_topic(dumps(event("heartbeat", seq=2**63)), "jjhy-gate1-qr"),
        "bad_envelope",
        "seq: Input should be less than or equal to 9223372036854775807",
    ),
    "count_beyond_64_bits": (
        on_topic(dumps(event("heartbeat", payload={"uptime_s": 2**64})), "jjhy-gate1-qr"),
        "bad_payload",
        "payload.uptime_s: integer beyond 64 bits",
    ),
    "track_id_beyond_64_bits": (
        on_topic(dumps(event("plate_read", payload={"track_id": -(2**63) - 1})), "jjhy-gate1-plate"),
        "bad_payload",
        "payload.track_id: integer beyond 64 bits",
    ),
    "nan": (
        on_topic(dumps(event("plate_read", payload={"confidence": float("nan")})), "jjhy-gate1-plate"),
        "bad_payload",
        "payload.confidence: not a finite number",
    ),
    "infinity": (
        on_topic(dumps(event("loitering", payload={"seconds": float("inf")})), "jjhy-gate1-cam"),
        "bad_payload",
        "payload.seconds: not a finite number",
    ),
    "deep_status": (status(DEEP), "bad_json", "recursion limit exceeded"),
    "deep_event": (on_topic(DEEP, "jjhy-gate1-qr"), "bad_json", "recursion limit exceeded"),
    "deep_in_payload": (
        on_topic(dumps(event("heartbeat")).replace(b'"1.0"', b"[" * 5000 + b"]" * 5000), "jjhy-gate1-qr"),
        "bad_json",
        "recursion limit exceeded",
    ),
    "invalid_utf8_status": (status(b'{"v": 1, "state": "\xff"}'), "bad_json", "Invalid JSON"),
    "not_an_object_status": (status(b"[1, 2]"), "bad_envelope", "(root): Input should be an object"),
    "status_ts_beyond_utc": (
        status(dumps({"v": 1, "state": "online", "ts": "0001-01-01T00:00:00+23:59"})),
        "bad_envelope",
        "ts: Value error, out of range in UTC",
    ),
    "huge_string": (
        on_topic(dumps(event("heartbeat", payload={"fw": "固件" * 50_000})), "jjhy-gate1-qr"),
        "bad_payload",
        "payload.fw: String should have at most 64 characters",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_kind_of_malformed_input_gets_its_bad_reason(
    sessions: sessionmaker[Session], tmp_path: Path, case: str
) -> None:
    message, reason, detail = HOSTILE[case]
    with sessions() as session:
        seed_site(session)
    outcome = ingest(sessions, SnapshotFiles(tmp_path), [message])
    assert dict(outcome.dead) == {reason: 1}
    with sessions() as session:
        letter = session.scalars(select(DeadLetter)).one()
        assert (letter.reason, letter.device_id) == (reason, message.topic.split("/")[3])
        assert detail in letter.detail and letter.detail.isascii(), letter.detail
        counted = session.get(DeviceStatus, letter.device_id)
        assert counted is not None and counted.dead_letters == 1


def test_a_scanned_code_nested_a_thousand_deep_is_a_refused_pass(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as session:
        seed_site(session)
    message = on_topic(dumps(event("qr_scan", payload={"token": DEEP_TOKEN})), "jjhy-gate1-qr")
    outcome = ingest(sessions, SnapshotFiles(tmp_path), [message])
    assert (len(outcome.accepted), dict(outcome.dead)) == (1, {})
    with sessions() as session:
        assert session.scalars(select(PassCheck.reason)).all() == ["bad_signature"]


hostile_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["\x00", "a\x00", "\ud800", "\udfff", "门" * 70, "x" * 5000, DEEP_TOKEN, "0001-01-01T00:00:00+23:59"]
    ),
)
hostile_number = st.one_of(
    st.integers(min_value=-(2**66), max_value=2**66),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**40]),
    st.floats(),
)
hostile_value = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_text, hostile_number),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=6,
)
DEVICES = ["jjhy-gate1-qr", "jjhy-gate1-plate", "jjhy-gate1-cam", "jjhy-old-qr", "ghost-1"]


@st.composite
def mutated(draw: st.DrawFn, data: dict[str, Any]) -> bytes:
    """`data` with some fields (at the top or in the payload) replaced, added or removed, then bytes."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(0, 3))):
        target = data["payload"] if isinstance(data.get("payload"), dict) and draw(st.booleans()) else data
        key = draw(st.sampled_from(sorted(target)) | hostile_text)
        if draw(st.integers(0, 5)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(hostile_value)
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate unescaped is invalid UTF-8
    match draw(st.integers(0, 9)):
        case 0:
            return raw[: draw(st.integers(0, len(raw)))]
        case 1:
            depth = draw(st.sampled_from([1, 300, 5000, 100_000]))
            return b"[" * depth + raw + b"]" * depth
        case 2:
            return draw(st.sampled_from([b"[]", b"1", b'"x"', b"null", b"NaN", b"\xff\xfe"]))
        case _:
            return raw


@st.composite
def hostile_message(draw: st.DrawFn) -> RawMessage:
    """An event, status or snapshot message, mostly malformed."""
    device = draw(st.sampled_from(DEVICES))
    match draw(st.sampled_from(["events", "status", "snapshots"])):
        case "events":
            type = draw(st.sampled_from(sorted(GOOD)))
            event_id = draw(st.sampled_from([EVENT_ID, "01JDQ5V6Z8R2M3N4P5Q6R7S8T7"]))
            seq = draw(st.integers(0, 10**6))
            body = event(type, id=event_id, ts=(NOW - timedelta(seconds=seq % 60)).isoformat(), seq=seq)
            sender = draw(st.sampled_from([body["device"], device]))
            return on_topic(draw(mutated(body)), sender)
        case "status":
            state = draw(st.sampled_from(["online", "offline"]))
            return status(draw(mutated({"v": 1, "state": state, "ts": NOW.isoformat()})))
        case _:
            snapshot_id = draw(st.from_regex(r"[A-Za-z0-9_.-]{1,70}", fullmatch=True))
            data = draw(st.sampled_from([jpeg(), jpeg()[:100], b"", b"\xff\xd8\xff\xd9"]))
            return RawMessage("mqtt", PIPELINE.topics.snapshot(device, snapshot_id), data, NOW)


def test_hostile_messages_are_accepted_or_refused_with_a_reason_never_a_failure(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as session:
        seed_site(session)
    files = SnapshotFiles(tmp_path)
    reasons = set(DEAD_LETTER_REASONS) - {"handler_error"}

    @given(batch=st.lists(hostile_message(), min_size=1, max_size=4))
    @hypothesis_settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(batch: list[RawMessage]) -> None:
        outcome = ingest(sessions, files, batch)
        assert set(outcome.dead) <= reasons, outcome.rejections
        handled = len(outcome.accepted) + outcome.duplicates + outcome.statuses + sum(outcome.dead.values())
        not_snapshots = sum(1 for m in batch if "/snapshots/" not in m.topic)
        assert not_snapshots <= handled <= len(batch)

    exercise()
