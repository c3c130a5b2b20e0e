"""Line crossing with hysteresis on confirmed tracks, zone occupancy and night loitering."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from jiayuan.vision.config import LineConfig, ObjectClass, ZoneConfig
from jiayuan.vision.geometry import (
    Box,
    Point,
    centre,
    foot,
    inside_share,
    point_in_polygon,
    segments_intersect,
    signed_distance,
)
from jiayuan.vision.track import Track

Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Crossing:
    """A counted crossing of one line by one track, at the time of the observation that completed it."""

    line: str
    direction: Direction
    label: ObjectClass
    track_id: int
    at: float = 0.0


@dataclass
class _LineState:
    side: int = 0
    point: Point = (0.0, 0.0)
    seen: int = 0  # how many of the track's observations have been judged
    pending: list[tuple[Direction, float]] = field(default_factory=list)


class LineCounter:
    """Counts crossings of one line per direction, judging each track's whole path once it is confirmed.

    Hysteresis: the reference point (box centre) must settle beyond the band on one side, then
    beyond it on the other, and the path between must pass through the segment. The band is
    `margin` pixels, or `ratio` of the box's size across the line when that is more, so that the
    jitter of a big box standing on the line never counts and a box that only touches the line
    and goes back is no crossing. The path starts with what was seen before the tracker confirmed
    the object, so a crossing in its first frames counts.

    A detector sometimes boxes part of a person (a half pasted over by the one behind, a torso) as
    well as the whole, and the part gets a track of its own: a crossing whose track lay inside
    another that crossed the same way moments before, at every moment both were seen, is that
    other object's crossing again and is not counted.
    """

    # How far apart in time (seconds) a part's crossing can be from its whole's, and how much of
    # the part's box lies inside the whole's.
    echo_seconds = 1.0
    part_share = 0.8

    def __init__(self, line: LineConfig, *, margin: float, confirm_hits: int, ratio: float = 0.0) -> None:
        self.line = line
        self.margin = margin
        self.ratio = ratio
        self.confirm_hits = confirm_hits
        self._a: Point = (line.x1, line.y1)
        self._b: Point = (line.x2, line.y2)
        length = math.hypot(line.x2 - line.x1, line.y2 - line.y1)
        # Unit normal of the line: a box's extent along it is its size across the line.
        self._normal = ((line.y2 - line.y1) / length, (line.x1 - line.x2) / length)
        self._state: dict[int, _LineState] = {}
        self.totals: Counter[tuple[Direction, ObjectClass]] = Counter()
        # The crossings counted lately: direction, when, track.
        self._recent: deque[tuple[Direction, float, int]] = deque(maxlen=32)

    def band(self, box: Box) -> float:
        """Half-width of the dead band around the line for an object of this box."""
        across = abs(self._normal[0]) * (box[2] - box[0]) + abs(self._normal[1]) * (box[3] - box[1])
        return max(self.margin, self.ratio * across)

    def side(self, box: Box) -> int:
        """+1 beyond the band where s > 0, -1 beyond it where s < 0, 0 inside the band."""
        d = signed_distance(self._a, self._b, centre(box))
        band = self.band(box)
        return 1 if d > band else -1 if d < -band else 0

    def _judge(self, state: _LineState, t: float, box: Box) -> None:
        side = self.side(box)
        if side == 0:
            return
        p = centre(box)
        if state.side not in (0, side) and segments_intersect(state.point, p, self._a, self._b):
            state.pending.append(("in" if state.side > 0 else "out", t))
        state.side, state.point = side, p

    def update(self, track: Track, live: Mapping[int, Track] | None = None) -> list[Crossing]:
        """Follow a track to its newest observation; the crossings that became countable now.

        `live` holds the tracks in view, by id, to tell a part of another object from an object.
        """
        state = self._state.setdefault(track.track_id, _LineState())
        for t, box in track.path[max(0, state.seen - track.dropped) :]:
            self._judge(state, t, box)
        state.seen = track.dropped + len(track.path)
        if track.hits < self.confirm_hits or not state.pending:
            return []
        label = track.label
        crossings = [
            Crossing(line=self.line.name, direction=d, label=label, track_id=track.track_id, at=t)
            for d, t in state.pending
            if not self._part_of_another(track, d, t, live or {})
        ]
        state.pending.clear()
        counted = [c for c in crossings if label in self.line.classes]
        for c in counted:
            self.totals[(c.direction, c.label)] += 1
            self._recent.append((c.direction, c.at, c.track_id))
        return counted

    def _part_of_another(
        self, track: Track, direction: Direction, at: float, live: Mapping[int, Track]
    ) -> bool:
        for done, when, other_id in self._recent:
            other = live.get(other_id)
            if other is None or other_id == track.track_id or done != direction:
                continue
            if abs(when - at) <= self.echo_seconds and _lies_inside(track, other, self.part_share):
                return True
        return False

    def forget(self, track_id: int) -> None:
        """Drop a finished track (an unconfirmed track's pending crossing is never counted)."""
        self._state.pop(track_id, None)


def _lies_inside(part: Track, whole: Track, share: float) -> bool:
    """Whether part's box lay inside whole's at every moment both were observed (at least twice)."""
    # By time, the observed box last: a box inferred beyond the border shares its moment.
    boxes = dict(whole.path)
    shares = [inside_share(box, boxes[t]) for t, box in dict(part.path).items() if t in boxes]
    return len(shares) >= 2 and min(shares) >= share


def is_night(moment: datetime, start: time, end: time) -> bool:
    """Whether a local wall-clock moment lies in the night window (which may wrap midnight)."""
    now = moment.time()
    return start <= now or now < end if start > end else start <= now < end


@dataclass(frozen=True)
class Loitering:
    """A track that stayed in a zone at night for longer than allowed."""

    zone: str
    label: ObjectClass
    seconds: float
    track_id: int


class ZoneWatch:
    """Occupancy per class of one zone (reported when a new count holds) and night loitering."""

    def __init__(self, zone: ZoneConfig, *, stable_seconds: float, confirm_hits: int) -> None:
        self.zone = zone
        self.stable_seconds = stable_seconds
        self.confirm_hits = confirm_hits
        self._entered: dict[int, float] = {}
        self._reported_loiter: set[int] = set()
        self.reported: dict[ObjectClass, int] = {}
        self._candidate: dict[ObjectClass, tuple[int, float]] = {}

    def update(
        self, tracks: list[Track], t: float, local_now: datetime
    ) -> tuple[dict[ObjectClass, int], list[Loitering]]:
        """Tracks present now; the occupancy changes to report and new loitering."""
        inside = [
            tr
            for tr in tracks
            if tr.hits >= self.confirm_hits
            and tr.label in self.zone.classes
            and point_in_polygon(self.zone.points, foot(tr.box))
        ]
        counts = Counter(tr.label for tr in inside)
        changes: dict[ObjectClass, int] = {}
        for label in self.zone.classes:
            n = counts.get(label, 0)
            if self.reported.get(label, 0) == n:
                self._candidate.pop(label, None)
                continue
            since = self._candidate.setdefault(label, (n, t))
            if since[0] != n:
                self._candidate[label] = (n, t)
            elif t - since[1] >= self.stable_seconds:
                self.reported[label] = n
                changes[label] = n
                del self._candidate[label]
        ids = {tr.track_id for tr in inside}
        for gone in set(self._entered) - ids:
            del self._entered[gone]
        loiterers: list[Loitering] = []
        night = is_night(local_now, self.zone.night_start, self.zone.night_end)
        for tr in inside:
            entered = self._entered.setdefault(tr.track_id, t)
            limit = self.zone.loiter_seconds
            if (
                limit is not None
                and night
                and tr.label in self.zone.loiter_classes
                and t - entered >= limit
                and tr.track_id not in self._reported_loiter
            ):
                self._reported_loiter.add(tr.track_id)
                loiterers.append(
                    Loitering(
                        zone=self.zone.name,
                        label=tr.label,
                        seconds=round(t - entered, 1),
                        track_id=tr.track_id,
                    )
                )
        return changes, loiterers

    def forget(self, track_id: int) -> None:
        """Drop a finished track."""
        self._entered.pop(track_id, None)
        self._reported_loiter.discard(track_id)
