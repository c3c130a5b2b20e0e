"""Plane geometry for counting lines and zones, in image pixels (y grows downwards)."""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def centre(box: Box) -> Point:
    """The centre of an (x1, y1, x2, y2) box: the reference point for line crossing."""
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def foot(box: Box) -> Point:
    """The bottom centre of a box: where a person stands, for zones."""
    return ((box[0] + box[2]) / 2.0, box[3])


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    inter = _overlap(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def inside_share(a: Box, b: Box) -> float:
    """The share of box a's area that lies inside box b."""
    area = (a[2] - a[0]) * (a[3] - a[1])
    return _overlap(a, b) / area if area > 0 else 0.0


def signed_distance(a: Point, b: Point, p: Point) -> float:
    """Distance of p from the line a→b in pixels, positive on the side where s(p) > 0."""
    s = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    return s / length if length else 0.0


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segment p1p2 meets segment q1q2 (touching counts)."""
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True

    def on(a: Point, b: Point, c: Point, d: float) -> bool:
        return (
            d == 0
            and min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])
        )

    return on(q1, q2, p1, d1) or on(q1, q2, p2, d2) or on(p1, p2, q1, d3) or on(p1, p2, q2, d4)


def point_in_polygon(polygon: Sequence[Point], p: Point) -> bool:
    """Whether p lies inside the polygon (ray casting; edges count as inside)."""
    inside = False
    n = len(polygon)
    for i in range(n):
        a, b = polygon[i], polygon[(i + 1) % n]
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if p[0] <= x:
                inside = not inside
    return inside


def edge_entry(box: Box, width: int, height: int, *, margin: float = 0.02) -> Point | None:
    """Where an object whose first box touches the frame border came in: the border point it crossed.

    A box cut by the border has its centre well inside the frame although the object is only
    coming in; the object was outside, beyond that border, a moment earlier. "Touching" allows
    `margin` of the frame's size (at least 4 px): a detector's box rarely ends on the last pixel.
    """
    cx, cy = centre(box)
    mx, my = max(4.0, margin * width), max(4.0, margin * height)
    if box[3] >= height - my:
        return (cx, float(height))
    if box[1] <= my:
        return (cx, 0.0)
    if box[0] <= mx:
        return (0.0, cy)
    if box[2] >= width - mx:
        return (float(width), cy)
    return None
