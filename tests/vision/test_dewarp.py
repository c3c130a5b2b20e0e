"""Dewarping: a synthetic fisheye frame with a marker in a known direction comes out in the view's centre."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jiayuan.vision.config import ConfigError, DewarpConfig
from jiayuan.vision.dewarp import Dewarper


def direction(yaw_deg: float, off_axis_deg: float) -> np.ndarray:
    """A unit ray in the fisheye camera's frame (x right, y down, z along the lens axis)."""
    yaw, off = math.radians(yaw_deg), math.radians(off_axis_deg)
    return np.array([math.sin(off) * math.cos(yaw), math.sin(off) * math.sin(yaw), math.cos(off)])


def fisheye_with_marker(size: int, marker: np.ndarray, radius_deg: float = 6.0) -> np.ndarray:
    """An equidistant 180° fisheye image: grey inside the circle, red where rays are near `marker`."""
    c = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    dx, dy = xs - c, ys - c
    r = np.hypot(dx, dy)
    theta = r / (size / 2) * (math.pi / 2)
    phi = np.arctan2(dy, dx)
    rays = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)
    near = rays @ marker > math.cos(math.radians(radius_deg))
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[r <= size / 2] = (90, 90, 90)
    image[near & (r <= size / 2)] = (0, 0, 255)
    return image


def red_centroid(view: np.ndarray) -> tuple[float, float] | None:
    """Where the red marker lies in a view, or None."""
    mask = (view[..., 2] > 200) & (view[..., 1] < 60)
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize(("yaw", "off_axis"), [(30.0, 60.0), (200.0, 45.0), (-90.0, 75.0)])
def test_view_facing_the_marker_has_it_in_the_centre(yaw: float, off_axis: float) -> None:
    source = fisheye_with_marker(600, direction(yaw, off_axis))
    view = Dewarper(
        DewarpConfig(mode="fisheye", yaw_deg=yaw, pitch_deg=off_axis, fov_deg=60, width=160, height=120)
    )(source)
    found = red_centroid(view)
    assert found is not None
    assert abs(found[0] - 79.5) < 3 and abs(found[1] - 59.5) < 3


def test_view_facing_away_does_not_see_the_marker() -> None:
    source = fisheye_with_marker(600, direction(30, 60))
    view = Dewarper(
        DewarpConfig(mode="fisheye", yaw_deg=210, pitch_deg=60, fov_deg=60, width=160, height=120)
    )(source)
    assert red_centroid(view) is None


def test_marker_to_the_right_of_the_view_appears_right_of_centre() -> None:
    # The view looks at yaw 0; the marker is a few degrees further round the lens (towards +yaw).
    source = fisheye_with_marker(600, direction(12, 60))
    view = Dewarper(DewarpConfig(mode="fisheye", yaw_deg=0, pitch_deg=60, fov_deg=60, width=160, height=120))(
        source
    )
    found = red_centroid(view)
    assert found is not None and abs(found[1] - 59.5) < 6
    assert found[0] != pytest.approx(79.5, abs=5)


def test_panorama_view_centre_is_the_chosen_longitude() -> None:
    pano = np.zeros((180, 360, 3), dtype=np.uint8)
    pano[85:95, 265:275] = (0, 0, 255)  # longitude +90°, on the horizon
    view = Dewarper(DewarpConfig(mode="panorama", yaw_deg=90, pitch_deg=0, fov_deg=40, width=80, height=60))(
        pano
    )
    found = red_centroid(view)
    assert found is not None and abs(found[0] - 39.5) < 3 and abs(found[1] - 29.5) < 3


def test_view_option_is_checked() -> None:
    assert DewarpConfig.parse_view("fisheye", "10,50,80").fov_deg == 80
    with pytest.raises(ConfigError, match="视角"):
        DewarpConfig.parse_view("fisheye", "10,50")
    with pytest.raises(ConfigError, match="视角"):
        DewarpConfig.parse_view("fisheye", "10,50,200")
