"""Each kind of bad input lands in dead letters with its reason; good input is stored once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.decode import Limits, Rejected
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import inspection, pipeline
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch, accept_http
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role
from tests.devices.helpers import envelope
from tests.factories import seed_site

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")
PIPELINE = Pipeline(topics=Topics("t"), limits=Limits())
HB = {"uptime_s": 5, "fw": "1.0"}


def mqtt(device: str, raw: bytes, kind: str = "events") -> RawMessage:
    return RawMessage("mqtt", PIPELINE.topics.device_root(device) + kind, raw, NOW)


BAD = {
    "bad_json": mqtt("jjhy-gate1-qr", b"{not json"),
    "bad_json_utf8": mqtt("jjhy-gate1-qr", b"\xff\xfe\x00"),
    "bad_envelope": mqtt("jjhy-gate1-qr", json.dumps({"v": 2, "id": "x"}).encode()),
    "bad_envelope_naive_ts": mqtt(
        "jjhy-gate1-qr",
        json.dumps(
            {
                "v": 1,
                "id": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9",
                "device": "jjhy-gate1-qr",
                "type": "heartbeat",
                "ts": "2026-11-27T10:00:00",
                "payload": HB,
            }
        ).encode(),
    ),
    "unknown_device": mqtt("ghost-1", envelope("ghost-1", "heartbeat", HB, ts=NOW)),
    "topic_mismatch": mqtt("jjhy-gate1-qr", envelope("jjhy-gate2-qr", "heartbeat", HB, ts=NOW)),
    "unknown_type": mqtt("jjhy-gate1-qr", envelope("jjhy-gate1-qr", "teleport", {}, ts=NOW)),
    "bad_payload": mqtt("jjhy-gate1-qr", envelope("jjhy-gate1-qr", "qr_scan", {"direction": "up"}, ts=NOW)),
    "bad_payload_extra": mqtt(
        "jjhy-gate1-qr", envelope("jjhy-gate1-qr", "heartbeat", {**HB, "x": 1}, ts=NOW)
    ),
    "too_large": mqtt(
        "jjhy-gate1-qr", envelope("jjhy-gate1-qr", "heartbeat", {**HB, "fw": "x" * 20000}, ts=NOW)
    ),
    "clock_future": mqtt(
        "jjhy-gate1-qr", envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW + timedelta(minutes=6))
    ),
    "clock_past": mqtt(
        "jjhy-gate1-qr", envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW - timedelta(days=8))
    ),
    "revoked_device": mqtt("jjhy-old-qr", envelope("jjhy-old-qr", "heartbeat", HB, ts=NOW)),
    "bad_envelope_topic": RawMessage("mqtt", "t/v1/other", b"{}", NOW),
    "bad_envelope_status": mqtt(
        "jjhy-gate1-qr", b'{"v":1,"state":"sleepy","ts":"2026-11-27T10:00:00+08:00"}', "status"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_parked_with_its_reason(sessions: sessionmaker[Session], case: str) -> None:
    with sessions() as session:
        seed_site(session)
        good = mqtt("jjhy-gate1-qr", envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW))
        outcome = accept_batch(
            session, actor=Principal.system(), messages=[BAD[case], good], pipeline=PIPELINE, now=NOW
        )
        session.commit()
        reason = (
            case.split("_")[0]
            if case.startswith("clock")
            else case.removesuffix("_utf8")
            .removesuffix("_naive_ts")
            .removesuffix("_extra")
            .removesuffix("_topic")
            .removesuffix("_status")
        )
        assert dict(outcome.dead) == {reason: 1}
        assert len(outcome.accepted) == 1  # the good message beside it still lands
        letter = session.scalars(select(DeadLetter)).one()
        assert letter.reason == reason
        assert letter.raw == BAD[case].payload[:4096]
        assert letter.raw_size == len(BAD[case].payload)
        assert letter.topic == BAD[case].topic
        assert letter.detail


def test_duplicates_are_counted_once_within_and_across_batches(sessions: sessionmaker[Session]) -> None:
    raw = envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW, id="01JDQ5V6Z8R2M3N4P5Q6R7S8ZZ")
    with sessions() as session:
        seed_site(session)
        first = accept_batch(
            session,
            actor=Principal.system(),
            messages=[mqtt("jjhy-gate1-qr", raw)] * 3,
            pipeline=PIPELINE,
            now=NOW,
        )
        session.commit()
        second = accept_batch(
            session,
            actor=Principal.system(),
            messages=[mqtt("jjhy-gate1-qr", raw)],
            pipeline=PIPELINE,
            now=NOW,
        )
        session.commit()
        assert (len(first.accepted), first.duplicates) == (1, 2)
        assert (len(second.accepted), second.duplicates) == (0, 1)
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == 1
        status = session.get(DeviceStatus, "jjhy-gate1-qr")
        assert status is not None
        assert (status.events_accepted, status.duplicates, status.fw) == (1, 3, "1.0")


def test_same_event_id_from_two_devices_is_two_events(sessions: sessionmaker[Session]) -> None:
    event_id = "01JDQ5V6Z8R2M3N4P5Q6R7S8YY"
    with sessions() as session:
        seed_site(session)
        outcome = accept_batch(
            session,
            actor=Principal.system(),
            messages=[
                mqtt(d, envelope(d, "heartbeat", HB, ts=NOW, id=event_id))
                for d in ("jjhy-gate1-qr", "jjhy-gate2-qr")
            ],
            pipeline=PIPELINE,
            now=NOW,
        )
        assert len(outcome.accepted) == 2


def test_status_messages_keep_the_newest_state(sessions: sessionmaker[Session]) -> None:
    def status(state: str, minutes: int) -> RawMessage:
        ts = (NOW + timedelta(minutes=minutes)).isoformat()
        return mqtt("jjhy-gate1-qr", json.dumps({"v": 1, "state": state, "ts": ts}).encode(), "status")

    with sessions() as session:
        seed_site(session)
        accept_batch(
            session,
            actor=Principal.system(),
            messages=[status("offline", 2), status("online", 1)],
            pipeline=PIPELINE,
            now=NOW,
        )
        session.commit()
        row = session.get(DeviceStatus, "jjhy-gate1-qr")
        assert row is not None and row.state == "offline"


def test_http_push_checks_the_device_and_the_path(sessions: sessionmaker[Session]) -> None:
    device = Principal(role=Role.DEVICE, device_id="jjhy-gate1-qr")
    with sessions() as session:
        seed_site(session)
        ok = accept_http(
            session,
            actor=device,
            device_id="jjhy-gate1-qr",
            body=envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW),
            pipeline=PIPELINE,
            now=NOW,
        )
        assert len(ok.accepted) == 1
        with pytest.raises(Forbidden):
            accept_http(
                session,
                actor=device,
                device_id="jjhy-gate2-qr",
                body=envelope("jjhy-gate2-qr", "heartbeat", HB, ts=NOW),
                pipeline=PIPELINE,
                now=NOW,
            )
        mismatch = accept_http(
            session,
            actor=device,
            device_id="jjhy-gate1-qr",
            body=envelope("jjhy-gate2-qr", "heartbeat", HB, ts=NOW),
            pipeline=PIPELINE,
            now=NOW,
        )
        assert dict(mismatch.dead) == {"topic_mismatch": 1}


def test_dead_letter_counts_and_scope(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
        accept_batch(
            session, actor=Principal.system(), messages=list(BAD.values()), pipeline=PIPELINE, now=NOW
        )
        session.commit()
        staff = Principal(role=Role.STAFF, community_ids=frozenset({site.community_id}))
        outsider = Principal(role=Role.STAFF, community_ids=frozenset({site.other_community_id}))
        counts = {
            (c.device_id, c.reason): c.count for c in inspection.dead_letter_counts(session, actor=staff)
        }
        assert counts[("jjhy-gate1-qr", "bad_json")] == 2
        assert counts[("ghost-1", "unknown_device")] == 1
        theirs = {(c.device_id, c.reason) for c in inspection.dead_letter_counts(session, actor=outsider)}
        assert ("jjhy-gate1-qr", "bad_json") not in theirs
        with pytest.raises(Forbidden):
            inspection.dead_letter_counts(session, actor=Principal(role=Role.RESIDENT))
        letters = inspection.list_dead_letters(session, actor=staff, reason="clock")
        assert len(letters) == 2
        status = session.get(DeviceStatus, "jjhy-gate1-qr")
        assert status is not None
        on_topic = sum(
            1
            for m in BAD.values()
            if m.topic == PIPELINE.topics.device_root("jjhy-gate1-qr") + m.topic.rsplit("/", 1)[1]
        )
        assert status.dead_letters == on_topic == 12


def test_a_parked_message_counts_for_its_registered_device(sessions: sessionmaker[Session]) -> None:
    raw = envelope("jjhy-gate1-qr", "heartbeat", HB, ts=NOW)
    with sessions() as session:
        seed_site(session)
        for device_id in ("jjhy-gate1-qr", "jjhy-gate1-qr", "ghost-1", None):
            pipeline.park(
                session,
                actor=Principal.system(),
                message=mqtt(device_id or "x", raw),
                rejection=Rejected("handler_error", "refused", device_id),
            )
        session.commit()
        accept_batch(
            session, actor=Principal.system(), messages=[BAD["bad_json"]], pipeline=PIPELINE, now=NOW
        )
        session.commit()
        counted = {s.device_id: s.dead_letters for s in session.scalars(select(DeviceStatus))}
        assert counted == {"jjhy-gate1-qr": 3}  # two parked, one refused in a batch; no row for a stranger
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 5


EVENT_ID = "01JDQ5V6Z8R2M3N4P5Q6R7S8C1"


def heartbeat(uptime_s: int, *, at: datetime = NOW, device: str = "jjhy-gate1-qr") -> bytes:
    """A heartbeat under one fixed id, as a device that restarted its id counter would send."""
    return envelope(device, "heartbeat", {"uptime_s": uptime_s, "fw": "1.0"}, ts=at, id=EVENT_ID)


def counters(session: Session, device: str = "jjhy-gate1-qr") -> tuple[int, int, int]:
    status = session.get(DeviceStatus, device)
    assert status is not None
    session.refresh(status)
    return status.events_accepted, status.duplicates, status.dead_letters


def test_a_stored_id_with_different_content_is_a_conflict_not_a_duplicate(
    sessions: sessionmaker[Session],
) -> None:
    later = NOW + timedelta(minutes=1)
    with sessions() as session:
        seed_site(session)
        outcomes = []
        for raw in (heartbeat(5), heartbeat(5), heartbeat(7, at=later), heartbeat(5, at=later)):
            message = mqtt("jjhy-gate1-qr", raw)
            outcomes.append(
                accept_batch(
                    session, actor=Principal.system(), messages=[message], pipeline=PIPELINE, now=later
                )
            )
            session.commit()
        assert [(len(o.accepted), o.duplicates, dict(o.dead)) for o in outcomes] == [
            (1, 0, {}),
            (0, 1, {}),  # an identical resend
            (0, 0, {"id_conflict": 1}),  # new content under the stored id
            (0, 0, {"id_conflict": 1}),  # the same payload at another time
        ]
        assert counters(session) == (1, 1, 2)
        stored = session.scalars(select(DeviceEvent)).one()
        assert (stored.ts, stored.payload["uptime_s"]) == (NOW, 5)  # the first one stays
        letter = session.scalars(select(DeadLetter).order_by(DeadLetter.id)).first()
        assert letter is not None and (letter.reason, letter.device_id) == ("id_conflict", "jjhy-gate1-qr")
        assert letter.detail == (
            f"id {EVENT_ID} is already stored for heartbeat at 2026-11-27T02:00:00+00:00 (seq None); "
            "this heartbeat at 2026-11-27T10:01:00+08:00 (seq None) differs"
        )


def test_within_a_batch_the_first_of_an_id_wins_and_a_different_one_conflicts(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        seed_site(session)
        batch = [heartbeat(5), heartbeat(6), heartbeat(5), heartbeat(5, device="jjhy-gate2-qr")]
        outcome = accept_batch(
            session,
            actor=Principal.system(),
            messages=[
                mqtt(d, raw) for d, raw in zip(["jjhy-gate1-qr"] * 3 + ["jjhy-gate2-qr"], batch, strict=True)
            ],
            pipeline=PIPELINE,
            now=NOW,
        )
        session.commit()
        assert (len(outcome.accepted), outcome.duplicates, dict(outcome.dead)) == (2, 1, {"id_conflict": 1})
        assert [a.envelope.payload["uptime_s"] for a in outcome.accepted] == [5, 5]
        assert counters(session) == (1, 1, 1)
        assert counters(session, "jjhy-gate2-qr") == (1, 0, 0)
        assert "uptime_s" not in outcome.rejections[0].detail


def test_an_id_conflict_pushed_over_http_is_a_dead_letter(sessions: sessionmaker[Session]) -> None:
    device = Principal(role=Role.DEVICE, device_id="jjhy-gate1-qr")
    with sessions() as session:
        seed_site(session)
        results = []
        for raw in (heartbeat(5), heartbeat(5), heartbeat(9)):
            outcome = accept_http(
                session, actor=device, device_id="jjhy-gate1-qr", body=raw, pipeline=PIPELINE, now=NOW
            )
            session.commit()
            results.append((len(outcome.accepted), outcome.duplicates, dict(outcome.dead)))
        assert results == [(1, 0, {}), (0, 1, {}), (0, 0, {"id_conflict": 1})]
        assert counters(session) == (1, 1, 1)
