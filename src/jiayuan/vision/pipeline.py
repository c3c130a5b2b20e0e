"""One camera's analysis: dewarp, motion gate, detect, track, count, zones, plates and QR."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jiayuan.devices.protocol import EventType
from jiayuan.kernel.clock import local, utcnow
from jiayuan.vision.annotate import draw
from jiayuan.vision.config import CameraConfig, ObjectClass
from jiayuan.vision.counting import Crossing, LineCounter, ZoneWatch
from jiayuan.vision.detect import Detector, FakeDetector, Frame, to_protocol_class
from jiayuan.vision.dewarp import Dewarper
from jiayuan.vision.geometry import centre, edge_entry
from jiayuan.vision.motion import MotionGate
from jiayuan.vision.plate_event import plate_event
from jiayuan.vision.plates import PlateRead, PlateReader, consensus
from jiayuan.vision.qr import decode as decode_qr
from jiayuan.vision.track import Track, Tracker

VEHICLES: frozenset[ObjectClass] = frozenset({"car", "truck", "bus"})


@dataclass
class VisionEvent:
    """An event to publish; `evidence` is the frame to store as its snapshot."""

    type: EventType
    payload: dict[str, Any]
    evidence: Frame | None = None


@dataclass
class FrameResult:
    """What one frame produced."""

    view: Frame
    tracks: list[Track]
    events: list[VisionEvent]
    detected: bool
    crossings: list[Crossing]


@dataclass
class _PlateState:
    reads: list[tuple[PlateRead, Frame]] = field(default_factory=list)
    tries: int = 0
    last_try: float = -1e9
    direction: str | None = None


class Pipeline:
    """Turns frames into events; holds all per-camera state, needs no broker and no database."""

    def __init__(
        self,
        config: CameraConfig,
        detector: Detector,
        *,
        frame_rate: float,
        plate_reader: PlateReader | None = None,
        now_local: Callable[[], datetime] = lambda: local(utcnow()),
        lost_seconds: float = 2.0,
        plate_interval: float = 0.5,
        plate_tries: int = 6,
        plate_background: bool = True,
    ) -> None:
        self.config = config
        self.detector = detector
        self.dewarper = Dewarper(config.dewarp) if config.dewarp else None
        self.motion = MotionGate()
        self.tracker = Tracker(frame_rate=frame_rate, lost_seconds=lost_seconds)
        self.counters = [
            LineCounter(
                line,
                margin=config.line_margin,
                confirm_hits=config.confirm_hits,
                ratio=config.line_margin_ratio,
            )
            for line in config.lines
        ]
        self.zones = [
            ZoneWatch(zone, stable_seconds=config.occupancy_stable_seconds, confirm_hits=config.confirm_hits)
            for zone in config.zones
        ]
        self.plate_reader = plate_reader
        self.now_local = now_local
        # Tracks are kept a little past the tracker's own buffer, since still frames are not detected.
        self.expire_after = max(lost_seconds, 2 * config.keyframe_seconds)
        self.plate_interval, self.plate_tries = plate_interval, plate_tries
        self._plates: dict[int, _PlateState] = {}
        # Plate OCR takes 50 ms to seconds: it runs beside the analysis, one read at a time.
        self.plate_background = plate_background
        self._plate_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"plates-{config.camera}")
        self._plate_job: tuple[int, Frame, Future[PlateRead | None]] | None = None
        self._last_detect = -1e9
        self._qr_seen: dict[str, float] = {}
        self._last_qr = -1e9
        self.qr_interval = 0.3
        self.frames = 0
        self.detections_run = 0
        self._last_view: Frame | None = None
        self._last_t = -1e9

    def process(self, frame: Frame, t: float) -> FrameResult:
        """Analyse one frame taken at t seconds."""
        self.frames += 1
        view = self.dewarper(frame) if self.dewarper else frame
        moved = self.motion.moved(view)
        detect = (
            not self.config.motion_gating or moved or t - self._last_detect >= self.config.keyframe_seconds
        )
        seen: list[Track] = []
        events: list[VisionEvent] = []
        counted: list[Crossing] = []
        if detect:
            self._last_detect = t
            self.detections_run += 1
            seen = self._detect_and_track(view, t)
        if isinstance(self.detector, FakeDetector):
            self.detector.advance()
        self._last_view, self._last_t = view, t
        for track in seen:
            events.extend(self._count(track, counted))
        live = list(self.tracker.tracks.values())
        local_now = self.now_local()
        for watch in self.zones:
            changes, loiterers = watch.update(live, t, local_now)
            for label, count in changes.items():
                events.append(
                    VisionEvent("occupancy", {"zone": watch.zone.name, "class": label, "count": count})
                )
            for item in loiterers:
                payload = {
                    "zone": item.zone,
                    "class": item.label,
                    "seconds": item.seconds,
                    "track_id": item.track_id,
                }
                events.append(VisionEvent("loitering", payload, self._evidence(view, item.track_id)))
        if self.plate_reader is not None and self.config.plates:
            self._read_plates(view, seen, t)
        if self.config.qr and t - self._last_qr >= self.qr_interval:
            self._last_qr = t
            events.extend(self._scan_qr(view, t))
        for track in self.tracker.expire(t, self.expire_after):
            events.extend(self._finish(track, counted))
        return FrameResult(view=view, tracks=live, events=events, detected=detect, crossings=counted)

    def close(self) -> list[VisionEvent]:
        """Finish every open track (the end of a file): crossings of those that left, best plate reads."""
        self._collect_plates(wait=True)
        self._plate_pool.shutdown(wait=True)
        events: list[VisionEvent] = []
        for track in list(self.tracker.tracks.values()):
            # One still in the last frame analysed has not left: no crossing is made up for it.
            events.extend(self._finish(track, [], gone=track.last_seen < self._last_t))
        self.tracker.tracks.clear()
        return events

    def _detect_and_track(self, view: Frame, t: float) -> list[Track]:
        boxes, scores, labels = [], [], []
        for det in self.detector.detect(view):
            label = to_protocol_class(det.label, self.config.lane_class)
            x1, y1, x2, y2 = det.box
            if label is None or (x2 - x1) * (y2 - y1) < self.config.min_box_area:
                continue
            boxes.append(det.box)
            scores.append(det.score)
            labels.append(label)
        seen = self.tracker.update(boxes, scores, labels, t)
        h, w = view.shape[:2]
        for track in seen:
            if track.hits == 1:
                # An object whose first box touches the border came in over it: it was beyond that
                # border a moment before (the box, centred there, starts its path).
                t0, first = track.path[0]
                entry = edge_entry(first, w, h)
                if entry is not None:
                    cx, cy = centre(first)
                    dx, dy = entry[0] - cx, entry[1] - cy
                    track.path.insert(0, (t0, (first[0] + dx, first[1] + dy, first[2] + dx, first[3] + dy)))
        return seen

    def _count(self, track: Track, counted: list[Crossing]) -> list[VisionEvent]:
        events = []
        for counter in self.counters:
            for crossing in counter.update(track, self.tracker.tracks):
                counted.append(crossing)
                payload = {
                    "line": crossing.line,
                    "class": crossing.label,
                    "direction": crossing.direction,
                    "count": 1,
                    "track_id": crossing.track_id,
                }
                evidence = (
                    self._evidence(self._last_view, track.track_id) if self._last_view is not None else None
                )
                events.append(VisionEvent("line_cross", payload, evidence))
                if crossing.label in VEHICLES:
                    self._plates.setdefault(track.track_id, _PlateState()).direction = crossing.direction
        return events

    def _left_over_border(self, track: Track) -> bool:
        """Extend the path of a track that was last seen moving into the frame border, beyond it.

        The mirror of the entry rule: an object walking out over the border keeps its box centre
        inside the frame to the last, so its last box alone would leave it short of a line near
        the edge.
        """
        if self._last_view is None or len(track.path) < 2:
            return False
        h, w = self._last_view.shape[:2]
        t_last, last = track.path[-1]
        out = edge_entry(last, w, h)
        if out is None:
            return False
        (px, py), (cx, cy) = centre(track.path[max(0, len(track.path) - 3)][1]), centre(last)
        if (out[0] - cx) * (cx - px) + (out[1] - cy) * (cy - py) <= 0:
            return False  # standing at the border or moving away from it: it did not leave there
        dx, dy = out[0] - cx, out[1] - cy
        track.path.append((t_last, (last[0] + dx, last[1] + dy, last[2] + dx, last[3] + dy)))
        return True

    def _evidence(self, view: Frame, track_id: int) -> Frame:
        return draw(view, self.config, self.tracker.tracks.values(), self.counters, highlight=track_id)

    def _read_plates(self, view: Frame, seen: list[Track], t: float) -> None:
        assert self.plate_reader is not None
        self._collect_plates(wait=False)
        if self._plate_job is not None and self.plate_background:
            return  # one read at a time: the analysis never waits for the OCR
        for track in seen:
            x1, y1, x2, y2 = (int(v) for v in track.box)
            if track.label not in VEHICLES or track.hits < self.config.confirm_hits or x2 - x1 < 80:
                continue
            state = self._plates.setdefault(track.track_id, _PlateState())
            if state.tries >= self.plate_tries or t - state.last_try < self.plate_interval:
                continue
            state.tries += 1
            state.last_try = t
            crop = view[max(0, y1) : y2, max(0, x1) : x2].copy()
            if self.plate_background:
                self._plate_job = (
                    track.track_id,
                    crop,
                    self._plate_pool.submit(self.plate_reader.read_scene, crop),
                )
            else:
                self._fold_plate(track.track_id, crop, self.plate_reader.read_scene(crop))
            return

    def _collect_plates(self, *, wait: bool) -> None:
        job = self._plate_job
        if job is None or not (wait or job[2].done()):
            return
        self._plate_job = None
        self._fold_plate(job[0], job[1], job[2].result())

    def _fold_plate(self, track_id: int, crop: Frame, read: PlateRead | None) -> None:
        state = self._plates.get(track_id)
        if state is None or read is None:
            return
        state.reads.append((read, crop))

    def _finish(self, track: Track, counted: list[Crossing], *, gone: bool = True) -> list[VisionEvent]:
        events = self._count(track, counted) if gone and self._left_over_border(track) else []
        for counter in self.counters:
            counter.forget(track.track_id)
        for watch in self.zones:
            watch.forget(track.track_id)
        state = self._plates.pop(track.track_id, None)
        if state is None or not state.reads or state.direction is None:
            return events  # only vehicles that passed a gate line are reported
        # The reads of all the frames vote; the picture kept is the surest read of the winning text.
        best = consensus([read for read, _ in state.reads])
        assert best is not None
        evidence = max(
            state.reads, key=lambda item: (item[0].plate == best.plate, item[0].valid, item[0].confidence)
        )[1]
        event_type, payload = plate_event(best, direction=state.direction, track_id=track.track_id)
        return [*events, VisionEvent(event_type, payload, evidence)]

    def _scan_qr(self, view: Frame, t: float) -> list[VisionEvent]:
        events = []
        for text in decode_qr(view):
            if t - self._qr_seen.get(text, -1e9) < 10.0:
                continue  # the same pass held up for a while is one scan
            self._qr_seen[text] = t
            payload = {
                "token": text,
                "direction": self.config.qr_direction,
                "local_decision": None,
                "local_reason": None,
            }
            events.append(VisionEvent("qr_scan", payload))
        return events
