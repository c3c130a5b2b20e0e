"""Evidence snapshots published to the project's Mosquitto are stored on disk and in a table; bad ones
become dead letters; the ingest loop prunes what nothing refers to."""

from __future__ import annotations

import hashlib
import os
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.models import DeadLetter, DeviceSnapshot, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import local
from jiayuan.settings import Settings
from tests.devices.snapshot_helpers import jpeg
from tests.factories import seed_site
from tests.ingest.running import ingesting
from tests.ingest.test_mqtt_roundtrip import wait_for

pytestmark = pytest.mark.mqtt
CAM = "jjhy-gate1-cam"


def test_snapshots_flow_from_broker_to_disk_and_table(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str, publisher: mqtt.Client
) -> None:
    with sessions() as session:
        site = seed_site(session)
    var = broker_settings.var_dir
    # A file no row names, left by a batch that never committed: the loop's pruning removes it.
    orphan = var / "snapshots" / CAM / "2026-01-01" / "lost.jpg"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(jpeg(10))
    os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    picture, other_picture = jpeg(90), jpeg(150)
    sends = [
        (CAM, "snap-1", picture),
        (CAM, "snap-1", picture),  # resent after a lost PUBACK: stored once
        (CAM, "snap-1", other_picture),  # another picture under a stored id: evidence is never replaced
        (CAM, "snap-2", b"GIF89a" + bytes(100)),
        (CAM, "snap-3", picture[: len(picture) // 2]),  # cut short
        (CAM, "..", picture),  # a path trick as the id
        (CAM, "a.jpg", picture),
        ("jjhy-gate9-cam", "snap-4", picture),  # not registered
        ("jjhy-old-qr", "snap-5", picture),  # disabled
    ]
    loop = IngestLoop(
        broker_settings.model_copy(update={"snapshot_prune_interval_s": 0.5}), sessions=sessions
    )
    with ingesting(loop):
        for device, snapshot_id, data in sends:
            topic = Topics(prefix).snapshot(device, snapshot_id)
            publisher.publish(topic, data, qos=1).wait_for_publish(5)
        wait_for(lambda: loop.stats.messages >= len(sends) and not orphan.exists())

    with sessions() as session:
        rows = session.scalars(select(DeviceSnapshot)).all()
        assert [(r.device_id, r.snapshot_id) for r in rows] == [(CAM, "snap-1")]
        row = rows[0]
        assert (row.community_id, row.compound_id, row.gate_id) == (
            site.community_id,
            site.compound_id,
            site.gate_id,
        )
        assert (row.size, row.sha256) == (len(picture), hashlib.sha256(picture).hexdigest())
        day = local(row.received_at).strftime("%Y-%m-%d")
        assert row.path == f"snapshots/{CAM}/{day}/snap-1.jpg"
        assert (var / row.path).read_bytes() == picture
        letters = session.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
        assert [(d.device_id, d.reason) for d in letters] == [
            (CAM, "bad_snapshot"),
            (CAM, "bad_snapshot"),
            (CAM, "bad_snapshot"),
            (CAM, "bad_snapshot"),
            (CAM, "bad_snapshot"),
            ("jjhy-gate9-cam", "unknown_device"),
            ("jjhy-old-qr", "revoked_device"),
        ]
        details = [d.detail for d in letters]
        assert "different picture" in details[0]
        assert "FF D8 FF" in details[1] and "FF D9" in details[2]
        assert "letters, digits" in details[3] and "letters, digits" in details[4]
        assert letters[0].raw == other_picture and letters[0].raw_size == len(other_picture)
        assert letters[0].topic == Topics(prefix).snapshot(CAM, "snap-1")
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 7
        status = session.get(DeviceStatus, CAM)
        assert status is not None and status.dead_letters == 5  # counted for the device, as events are
    stored = sorted(str(p.relative_to(var)) for p in (var / "snapshots").rglob("*") if p.is_file())
    assert stored == [row.path]  # nothing for the refused ones, and the orphan is gone
    assert not (var / "snapshots" / CAM / "2026-01-01").exists()
