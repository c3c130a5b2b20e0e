"""Line crossing per direction and class, hysteresis, confirmation, occupancy and night loitering."""

from __future__ import annotations

from datetime import datetime, time

from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.vision.config import LineConfig, ZoneConfig
from jiayuan.vision.counting import LineCounter, ZoneWatch, is_night
from jiayuan.vision.track import Track

# Horizontal line across y = 50; `in` is moving up the image (from s > 0 below to s < 0 above).
LINE = LineConfig(name="gate", x1=0, y1=50, x2=100, y2=50)


def track_at(
    track_id: int, cx: float, cy: float, *, hits: int = 5, label: str = "person", size: float = 10
) -> Track:
    """A track whose box (size × size) is centred on (cx, cy), with that one box as its path."""
    box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    tr = Track(track_id=track_id, box=box, score=0.9, first_seen=0, last_seen=0, hits=hits, path=[(0.0, box)])
    tr.votes[label] += 1  # type: ignore[index]
    return tr


TRACKS: dict[tuple[LineCounter, int], Track] = {}


def step(counter: LineCounter, track_id: int, x: float, y: float, **kw: object) -> list[str]:
    """Move the counter's track `track_id` to (x, y) (one more observation); the directions counted."""
    new = track_at(track_id, x, y, **kw)  # type: ignore[arg-type]
    track = TRACKS.setdefault((counter, track_id), new)
    if track is not new:
        track.box, track.hits, track.votes = new.box, new.hits, new.votes
        track.path.append((len(track.path) / 10, new.box))
    return [c.direction for c in counter.update(track)]


def walk(
    counter: LineCounter, track_id: int, ys: list[float], *, x: float = 50, label: str = "person"
) -> list[str]:
    """Move a track through the given y positions; the directions counted."""
    counted: list[str] = []
    for y in ys:
        counted += step(counter, track_id, x, y, label=label)
    return counted


def test_crossing_up_counts_in_and_down_counts_out() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=1)
    assert walk(counter, 1, [80, 65, 52, 40, 20]) == ["in"]
    assert walk(counter, 2, [20, 40, 60, 90]) == ["out"]
    assert counter.totals[("in", "person")] == 1
    assert counter.totals[("out", "person")] == 1


def test_jitter_inside_the_band_never_counts() -> None:
    counter = LineCounter(LINE, margin=5, confirm_hits=1)
    # Oscillating around the line within ±4 px: never settles on the other side.
    assert walk(counter, 1, [70, 54, 47, 53, 46, 54, 48, 70]) == []


def test_hysteresis_needs_the_margin_on_both_sides() -> None:
    counter = LineCounter(LINE, margin=5, confirm_hits=1)
    assert walk(counter, 1, [70, 53, 46]) == []  # 46 is only 4 px past the line
    assert walk(counter, 1, [44]) == ["in"]


def test_back_and_forth_counts_each_real_crossing() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=1)
    assert walk(counter, 1, [80, 20, 80]) == ["in", "out"]


def test_passing_beside_the_segment_does_not_count() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=1)
    assert walk(counter, 1, [80, 20], x=150) == []


def test_crossing_waits_for_a_confirmed_track() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=3)
    assert step(counter, 1, 50, 80, hits=1) == []
    assert step(counter, 1, 50, 20, hits=2) == []
    assert step(counter, 1, 50, 15, hits=3) == ["in"]


def test_unconfirmed_track_that_vanishes_is_never_counted() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=3)
    step(counter, 1, 50, 80, hits=1)
    step(counter, 1, 50, 20, hits=2)
    counter.forget(1)
    assert counter.update(track_at(1, 50, 15, hits=3)) == []
    assert not counter.totals


def test_counts_per_class_and_line_class_filter() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=1)
    assert walk(counter, 1, [80, 20], label="car") == ["in"]
    assert walk(counter, 2, [80, 20], label="bicycle") == ["in"]
    assert counter.totals == {("in", "car"): 1, ("in", "bicycle"): 1}
    people_only = LineCounter(LINE.model_copy(update={"classes": ("person",)}), margin=3, confirm_hits=1)
    assert walk(people_only, 1, [80, 20], label="truck") == []


def test_in_follows_the_label_convention_for_a_vertical_line() -> None:
    # Line 600,432 → 600,0: s = 432·(x − 600); moving right goes from s < 0 to s > 0, which is `out`.
    counter = LineCounter(LineConfig(name="exit", x1=600, y1=432, x2=600, y2=0), margin=3, confirm_hits=1)
    counted = [d for x in (500, 580, 620, 700) for d in step(counter, 1, x, 200)]
    assert counted == ["out"]


def test_crossing_in_the_first_frames_counts_once_the_track_is_confirmed() -> None:
    # The tracker saw the object below the line and already above it before it confirmed the track.
    counter = LineCounter(LINE, margin=3, confirm_hits=3, ratio=0.1)
    first = Track(track_id=4, box=(40, 60, 60, 100), score=0.3, first_seen=0, last_seen=0.2, hits=1)
    first.votes["person"] += 1
    first.path = [(0.0, (40, 60, 60, 100)), (0.1, (40, 20, 60, 60))]
    assert counter.update(first) == []  # not confirmed yet: nothing is published
    first.hits = 3
    first.path.append((0.2, (40, 10, 60, 50)))
    crossings = counter.update(first)
    assert [(c.direction, c.at) for c in crossings] == [("in", 0.1)]
    first.path.append((0.3, (40, 5, 60, 45)))
    assert counter.update(first) == []


def moving(track_id: int, boxes: list[tuple[float, float, float, float]], *, start: int = 0) -> Track:
    """A confirmed person track observed at 0.1 s steps from step `start`, with these boxes."""
    path = [((start + i) / 10, box) for i, box in enumerate(boxes)]
    track = Track(track_id=track_id, box=boxes[-1], score=0.9, first_seen=0, last_seen=0, hits=5, path=path)
    track.votes["person"] += 1
    return track


def test_a_part_of_a_person_boxed_on_its_own_does_not_count_that_person_again() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=3, ratio=0.1)
    # A person 40 px tall walks up over the line; a torso box inside theirs crosses just after.
    person = moving(1, [(30, 70 - 10 * i, 70, 110 - 10 * i) for i in range(7)])
    torso = moving(2, [(40, 75 - 10 * i, 60, 95 - 10 * i) for i in range(2, 8)], start=2)
    live = {1: person, 2: torso}
    assert [c.direction for c in counter.update(person, live)] == ["in"]
    assert counter.update(torso, live) == []
    # Someone beside them (not inside) crossing the same way at the same time counts.
    beside = moving(3, [(72, 70 - 10 * i, 100, 110 - 10 * i) for i in range(7)])
    assert [c.direction for c in counter.update(beside, {**live, 3: beside})] == ["in"]
    # Inside once but not at every moment both were seen: a person of their own.
    passing = moving(
        4,
        [
            (40, 75 - 10 * i, 60, 95 - 10 * i) if i == 3 else (0, 75 - 10 * i, 20, 95 - 10 * i)
            for i in range(2, 8)
        ],
        start=2,
    )
    assert [c.direction for c in counter.update(passing, {**live, 4: passing})] == ["in"]
    assert counter.totals[("in", "person")] == 3


def test_jitter_of_a_big_box_standing_on_the_line_counts_once() -> None:
    # A 100 px tall person crosses and then stands on the line: the centre wobbles ±9 px.
    counter = LineCounter(LINE, margin=6, confirm_hits=1, ratio=0.1)
    ys = [120, 90, 65, 38, 59, 41, 58, 40, 59, 42, 30, 10]
    assert [d for y in ys for d in step(counter, 1, 50, y, size=100)] == ["in"]


def test_touching_the_line_and_going_back_is_no_crossing() -> None:
    counter = LineCounter(LINE, margin=6, confirm_hits=1, ratio=0.1)
    ys = [120, 90, 62, 53, 42, 55, 80, 120]  # the centre reaches 8 px past the line, then turns back
    assert [d for y in ys for d in step(counter, 1, 50, y, size=100)] == []


ZONE = ZoneConfig(name="door", points=((0, 0), (100, 0), (100, 100), (0, 100)), loiter_seconds=60)
NIGHT = datetime(2026, 11, 27, 23, 30, tzinfo=LOCAL_TZ)
DAY = datetime(2026, 11, 27, 14, 0, tzinfo=LOCAL_TZ)


def test_occupancy_is_reported_once_the_count_holds() -> None:
    watch = ZoneWatch(ZONE, stable_seconds=1.0, confirm_hits=1)
    inside = [track_at(1, 50, 40), track_at(2, 30, 40)]
    assert watch.update(inside, 0.0, DAY)[0] == {}
    assert watch.update(inside, 0.5, DAY)[0] == {}
    assert watch.update(inside, 1.0, DAY)[0] == {"person": 2}
    assert watch.update(inside, 2.0, DAY)[0] == {}  # unchanged: nothing new to say
    # A one-frame flicker to 1 is not reported; a lasting drop is.
    assert watch.update(inside[:1], 3.0, DAY)[0] == {}
    assert watch.update(inside, 3.2, DAY)[0] == {}
    assert watch.update([], 4.0, DAY)[0] == {}
    assert watch.update([], 5.0, DAY)[0] == {"person": 0}


def test_tracks_outside_the_zone_or_unconfirmed_do_not_occupy_it() -> None:
    watch = ZoneWatch(ZONE, stable_seconds=0, confirm_hits=3)
    tracks = [track_at(1, 150, 40), track_at(2, 50, 40, hits=1)]
    assert watch.update(tracks, 0.0, DAY)[0] == {}


def test_loitering_at_night_is_reported_once() -> None:
    watch = ZoneWatch(ZONE, stable_seconds=0, confirm_hits=1)
    person = [track_at(7, 50, 40)]
    assert watch.update(person, 0.0, NIGHT)[1] == []
    assert watch.update(person, 59.0, NIGHT)[1] == []
    found = watch.update(person, 61.0, NIGHT)[1]
    assert [(x.zone, x.track_id, x.seconds) for x in found] == [("door", 7, 61.0)]
    assert watch.update(person, 120.0, NIGHT)[1] == []


def test_no_loitering_by_day_or_for_vehicles() -> None:
    watch = ZoneWatch(ZONE, stable_seconds=0, confirm_hits=1)
    assert watch.update([track_at(1, 50, 40)], 0.0, DAY)[1] == []
    assert watch.update([track_at(1, 50, 40)], 500.0, DAY)[1] == []
    car = [track_at(2, 50, 40, label="car")]
    watch.update(car, 0.0, NIGHT)
    assert watch.update(car, 500.0, NIGHT)[1] == []


def test_leaving_the_zone_restarts_the_loitering_clock() -> None:
    watch = ZoneWatch(ZONE, stable_seconds=0, confirm_hits=1)
    watch.update([track_at(1, 50, 40)], 0.0, NIGHT)
    watch.update([track_at(1, 150, 40)], 50.0, NIGHT)
    watch.update([track_at(1, 50, 40)], 55.0, NIGHT)
    assert watch.update([track_at(1, 50, 40)], 100.0, NIGHT)[1] == []
    assert len(watch.update([track_at(1, 50, 40)], 116.0, NIGHT)[1]) == 1


def test_night_window_wraps_midnight() -> None:
    start, end = time(22, 0), time(6, 0)
    assert is_night(NIGHT, start, end)
    assert is_night(NIGHT.replace(hour=3), start, end)
    assert not is_night(DAY, start, end)
    assert is_night(DAY, time(13, 0), time(15, 0))


def test_a_long_track_keeps_a_short_path_and_still_counts() -> None:
    counter = LineCounter(LINE, margin=3, confirm_hits=1)
    track = track_at(9, 50, 90)
    for i in range(500):  # parked below the line for a long time, then drives up across it
        track.observe(i / 10, track.box)
        assert counter.update(track) == []
    assert len(track.path) <= 64 and track.dropped > 400
    counted = []
    for y in (70, 40, 20):
        track.observe(50.0, (45, y - 5, 55, y + 5))
        counted += [c.direction for c in counter.update(track)]
    assert counted == ["in"]
