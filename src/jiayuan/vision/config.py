"""Per-camera configuration: counting lines, zones, the dewarped view and analysis options."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ObjectClass = Literal["person", "bicycle", "car", "truck", "bus"]
OBJECT_CLASSES: tuple[ObjectClass, ...] = ("person", "bicycle", "car", "truck", "bus")


class ConfigError(ValueError):
    """A camera configuration that cannot be used; the message names the field."""


class LineConfig(BaseModel):
    """A counting line; `in` is a crossing from the side where s > 0 to the side where s < 0."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    x1: float
    y1: float
    x2: float
    y2: float
    classes: tuple[ObjectClass, ...] = OBJECT_CLASSES

    @classmethod
    def parse(cls, text: str) -> LineConfig:
        """A line from `NAME:x1,y1,x2,y2` (the name may be left out)."""
        name, _, coords = text.rpartition(":")
        try:
            x1, y1, x2, y2 = (float(v) for v in coords.split(","))
        except ValueError as exc:
            raise ConfigError(f"计数线格式应为 名称:x1,y1,x2,y2，收到 {text!r}") from exc
        if (x1, y1) == (x2, y2):
            raise ConfigError(f"计数线两端点不能重合: {text!r}")
        return cls(name=name or "line", x1=x1, y1=y1, x2=x2, y2=y2)


class ZoneConfig(BaseModel):
    """A polygon zone: occupancy is reported for it, and loitering at night when set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    points: tuple[tuple[float, float], ...] = Field(min_length=3)
    classes: tuple[ObjectClass, ...] = OBJECT_CLASSES
    loiter_seconds: float | None = Field(default=None, gt=0)
    loiter_classes: tuple[ObjectClass, ...] = ("person",)
    night_start: time = time(22, 0)
    night_end: time = time(6, 0)

    @classmethod
    def parse(cls, text: str) -> ZoneConfig:
        """A zone from `NAME:x,y;x,y;x,y[...]`."""
        name, _, coords = text.partition(":")
        try:
            points = tuple(tuple(float(v) for v in pair.split(",")) for pair in coords.split(";"))
            return cls(name=name, points=points)
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"区域格式应为 名称:x,y;x,y;x,y（至少三个点），收到 {text!r}") from exc


class DewarpConfig(BaseModel):
    """The perspective view cut out of a 360° frame, facing the gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["fisheye", "panorama"] = "fisheye"
    # Fisheye: azimuth in the image (0 = towards the right edge, 90 = towards the bottom) and
    # the angle of the view away from the lens axis. Panorama: longitude and elevation.
    yaw_deg: float = Field(default=0.0, ge=-360, le=360)
    pitch_deg: float = Field(default=45.0, ge=-90, le=180)
    fov_deg: float = Field(default=90.0, gt=10, lt=170)
    width: int = Field(default=640, ge=32, le=4096)
    height: int = Field(default=480, ge=32, le=4096)
    # Fisheye lens: equidistant model; the image circle defaults to the frame's inscribed circle.
    lens_fov_deg: float = Field(default=180.0, gt=90, le=360)
    centre_x: float | None = None
    centre_y: float | None = None
    radius: float | None = Field(default=None, gt=0)

    @classmethod
    def parse_view(cls, mode: str, text: str) -> DewarpConfig:
        """A view from `YAW,PITCH,FOV` in degrees (PITCH: off the lens axis, or elevation for panoramas)."""
        try:
            yaw, pitch, fov = (float(v) for v in text.split(","))
            return cls(mode=mode, yaw_deg=yaw, pitch_deg=pitch, fov_deg=fov)
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"视角格式应为 方位角,俯仰角,视场角（度），收到 {text!r}") from exc


class CameraConfig(BaseModel):
    """Everything one camera worker needs to know about its camera."""

    model_config = ConfigDict(extra="forbid")

    camera: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    lines: tuple[LineConfig, ...] = ()
    zones: tuple[ZoneConfig, ...] = ()
    dewarp: DewarpConfig | None = None
    # A vehicle lane seen from an unusual angle (e.g. straight down): every non-person object is this class.
    lane_class: ObjectClass | None = None
    min_box_area: float = Field(default=600.0, ge=0)
    # Hysteresis: the reference point must be this far (pixels) beyond the line on both sides.
    line_margin: float = Field(default=6.0, ge=0)
    # ... or this fraction of the box's size across the line, when more (a big box jitters more).
    line_margin_ratio: float = Field(default=0.1, ge=0, le=0.5)
    # A track must have been seen this many times before it may count.
    confirm_hits: int = Field(default=3, ge=1)
    motion_gating: bool = True
    # Even on still frames the detector runs this often, so parked objects stay tracked.
    keyframe_seconds: float = Field(default=2.0, gt=0)
    plates: bool = True
    qr: bool = False
    qr_direction: Literal["in", "out"] = "in"
    # An occupancy change is reported once the new count has held this long.
    occupancy_stable_seconds: float = Field(default=1.0, ge=0)

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, zones: tuple[ZoneConfig, ...]) -> tuple[ZoneConfig, ...]:
        names = [z.name for z in zones]
        if len(names) != len(set(names)):
            raise ValueError("区域名称重复")
        return zones

    @classmethod
    def load(cls, path: Path) -> CameraConfig:
        """Read a camera configuration from a JSON file; errors name the field."""
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"无法读取摄像机配置 {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"摄像机配置 {path} 不是有效的 JSON（第 {exc.lineno} 行）") from exc
        except ValidationError as exc:
            raise ConfigError(describe(exc, str(path))) from exc


def describe(exc: ValidationError, where: str) -> str:
    """One line per invalid field of a configuration."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return f"摄像机配置 {where} 有误: " + "; ".join(parts)
