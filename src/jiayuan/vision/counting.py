"""Line crossing with hysteresis on confirmed tracks, zone occupancy and night loitering."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from jiayuan.vision.config import LineConfig, ObjectClass, ZoneConfig
from jiayuan.vision.geometry import Point, centre, foot, point_in_polygon, segments_intersect, signed_distance
from jiayuan.vision.track import Track

Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Crossing:
    """A counted crossing of one line by one track."""

    line: str
    direction: Direction
    label: ObjectClass
    track_id: int


class LineCounter:
    """Counts crossings of one line per direction; a crossing is counted once its track is confirmed.

    Hysteresis: the reference point (box centre) must settle more than `margin` pixels on one
    side, then more than `margin` on the other, and the path between must pass through the
    segment. Jitter inside the band never counts.
    """

    def __init__(self, line: LineConfig, *, margin: float, confirm_hits: int) -> None:
        self.line = line
        self.margin = margin
        self.confirm_hits = confirm_hits
        self._a: Point = (line.x1, line.y1)
        self._b: Point = (line.x2, line.y2)
        self._settled: dict[int, tuple[int, Point]] = {}
        self._pending: dict[int, list[Direction]] = {}
        self.totals: Counter[tuple[Direction, ObjectClass]] = Counter()

    def side(self, p: Point) -> int:
        """+1 beyond the margin where s > 0, -1 beyond it where s < 0, 0 inside the band."""
        d = signed_distance(self._a, self._b, p)
        return 1 if d > self.margin else -1 if d < -self.margin else 0

    def observe(self, track_id: int, p: Point) -> None:
        """Note a track's reference point; a settled change of side through the segment becomes pending."""
        side = self.side(p)
        if side == 0:
            return
        previous = self._settled.get(track_id)
        self._settled[track_id] = (side, p)
        if (
            previous is not None
            and previous[0] != side
            and segments_intersect(previous[1], p, self._a, self._b)
        ):
            self._pending.setdefault(track_id, []).append("in" if previous[0] > 0 else "out")

    def update(self, track: Track) -> list[Crossing]:
        """Follow a track one step; the crossings that became countable now."""
        self.observe(track.track_id, centre(track.box))
        if track.hits < self.confirm_hits or track.track_id not in self._pending:
            return []
        label = track.label
        crossings = [
            Crossing(line=self.line.name, direction=d, label=label, track_id=track.track_id)
            for d in self._pending.pop(track.track_id)
        ]
        counted = [c for c in crossings if label in self.line.classes]
        for c in counted:
            self.totals[(c.direction, c.label)] += 1
        return counted

    def forget(self, track_id: int) -> None:
        """Drop a finished track (an unconfirmed track's pending crossing is never counted)."""
        self._settled.pop(track_id, None)
        self._pending.pop(track_id, None)


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
