"""360° dewarping: a perspective view cut out of a fisheye or equirectangular frame (OpenCV remap)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from jiayuan.vision.config import DewarpConfig
from jiayuan.vision.detect import Frame


def _unit(v: np.ndarray) -> np.ndarray:
    unit: np.ndarray = v / np.linalg.norm(v)
    return unit


def view_rays(config: DewarpConfig) -> np.ndarray:
    """Unit rays (H×W×3) of the view's pixels in the source camera's frame (x right, y down, z lens axis)."""
    yaw, pitch = math.radians(config.yaw_deg), math.radians(config.pitch_deg)
    if config.mode == "fisheye":
        forward = np.array(
            [math.sin(pitch) * math.cos(yaw), math.sin(pitch) * math.sin(yaw), math.cos(pitch)]
        )
        # "Down" in the view points along the lens axis: a ceiling fisheye looks at the floor.
        down = np.array([0.0, 0.0, 1.0]) - forward[2] * forward
        if np.linalg.norm(down) < 1e-6:
            down = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    else:
        # Panorama frame: y is the vertical (down), z points at longitude 0 on the horizon.
        forward = np.array(
            [math.sin(yaw) * math.cos(pitch), -math.sin(pitch), math.cos(yaw) * math.cos(pitch)]
        )
        down = np.array([0.0, 1.0, 0.0]) - forward[1] * forward
        if np.linalg.norm(down) < 1e-6:
            down = np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    forward, down = _unit(forward), _unit(down)
    right = np.cross(down, forward)
    w, h = config.width, config.height
    focal = (w / 2) / math.tan(math.radians(config.fov_deg) / 2)
    us, vs = np.meshgrid((np.arange(w) - (w - 1) / 2) / focal, (np.arange(h) - (h - 1) / 2) / focal)
    rays = forward[None, None, :] + us[..., None] * right[None, None, :] + vs[..., None] * down[None, None, :]
    unit: np.ndarray = rays / np.linalg.norm(rays, axis=2, keepdims=True)
    return unit


def build_maps(config: DewarpConfig, source_width: int, source_height: int) -> tuple[np.ndarray, np.ndarray]:
    """The remap tables (map_x, map_y) from the view's pixels to the source frame's pixels."""
    rays = view_rays(config)
    x, y, z = rays[..., 0], rays[..., 1], rays[..., 2]
    if config.mode == "fisheye":
        cx = config.centre_x if config.centre_x is not None else (source_width - 1) / 2
        cy = config.centre_y if config.centre_y is not None else (source_height - 1) / 2
        radius = config.radius if config.radius is not None else min(source_width, source_height) / 2
        theta = np.arccos(np.clip(z, -1.0, 1.0))  # angle off the lens axis
        phi = np.arctan2(y, x)
        r = radius * theta / (math.radians(config.lens_fov_deg) / 2)  # equidistant lens
        map_x, map_y = cx + r * np.cos(phi), cy + r * np.sin(phi)
    else:
        longitude = np.arctan2(x, z)
        latitude = np.arcsin(np.clip(y, -1.0, 1.0))
        map_x = (longitude / (2 * math.pi) + 0.5) * source_width - 0.5
        map_y = (latitude / math.pi + 0.5) * source_height - 0.5
    return map_x.astype(np.float32), map_y.astype(np.float32)


class Dewarper:
    """Remaps frames into the configured view; tables are rebuilt when the source size changes."""

    def __init__(self, config: DewarpConfig) -> None:
        self.config = config
        self._size: tuple[int, int] | None = None
        self._maps: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, frame: Frame) -> Frame:
        """The view of this frame."""
        h, w = frame.shape[:2]
        if self._maps is None or self._size != (w, h):
            self._maps, self._size = build_maps(self.config, w, h), (w, h)
        return cv2.remap(
            frame, self._maps[0], self._maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
