"""Chinese licence plates: format rules, plate colour, and reading with RapidOCR (models in its wheel)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from jiayuan.vision.detect import Frame

PlateColor = Literal["blue", "yellow", "green", "white", "black"]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # plates use no I or O
ORDINARY = re.compile(rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]$")
# New-energy plates: small cars D/F (and the newer A–K) then 5; large vehicles 5 digits then D/F.
NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_LETTER}](?:[A-HJK][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$")
_SUFFIX_COLOR: dict[str, PlateColor] = {
    "港": "black",
    "澳": "black",
    "学": "yellow",
    "警": "white",
    "挂": "yellow",
}
_SEPARATORS = re.compile(r"[\s·.・•\-_:：,，。]")


def normalise(raw: str) -> str:
    """The text without separators and spaces, upper-cased; characters are never substituted."""
    return _SEPARATORS.sub("", raw).upper()


def plate_format(plate: str) -> Literal["ordinary", "new_energy"] | None:
    """Which Chinese plate format the text follows, or None."""
    if NEW_ENERGY.match(plate):
        return "new_energy"
    if ORDINARY.match(plate):
        return "ordinary"
    return None


def format_color(plate: str) -> PlateColor | None:
    """The colour a plate's format implies, when it implies one."""
    if plate_format(plate) == "new_energy":
        return "green"
    suffix = plate[-1:] if plate else ""
    return _SUFFIX_COLOR.get(suffix)


def pixel_color(crop: Frame) -> PlateColor:
    """The plate background colour from the pixels: the larger of the two Otsu classes is the background."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    h, w = mask.shape
    inner = np.zeros_like(mask)
    inner[h // 8 : h - h // 8, w // 20 : w - w // 20] = 1
    bright = (mask > 0) & (inner > 0)
    dark = (mask == 0) & (inner > 0)
    # Characters are thin: the background is the class with more pixels inside the plate.
    background = bright if bright.sum() >= dark.sum() else dark
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hue, sat, val = (float(np.median(hsv[..., i][background])) for i in range(3))
    if sat < 60:
        # Colourless: black or white. A dark but coloured background is an underexposed colour plate.
        return "black" if val < 90 else "white"
    if 90 <= hue <= 135:
        return "blue"
    if 12 <= hue < 35:
        return "yellow"
    if 35 <= hue < 90:
        return "green"
    return "blue"


@dataclass(frozen=True)
class PlateRead:
    """A plate as read: text, whether it follows a plate format, colour, confidence and where it was."""

    plate: str
    raw: str
    valid: bool
    color: PlateColor
    confidence: float
    box: tuple[int, int, int, int] | None = None


def _candidates(image: Frame) -> list[tuple[int, int, int, int]]:
    """Plate-shaped regions of plate colours (blue, yellow, green), largest first."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    masks = [
        cv2.inRange(hsv, (100, 80, 50), (130, 255, 255)),
        cv2.inRange(hsv, (15, 80, 80), (35, 255, 255)),
        cv2.inRange(hsv, (35, 40, 80), (90, 255, 255)),
    ]
    h, w = image.shape[:2]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 60), max(3, h // 80)))
    found: list[tuple[int, int, int, int]] = []
    for mask in masks:
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh >= 10 and 2.0 <= bw / bh <= 6.0 and bw * bh >= 0.002 * w * h:
                found.append((x, y, x + bw, y + bh))
    return sorted(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)[:4]


class PlateReader:
    """Reads plates from plate crops, or finds them in vehicle crops and photos first."""

    def __init__(self, *, threads: int = 1) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # Text detection at most 960 px on the long side: the default (at least 736 on the short side)
        # blows small vehicle crops up and costs seconds.
        self._ocr: Any = RapidOCR(
            intra_op_num_threads=threads, inter_op_num_threads=1, det_limit_type="max", det_limit_side_len=960
        )

    def _recognise(self, crop: Frame) -> tuple[str, float]:
        result, _ = self._ocr(crop, use_det=False, use_cls=False, use_rec=True)
        if not result:
            return "", 0.0
        text, score = result[0]
        return str(text), float(score)

    def _read(self, crop: Frame, box: tuple[int, int, int, int] | None) -> PlateRead | None:
        raw, score = self._recognise(crop)
        plate = normalise(raw)
        if not plate:
            return None
        valid = plate_format(plate) is not None
        color = format_color(plate) or pixel_color(crop)
        # A read that follows no plate format stays visible, with its confidence halved.
        return PlateRead(
            plate=plate, raw=raw, valid=valid, color=color, confidence=score if valid else score / 2, box=box
        )

    def read_crop(self, crop: Frame) -> PlateRead | None:
        """Read an image that holds only the plate."""
        return self._read(crop, None)

    def read_scene(self, image: Frame) -> PlateRead | None:
        """Find the plate in a vehicle crop or photo and read it; the best read wins."""
        reads = [
            r
            for r in (
                self._read(image[y1:y2, x1:x2], (x1, y1, x2, y2)) for x1, y1, x2, y2 in _candidates(image)
            )
            if r
        ]
        if not any(r.valid and r.confidence >= 0.95 for r in reads):
            # Colour regions miss plates under odd light and can cut one short: text detection decides.
            reads.extend(self._detect_and_read(image))
        return max(reads, key=lambda r: (r.valid, r.confidence), default=None)

    def _detect_and_read(self, image: Frame) -> list[PlateRead]:
        result, _ = self._ocr(image, use_cls=False)
        reads = []
        for points, text, score in result or []:
            pts = np.asarray(points, dtype=np.float32)
            x1, y1 = (int(v) for v in pts.min(axis=0))
            x2, y2 = (int(v) for v in pts.max(axis=0))
            plate = normalise(str(text))
            if not plate:
                continue
            valid = plate_format(plate) is not None
            crop = image[max(0, y1) : y2, max(0, x1) : x2]
            color = format_color(plate) or (pixel_color(crop) if crop.size else "blue")
            conf = float(score) if valid else float(score) / 2
            reads.append(
                PlateRead(
                    plate=plate,
                    raw=str(text),
                    valid=valid,
                    color=color,
                    confidence=conf,
                    box=(x1, y1, x2, y2),
                )
            )
        return reads
