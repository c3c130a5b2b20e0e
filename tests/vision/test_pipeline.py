"""The pipeline with a scripted detector on tiny frames: counts, evidence, motion gating, plates."""

from __future__ import annotations

import numpy as np

from jiayuan.vision.config import CameraConfig, LineConfig
from jiayuan.vision.detect import Detection, FakeDetector
from jiayuan.vision.pipeline import Pipeline, VisionEvent

from .conftest import blank

LINE = LineConfig(name="gate", x1=0, y1=60, x2=160, y2=60)


def moving_box(frame: int, *, start: float, step: float, label: str = "person") -> list[Detection]:
    """One 20×30 box whose centre moves vertically by `step` px per frame."""
    cy = start + step * frame
    return [Detection(box=(70, cy - 15, 90, cy + 15), score=0.9, label=label)]


def frame_with_box(i: int, start: float, step: float) -> np.ndarray:
    """A frame that changes each time, so the motion gate lets it through."""
    frame = blank()
    cy = int(start + step * i)
    frame[max(0, cy - 15) : cy + 15, 70:90] = 255
    return frame


def run(config: CameraConfig, detector: FakeDetector, frames: list[np.ndarray], fps: float = 10) -> Pipeline:
    """Feed the frames; the pipeline (its events are collected in `.collected`)."""
    pipeline = Pipeline(config, detector, frame_rate=fps)
    collected = []
    for i, frame in enumerate(frames):
        collected += pipeline.process(frame, i / fps).events
    collected += pipeline.close()
    pipeline.collected = collected  # type: ignore[attr-defined]
    return pipeline


def crossings(pipeline: Pipeline) -> list[tuple[str, str, str]]:
    """(line, direction, class) of every line_cross event."""
    return [
        (e.payload["line"], e.payload["direction"], e.payload["class"])
        for e in pipeline.collected  # type: ignore[attr-defined]
        if e.type == "line_cross"
    ]


def test_person_walking_up_is_counted_in_once_with_evidence() -> None:
    detector = FakeDetector(lambda i: moving_box(i, start=105, step=-6))
    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    pipeline = run(config, detector, [frame_with_box(i, 105, -6) for i in range(14)])
    assert crossings(pipeline) == [("gate", "in", "person")]
    event = next(e for e in pipeline.collected if e.type == "line_cross")  # type: ignore[attr-defined]
    assert event.evidence is not None and event.evidence.shape == (120, 160, 3)
    assert event.payload["count"] == 1 and isinstance(event.payload["track_id"], int)


def test_car_driving_down_is_counted_out_as_car() -> None:
    detector = FakeDetector(lambda i: moving_box(i, start=15, step=6, label="car"))
    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    pipeline = run(config, detector, [frame_with_box(i, 15, 6) for i in range(14)])
    assert crossings(pipeline) == [("gate", "out", "car")]


def test_lane_camera_counts_mislabelled_vehicles_as_the_lane_class() -> None:
    # Seen from above, a COCO model calls cars "cell_phone"; on a lane every non-person is the lane class.
    detector = FakeDetector(lambda i: moving_box(i, start=15, step=6, label="cell_phone"))
    lane = CameraConfig(camera="lane", lines=(LINE,), lane_class="car", min_box_area=0, plates=False)
    assert crossings(run(lane, detector, [frame_with_box(i, 15, 6) for i in range(14)])) == [
        ("gate", "out", "car")
    ]
    detector = FakeDetector(lambda i: moving_box(i, start=15, step=6, label="cell_phone"))
    plain = CameraConfig(camera="gate", lines=(LINE,), min_box_area=0, plates=False)
    assert crossings(run(plain, detector, [frame_with_box(i, 15, 6) for i in range(14)])) == []


def test_object_entering_at_the_frame_edge_already_past_the_line_is_counted() -> None:
    # First box touches the bottom edge with its centre above the line (a big object coming in).
    def script(i: int) -> list[Detection]:
        top = 20 - 5 * i
        return [Detection(box=(40, top, 120, 120 if i < 3 else top + 100), score=0.9, label="person")]

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    frames = [frame_with_box(i, 60, -5) for i in range(6)]
    assert crossings(run(config, FakeDetector(script), frames)) == [("gate", "in", "person")]


def test_still_frames_are_not_detected_except_keyframes() -> None:
    detector = FakeDetector(lambda i: [])
    config = CameraConfig(camera="gate-1", lines=(LINE,), keyframe_seconds=2.0, plates=False)
    still = blank()
    run(config, detector, [still] * 50, fps=10)  # 5 s of the same frame
    assert detector.calls == 3  # the first frame, then one keyframe every 2 s
    ungated = FakeDetector(lambda i: [])
    run(config.model_copy(update={"motion_gating": False}), ungated, [still] * 50)
    assert ungated.calls == 50


def test_occupancy_events_come_from_the_pipeline() -> None:
    detector = FakeDetector(lambda i: [Detection(box=(60, 40, 80, 80), score=0.9, label="person")])
    config = CameraConfig.model_validate(
        {
            "camera": "c",
            "zones": [{"name": "door", "points": [[0, 0], [160, 0], [160, 120], [0, 120]]}],
            "min_box_area": 0,
        }
    )
    frames = [frame_with_box(i % 2, 60, 1) for i in range(30)]
    pipeline = run(config, detector, frames)
    occupancy = [e.payload for e in pipeline.collected if e.type == "occupancy"]  # type: ignore[attr-defined]
    assert occupancy[0] == {"zone": "door", "class": "person", "count": 1}


class ScriptedPlates:
    """A plate reader that reads a better plate the second time."""

    def __init__(self) -> None:
        self.calls = 0

    def read_scene(self, image: np.ndarray) -> object:
        from jiayuan.vision.plates import PlateRead

        self.calls += 1
        if self.calls == 1:
            return PlateRead(plate="豫A1234", raw="豫A1234", valid=False, color="blue", confidence=0.3)
        return PlateRead(plate="豫A12345", raw="豫A·12345", valid=True, color="blue", confidence=0.93)


def car_passing_in(reader: object) -> list[VisionEvent]:
    """The events of a car driving in over LINE for 14 frames, its plate read by `reader`."""

    def script(i: int) -> list[Detection]:
        cy = 100 - 6 * i
        return [Detection(box=(20, cy - 30, 140, cy + 30), score=0.9, label="car")]

    frames = [frame_with_box(i, 100, -6) for i in range(14)]
    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0)
    pipeline = Pipeline(
        config, FakeDetector(script), frame_rate=10, plate_reader=reader, plate_background=False
    )  # type: ignore[arg-type]
    events = []
    for i, frame in enumerate(frames):
        events += pipeline.process(frame, i / 10).events
    return events + pipeline.close()


def test_best_plate_read_per_vehicle_track_is_reported_with_its_direction() -> None:
    plates = [e for e in car_passing_in(ScriptedPlates()) if e.type == "plate_read"]
    assert len(plates) == 1
    assert plates[0].payload["plate"] == "豫A12345" and plates[0].payload["direction"] == "in"
    assert plates[0].payload["confidence"] == 0.93 and plates[0].evidence is not None


class VaryingPlates:
    """A plate reader whose single surest read is wrong: the frames of the track outvote it."""

    def __init__(self) -> None:
        self.calls = 0

    def read_scene(self, image: np.ndarray) -> object:
        from jiayuan.vision.plates import PlateRead

        texts = [("豫A12345", 0.9), ("豫A12845", 0.97), ("豫A12345", 0.92)]
        plate, confidence = texts[self.calls % len(texts)]
        self.calls += 1
        return PlateRead(plate=plate, raw=plate, valid=True, color="blue", confidence=confidence)


def test_the_plate_published_is_the_consensus_of_the_tracks_reads() -> None:
    reader = VaryingPlates()
    plates = [e.payload for e in car_passing_in(reader) if e.type == "plate_read"]
    assert reader.calls == 3
    # Position 6: "3" has (0.9 + 0.92) / 3 reads of support, "8" only 0.97 / 3.
    assert len(plates) == 1 and plates[0]["plate"] == "豫A12345"
    assert plates[0]["confidence"] == round(1.82 / 3, 3)


def test_qr_pass_held_up_is_scanned_once() -> None:
    import segno

    qr = segno.make("JY1.test-pass.sig", error="m")
    code = np.array(qr.matrix, dtype=np.uint8)
    code = np.kron(1 - code, np.ones((4, 4), dtype=np.uint8)) * 255
    code = np.pad(code, 16, constant_values=255)
    frame = np.dstack([code] * 3)
    config = CameraConfig(camera="gate-qr", qr=True, plates=False)
    pipeline = run(config, FakeDetector(lambda i: []), [frame] * 20)
    scans = [e.payload for e in pipeline.collected if e.type == "qr_scan"]  # type: ignore[attr-defined]
    assert scans == [
        {"token": "JY1.test-pass.sig", "direction": "in", "local_decision": None, "local_reason": None}
    ]


def test_plate_reading_in_the_background_still_reports_the_track() -> None:
    def script(i: int) -> list[Detection]:
        cy = 100 - 6 * i
        return [Detection(box=(20, cy - 30, 140, cy + 30), score=0.9, label="car")]

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0)
    pipeline = Pipeline(config, FakeDetector(script), frame_rate=10, plate_reader=ScriptedPlates())  # type: ignore[arg-type]
    events = []
    for i in range(14):
        events += pipeline.process(frame_with_box(i, 100, -6), i / 10).events
    events += pipeline.close()
    assert [e.payload["direction"] for e in events if e.type == "plate_read"] == ["in"]


def test_a_frame_that_breaks_the_detector_does_not_stop_the_worker() -> None:
    import threading

    from jiayuan.vision.worker import run_camera

    class Source:
        def frames(self, wait: object) -> object:
            return iter([(frame_with_box(i, 105, -6), i / 10) for i in range(14)])

    class Sink:
        device = "gate-1"

        def __init__(self) -> None:
            self.events: list[tuple[str, dict[str, object]]] = []

        def event(self, kind: str, payload: dict[str, object]) -> str:
            self.events.append((kind, payload))
            return "id"

        def snapshot(self, jpeg: bytes) -> str:
            return "snap"

        def live(self, jpeg: bytes) -> None:
            pass

    broken = [True]

    def script(i: int) -> list[Detection]:
        if i == 4 and broken:
            broken.clear()
            raise RuntimeError("corrupt frame")  # once: the next frame is fine again
        return moving_box(i, start=105, step=-6)

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    pipeline = Pipeline(config, FakeDetector(script), frame_rate=10)
    sink = Sink()
    stats = run_camera(Source(), pipeline, sink, threading.Event(), live_fps=0)  # type: ignore[arg-type]
    assert stats.failed == 1 and stats.analysed == 14
    assert [p["direction"] for k, p in sink.events if k == "line_cross"] == ["in"]


def test_crossing_between_the_first_two_detections_is_counted() -> None:
    # Seen twice below, then past the line by the second detection: 24 px per frame for a 30 px box
    # (boxes of consecutive frames barely overlap), so the tracker only names it on the second frame.
    detector = FakeDetector(lambda i: moving_box(i, start=74, step=-24) if i < 4 else [])
    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    pipeline = run(config, detector, [frame_with_box(i, 74, -24) for i in range(6)])
    assert crossings(pipeline) == [("gate", "in", "person")]


def test_weak_first_detections_before_the_crossing_are_part_of_the_path() -> None:
    # The first two boxes are too weak to start a track; the crossing happens between them and the
    # first confident one (21 px per frame for a 30 px box).
    def script(i: int) -> list[Detection]:
        if i > 6:
            return []
        cy = max(90 - 21 * i, 15)
        return [Detection(box=(70, cy - 15, 90, cy + 15), score=0.2 if i < 2 else 0.9, label="person")]

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False, motion_gating=False)
    pipeline = run(config, FakeDetector(script), [frame_with_box(i, 90, -21) for i in range(9)])
    assert crossings(pipeline) == [("gate", "in", "person")]


def test_a_weak_box_of_another_object_far_away_does_not_start_a_path() -> None:
    # A weak box below the line on the other side of the frame must not be joined to a person who
    # appears above it and walks away from the line.
    def script(i: int) -> list[Detection]:
        if i == 0:
            return [Detection(box=(0, 80, 20, 110), score=0.2, label="person")]
        cy = 40 - 4 * i
        return [Detection(box=(120, cy - 15, 140, cy + 15), score=0.9, label="person")] if i < 6 else []

    config = CameraConfig(camera="gate-1", lines=(LINE,), min_box_area=0, plates=False)
    pipeline = run(config, FakeDetector(script), [frame_with_box(i, 40, -4) for i in range(8)])
    assert crossings(pipeline) == []


def test_a_first_box_ending_just_short_of_the_border_still_came_in_over_it() -> None:
    # A detector's box for a person walking in at the bottom ends a few pixels above the edge
    # (here 4.4 px of a 432 px frame), with its centre already past the line.
    from jiayuan.vision.geometry import edge_entry

    assert edge_entry((242, 156, 481, 427.6), 768, 432) == (361.5, 432.0)
    assert edge_entry((242, 156, 481, 400), 768, 432) is None


NEAR_EDGE = LineConfig(name="edge", x1=0, y1=105, x2=160, y2=105)


def walking_out_at_the_bottom(i: int, *, stop: int = 99) -> list[Detection]:
    """A 20×40 person walking down 5 px a frame; the detector loses it once less than 30 px shows."""
    cy = min(40 + 5 * i, 40 + 5 * stop)
    top, bottom = cy - 20, min(120, cy + 20)
    return [Detection(box=(70, top, 90, bottom), score=0.9, label="person")] if bottom - top >= 30 else []


def test_a_person_walking_out_over_the_border_past_a_line_near_it_is_counted() -> None:
    # The box centre never gets past the band below the line: the box is cut by the border first.
    config = CameraConfig(
        camera="gate-1", lines=(NEAR_EDGE,), min_box_area=0, plates=False, motion_gating=False
    )
    pipeline = run(config, FakeDetector(walking_out_at_the_bottom), [blank()] * 60)
    assert crossings(pipeline) == [("edge", "out", "person")]


def test_a_person_standing_at_the_border_then_lost_is_not_counted() -> None:
    config = CameraConfig(
        camera="gate-1", lines=(NEAR_EDGE,), min_box_area=0, plates=False, motion_gating=False
    )
    # Walks down until its box touches the border, stands, then is lost (also at the end of the file).
    for frames in (60, 25):
        stands = FakeDetector(lambda i: walking_out_at_the_bottom(i, stop=12) if i < 20 else [])
        assert crossings(run(config, stands, [blank()] * frames)) == []
