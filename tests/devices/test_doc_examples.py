"""Every example in docs/devices.md goes through the pipeline and does what the document says."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm, PassCheck, UnreadPlate, VehiclePassage
from jiayuan.cases.service import intake
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceStatus
from jiayuan.devices.protocol import COMMAND_PAYLOADS, EVENT_PAYLOADS, DeviceStatusMessage, Envelope, Topics
from jiayuan.devices.schemas import DEAD_LETTER_REASONS
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.kernel.principal import Principal
from jiayuan.web.routes.devices_pages import REASON_LABELS
from tests.devices.helpers import DOCS, doc_blocks
from tests.factories import seed_site

NOW = datetime.fromisoformat("2026-11-27T08:30:00+08:00")
PIPELINE = Pipeline(topics=Topics("jiayuan"))


def _messages() -> list[RawMessage]:
    messages = []
    for block in doc_blocks():
        if "state" in block.data:
            topic = PIPELINE.topics.status("jjhy-gate1-qr")
        elif block.data["type"] in COMMAND_PAYLOADS:
            continue
        elif block.dead_letter == "topic_mismatch":
            topic = PIPELINE.topics.events("jjhy-gate1-qr")
        else:
            topic = PIPELINE.topics.events(block.data["device"])
        messages.append(RawMessage("mqtt", topic, block.raw, NOW))
    return messages


def test_the_document_shows_every_event_type_and_command() -> None:
    blocks = doc_blocks()
    types = {b.data.get("type") for b in blocks if b.dead_letter is None}
    assert set(EVENT_PAYLOADS) <= types
    assert set(COMMAND_PAYLOADS) <= types
    assert {"online", "offline"} <= {b.data.get("state") for b in blocks}


def test_every_dead_letter_reason_is_documented_and_labelled_in_the_console() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## 7. 死信")[1].split("\n## ")[0]
    assert re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE) == list(DEAD_LETTER_REASONS)
    assert set(REASON_LABELS) == set(DEAD_LETTER_REASONS)


def test_every_command_example_fits_its_schema() -> None:
    commands = [b for b in doc_blocks() if b.data.get("type") in COMMAND_PAYLOADS]
    assert len(commands) == len(COMMAND_PAYLOADS)
    for block in commands:
        envelope = Envelope.model_validate(block.data)
        COMMAND_PAYLOADS[envelope.type].model_validate(envelope.payload)


def test_status_examples_fit_the_status_schema() -> None:
    for block in doc_blocks():
        if "state" in block.data:
            DeviceStatusMessage.model_validate(block.data)


def _replay(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        outcome = accept_batch(
            session, actor=Principal.system(), messages=_messages(), pipeline=PIPELINE, now=NOW
        )
        intake.dispatch(session, outcome, public_keys={}, now=NOW)
        session.commit()


def test_examples_replay_through_the_pipeline(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    _replay(sessions)
    blocks = doc_blocks()
    good = [b for b in blocks if b.dead_letter is None and b.data.get("type") in EVENT_PAYLOADS]
    # The envelope example at the top and the heartbeat example are distinct events.
    with sessions() as session:
        stored = {(e.device_id, e.event_id) for e in session.scalars(select(DeviceEvent))}
        assert stored == {(b.data["device"], b.data["id"]) for b in good}
        reasons = sorted(session.scalars(select(DeadLetter.reason)))
        assert reasons == sorted(b.dead_letter for b in blocks if b.dead_letter)
        mismatch = session.scalars(select(DeadLetter).where(DeadLetter.reason == "topic_mismatch")).one()
        assert mismatch.device_id == "jjhy-gate1-qr"
        assert mismatch.raw == next(b.raw for b in blocks if b.dead_letter == "topic_mismatch")
        total = session.scalar(select(func.sum(DeviceStatus.events_accepted)))
        assert total == len(good)
        # The domain handlers ran on them: the example pass is checked (its signature is a placeholder),
        # the plate read is classified, the unreadable plate is kept for a person, the SOS press and the
        # loitering are alarms.
        assert [c.reason for c in session.scalars(select(PassCheck))] == ["bad_signature"]
        assert [p.plate for p in session.scalars(select(VehiclePassage))] == ["豫A12345"]
        unread = session.scalars(select(UnreadPlate)).one()  # the unreadable plate waits for a person
        assert (unread.text_raw, unread.snapshot, unread.state) == (
            "欢迎光临",
            "snap-20261127-081640-02",
            "waiting",
        )
        assert [a.type for a in session.scalars(select(Alarm).order_by(Alarm.id))] == ["loitering", "sos"]


def test_replaying_the_examples_twice_stores_nothing_new(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    _replay(sessions)
    _replay(sessions)
    good = [b for b in doc_blocks() if b.dead_letter is None and b.data.get("type") in EVENT_PAYLOADS]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == len(good)
        assert session.scalar(select(func.sum(DeviceStatus.events_accepted))) == len(good)
        assert session.scalar(select(func.sum(DeviceStatus.duplicates))) == len(good)
