"""A vehicle's finished plate read is published as a plate only when it follows a plate format; anything
else (a banner's words, a smudge) becomes an unreadable plate with its snapshot for a person to read."""

from __future__ import annotations

import json

import numpy as np

from jiayuan.devices.decode import Event, Limits, decode_event
from jiayuan.devices.protocol import PlateUnreadable, event_body
from jiayuan.kernel.clock import utcnow
from jiayuan.vision.config import CameraConfig
from jiayuan.vision.detect import Detection, FakeDetector
from jiayuan.vision.pipeline import Pipeline
from jiayuan.vision.plate_event import plate_event
from jiayuan.vision.plates import PlateRead

from .test_pipeline import LINE, frame_with_box

BANNER = PlateRead(plate="欢迎光临", raw="欢迎 光临", valid=False, color="blue", confidence=0.88)
PLATE = PlateRead(plate="豫A12345", raw="豫A·12345", valid=True, color="blue", confidence=0.934)


def test_a_read_that_follows_no_plate_format_is_never_published_as_a_plate() -> None:
    event_type, payload = plate_event(BANNER, direction="in", track_id=7)
    assert event_type == "plate_unreadable"
    assert "plate" not in payload and "color" not in payload
    assert payload == {"text": "欢迎 光临", "confidence": 0.88, "direction": "in", "track_id": 7}
    # With the snapshot the worker adds, the platform accepts exactly this event.
    now = utcnow()
    _, body = event_body(
        "gate-1-cam", event_type, payload | {"snapshot": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9"}, at=now
    )
    decoded = decode_event(body, now=now, limits=Limits(), topic_device="gate-1-cam")
    assert isinstance(decoded, Event) and isinstance(decoded.payload, PlateUnreadable)
    assert json.loads(body)["type"] == "plate_unreadable"


def test_a_read_that_follows_a_plate_format_is_a_plate_read() -> None:
    assert plate_event(PLATE, direction="out", track_id=8) == (
        "plate_read",
        {"plate": "豫A12345", "color": "blue", "confidence": 0.934, "direction": "out", "track_id": 8},
    )


def test_long_junk_is_cut_to_what_the_protocol_takes() -> None:
    junk = PlateRead(plate="X" * 90, raw="X" * 90, valid=False, color="blue", confidence=0.2)
    assert plate_event(junk, direction="in", track_id=1)[1]["text"] == "X" * 64


class BannerOnly:
    """A plate reader that only ever finds a banner's words."""

    def read_scene(self, image: np.ndarray) -> PlateRead:
        return BANNER


def test_a_car_whose_plate_reads_as_a_banner_sends_its_snapshot_for_a_person() -> None:
    def script(i: int) -> list[Detection]:
        cy = 100 - 6 * i
        return [Detection(box=(20, cy - 30, 140, cy + 30), score=0.9, label="car")]

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0)
    pipeline = Pipeline(
        config, FakeDetector(script), frame_rate=10, plate_reader=BannerOnly(), plate_background=False
    )  # type: ignore[arg-type]
    events = []
    for i in range(14):
        events += pipeline.process(frame_with_box(i, 100, -6), i / 10).events
    events += pipeline.close()
    assert not [e for e in events if e.type == "plate_read"]
    [unread] = [e for e in events if e.type == "plate_unreadable"]
    assert unread.payload["text"] == "欢迎 光临" and unread.payload["direction"] == "in"
    assert unread.evidence is not None  # the picture the worker publishes as the snapshot
