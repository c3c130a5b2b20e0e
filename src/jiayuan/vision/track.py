"""Multi-object tracking with ByteTrack (the `trackers` package), plus per-track class votes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from jiayuan.vision.config import OBJECT_CLASSES, ObjectClass
from jiayuan.vision.geometry import Box


@dataclass
class Track:
    """One tracked object as the pipeline sees it."""

    track_id: int
    box: Box
    score: float
    first_seen: float
    last_seen: float
    hits: int = 0
    votes: Counter[ObjectClass] = field(default_factory=Counter)

    @property
    def label(self) -> ObjectClass:
        """The class most of this track's detections had."""
        return self.votes.most_common(1)[0][0]


class Tracker:
    """ByteTrack over class-mapped detections; keeps confirmed tracks by id."""

    def __init__(self, *, frame_rate: float, lost_seconds: float = 2.0) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(lost_seconds * 30)),
            frame_rate=frame_rate,
            track_activation_threshold=0.35,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=0.1,
            high_conf_det_threshold=0.4,
        )
        self.tracks: dict[int, Track] = {}

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
        seen: list[Track] = []
        for xyxy, score, class_id, track_id in zip(
            result.xyxy, _scores(result), _class_ids(result), _track_ids(result), strict=True
        ):
            if track_id < 0:
                continue
            box = (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))
            track = self.tracks.get(int(track_id))
            if track is None:
                track = Track(track_id=int(track_id), box=box, score=float(score), first_seen=t, last_seen=t)
                self.tracks[track.track_id] = track
            track.box, track.score, track.last_seen = box, float(score), t
            track.hits += 1
            track.votes[OBJECT_CLASSES[int(class_id)]] += 1
            seen.append(track)
        return seen

    def expire(self, t: float, after: float) -> list[Track]:
        """Forget tracks not seen for `after` seconds; returns them."""
        gone = [tr for tr in self.tracks.values() if t - tr.last_seen > after]
        for track in gone:
            del self.tracks[track.track_id]
        return gone


def _scores(d: sv.Detections) -> np.ndarray:
    return d.confidence if d.confidence is not None else np.ones(len(d))


def _class_ids(d: sv.Detections) -> np.ndarray:
    return d.class_id if d.class_id is not None else np.zeros(len(d), dtype=int)


def _track_ids(d: sv.Detections) -> np.ndarray:
    return d.tracker_id if d.tracker_id is not None else np.full(len(d), -1)
