"""Multi-object tracking with ByteTrack (the `trackers` package), plus per-track class votes and paths."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from jiayuan.vision.config import OBJECT_CLASSES, ObjectClass
from jiayuan.vision.geometry import Box, centre, iou

# One observation of an object: when (seconds) and its box.
Observation = tuple[float, Box]


@dataclass
class Track:
    """One tracked object as the pipeline sees it.

    `path` holds every box observed for the object, oldest first, including the ones seen before
    the tracker gave it an id (its tentative frames and weak first detections), so that a line it
    crossed in its first frames is still judged from where it really came from.
    """

    track_id: int
    box: Box
    score: float
    first_seen: float
    last_seen: float
    hits: int = 0
    votes: Counter[ObjectClass] = field(default_factory=Counter)
    path: list[Observation] = field(default_factory=list)
    # Observations dropped from the front of `path`, which keeps only the recent ones (a car parked
    # in view for days is still observed at every keyframe).
    dropped: int = 0

    def observe(self, t: float, box: Box, *, keep: int = 64) -> None:
        """Add an observation; the oldest half goes once the path is longer than `keep`."""
        self.path.append((t, box))
        if len(self.path) > keep:
            cut = keep // 2
            del self.path[:cut]
            self.dropped += cut

    @property
    def label(self) -> ObjectClass:
        """The class most of this track's detections had."""
        return self.votes.most_common(1)[0][0]


def _near(a: Box, b: Box) -> bool:
    """Whether box a could be the same object as box b one frame apart: overlapping, or close and alike."""
    if iou(a, b) >= 0.1:
        return True
    (ax, ay), (bx, by) = centre(a), centre(b)
    aw, ah, bw, bh = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
    if min(aw, ah, bw, bh) <= 0:
        return False
    ratio = (aw * ah) / (bw * bh)
    return 0.5 <= ratio <= 2.0 and abs(ax - bx) <= 0.6 * max(aw, bw) and abs(ay - by) <= 0.6 * max(ah, bh)


class Tracker:
    """ByteTrack over class-mapped detections; keeps tracks by id with the path seen before the id."""

    def __init__(self, *, frame_rate: float, lost_seconds: float = 2.0, history: int = 5) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(lost_seconds * 30)),
            frame_rate=frame_rate,
            track_activation_threshold=0.35,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=0.1,
            high_conf_det_threshold=0.4,
        )
        self.tracks: dict[int, Track] = {}
        # ByteTrack gives a new object an id only from its second frame, and never starts one from a
        # weak box: keep what it saw before, per tentative tracklet and per recent untracked box.
        self._tentative: dict[int, list[Observation]] = {}  # by id() of the live tracklet
        self._untracked: deque[list[Observation]] = deque(maxlen=history)

    def update(
        self, boxes: list[Box], scores: list[float], labels: list[ObjectClass], t: float
    ) -> list[Track]:
        """Feed one frame's detections taken at time t (seconds); the tracks seen in it."""
        if boxes:
            detections = sv.Detections(
                xyxy=np.asarray(boxes, dtype=np.float32),
                confidence=np.asarray(scores, dtype=np.float32),
                class_id=np.asarray([OBJECT_CLASSES.index(c) for c in labels], dtype=int),
            )
        else:
            detections = sv.Detections.empty()
        result = self._tracker.update(detections, timestamp=t)
        self._note_tentative(result, t)
        seen: list[Track] = []
        for xyxy, score, class_id, track_id in zip(
            result.xyxy, _scores(result), _class_ids(result), _track_ids(result), strict=True
        ):
            if track_id < 0:
                continue
            box = (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))
            track = self.tracks.get(int(track_id))
            if track is None:
                before = self._history_of(int(track_id))
                track = Track(
                    track_id=int(track_id),
                    box=box,
                    score=float(score),
                    first_seen=before[0][0] if before else t,
                    last_seen=t,
                    path=before,
                )
                self.tracks[track.track_id] = track
            track.box, track.score, track.last_seen = box, float(score), t
            track.observe(t, box)
            track.hits += 1
            track.votes[OBJECT_CLASSES[int(class_id)]] += 1
            seen.append(track)
        return seen

    def _note_tentative(self, result: sv.Detections, t: float) -> None:
        """Remember where tentative tracklets and untracked boxes were at time t."""
        alive = {id(tl): tl for tl in self._tracker.tracks}
        for key in list(self._tentative):
            if key not in alive:
                del self._tentative[key]
        for key, tracklet in alive.items():
            if tracklet.tracker_id != -1 or tracklet.time_since_update != 0:
                continue
            box = _box(tracklet.get_state_bbox())
            path = self._tentative.get(key)
            if path is None:
                # A tracklet born now: weak boxes of the frames before, chained by nearness, are its start.
                path = self._chain_back(box)
                self._tentative[key] = path
            path.append((t, box))
        untracked = [
            (t, _box(xyxy)) for xyxy, tid in zip(result.xyxy, _track_ids(result), strict=True) if tid < 0
        ]
        self._untracked.append(untracked)

    def _chain_back(self, box: Box) -> list[Observation]:
        path: list[Observation] = []
        for frame in reversed(self._untracked):
            near = [obs for obs in frame if _near(obs[1], box)]
            if not near:
                break
            best = max(near, key=lambda obs: iou(obs[1], box))
            path.append(best)
            box = best[1]
        return path[::-1]

    def _history_of(self, track_id: int) -> list[Observation]:
        for tracklet in self._tracker.tracks:
            if tracklet.tracker_id == track_id:
                return self._tentative.pop(id(tracklet), [])
        return []

    def expire(self, t: float, after: float) -> list[Track]:
        """Forget tracks not seen for `after` seconds; returns them."""
        gone = [tr for tr in self.tracks.values() if t - tr.last_seen > after]
        for track in gone:
            del self.tracks[track.track_id]
        return gone


def _box(xyxy: np.ndarray) -> Box:
    return (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))


def _scores(d: sv.Detections) -> np.ndarray:
    return d.confidence if d.confidence is not None else np.ones(len(d))


def _class_ids(d: sv.Detections) -> np.ndarray:
    return d.class_id if d.class_id is not None else np.zeros(len(d), dtype=int)


def _track_ids(d: sv.Detections) -> np.ndarray:
    return d.tracker_id if d.tracker_id is not None else np.full(len(d), -1)
