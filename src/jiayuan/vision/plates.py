"""Chinese licence plates: format rules, plate colour, and reading with two recognisers (`recognisers`).

The recognisers' per-step scores are decoded jointly with the plate grammar (`plate_grammar`), so a
read is always a plate-shaped text with each character's probability, or it is marked not valid. Double-row
plates are read row by row; in a photo the plate is found (colour regions, or text that lies in a
plate-like region) before it is read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from jiayuan.kernel.plates import layout_of
from jiayuan.vision.detect import Frame
from jiayuan.vision.plate_grammar import Decoded, Reading, decode_jointly
from jiayuan.vision.recognisers import GeneralRecogniser, PlateRecogniser, Recogniser

PlateColor = Literal["blue", "yellow", "green", "white", "black"]
PlateFormat = Literal["ordinary", "new_energy", "embassy"]
_SUFFIX_COLOR: dict[str, PlateColor] = {
    "港": "black",
    "澳": "black",
    "领": "black",
    "学": "yellow",
    "警": "white",
    "挂": "yellow",
}
_SEPARATORS = re.compile(r"[\s·.・•\-_:：,，。]")
# A grammar read is a plate only when every character had at least this probability: below it the
# grammar was choosing among characters the recogniser did not see. Chosen on the tuning split (even
# rows of the shared and derived sets): 0.5 trades few right reads for fewer wrong ones.
MIN_CHAR = 0.5
# Plates are 440×140 mm (single row) or 440×220 mm (double row): a crop at most this wide for its
# height may be a double-row plate and is also read row by row.
DOUBLE_ROW_ASPECT = 2.6
SURE = 0.95  # a colour region read this sure needs no text detection (as before the grammar)
# A crop whose text is turned by MIN_TILT degrees or more is turned level before it is read (up to
# MAX_TILT; a plate turned further is a detection gone wrong). Chosen on the tuning split.
MIN_TILT = 3.0
MAX_TILT = 15.0
# A lean of the characters (horizontal shift per row) at least this large is undone (tuning split).
MIN_SLANT = 0.2
# A crop's first rendering read this sure is not read again in the others. Chosen on the tuning
# split: at 0.9 a few blurred plates stopped on a sure but wrong first read; at 0.98 none did, and
# a crop costs 1.05–1.6 recogniser runs on average instead of 3.
STOP = 0.98


def normalise(raw: str) -> str:
    """The text without separators and spaces, upper-cased; characters are never substituted."""
    return _SEPARATORS.sub("", raw).upper()


def plate_format(plate: str) -> PlateFormat | None:
    """Which Chinese plate format the text follows, or None."""
    layout = layout_of(plate)
    return None if layout is None else layout.kind  # type: ignore[return-value]


def format_color(plate: str) -> PlateColor | None:
    """The colour a plate's format implies, when it implies one."""
    kind = plate_format(plate)
    if kind == "new_energy":
        return "green"
    if kind == "embassy":
        return "black"
    suffix = plate[-1:] if plate else ""
    return _SUFFIX_COLOR.get(suffix)


def _background(crop: Frame) -> tuple[float, float, float]:
    """Median hue, saturation and value of the background: the larger Otsu class inside the crop."""
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
    return hue, sat, val


def pixel_color(crop: Frame) -> PlateColor:
    """The plate background colour from the pixels: the larger of the two Otsu classes is the background."""
    hue, sat, val = _background(crop)
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


def plate_like(crop: Frame) -> bool:
    """Whether a region around detected text could be a plate: its size, shape and background.

    Plates are blue, yellow, green, white or black; a saturated red, orange or purple background
    (banners, most shop signs) is not a plate, nor is a text line far longer than seven characters.
    """
    h, w = crop.shape[:2]
    if h < 10 or not 1.5 <= w / h <= 8.0:
        return False
    hue, sat, _ = _background(crop)
    return sat < 60 or 12 <= hue <= 135


@dataclass(frozen=True)
class PlateRead:
    """A plate as read: text, whether it follows a plate format, colour, confidence and where it was.

    `valid` reads are plate-shaped texts decoded with the grammar, every character at least
    MIN_CHAR sure; `confidence` is then the weakest character's probability and `scores` holds each
    character's. Otherwise `plate` is the recogniser's own text, for a person to read.
    """

    plate: str
    raw: str
    valid: bool
    color: PlateColor
    confidence: float
    box: tuple[int, int, int, int] | None = None
    scores: tuple[float, ...] = ()


def _upright(image: Frame, contour: np.ndarray) -> Frame:
    """The region of a contour turned level: the plate's own rectangle (minimum-area), warped upright."""
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
    # A margin all round: the colour region can stop short of a character at the plate's edge.
    points = cv2.boxPoints(((cx, cy), (rw + 0.1 * max(rw, rh), rh + 0.1 * max(rw, rh)), angle)).astype(
        np.float32
    )
    by_sum, by_diff = points.sum(axis=1), np.diff(points, axis=1).ravel()
    tl, br = points[np.argmin(by_sum)], points[np.argmax(by_sum)]
    tr, bl = points[np.argmin(by_diff)], points[np.argmax(by_diff)]
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(np.array([tl, tr, br, bl]), target)
    level: Frame = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return level


def _candidates(image: Frame) -> list[tuple[tuple[int, int, int, int], Frame]]:
    """Plate-shaped regions of plate colours (blue, yellow, green), largest first, each turned level."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    masks = [
        cv2.inRange(hsv, (100, 80, 50), (130, 255, 255)),
        cv2.inRange(hsv, (15, 80, 80), (35, 255, 255)),
        cv2.inRange(hsv, (35, 40, 80), (90, 255, 255)),
    ]
    h, w = image.shape[:2]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 60), max(3, h // 80)))
    found: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
    for mask in masks:
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh >= 10 and 1.6 <= bw / bh <= 6.0 and bw * bh >= 0.002 * w * h:
                found.append(((x, y, x + bw, y + bh), contour))
    found.sort(key=lambda item: (item[0][2] - item[0][0]) * (item[0][3] - item[0][1]), reverse=True)
    regions = []
    for (x1, y1, x2, y2), contour in found[:4]:
        (_, _), (rw, rh), angle = cv2.minAreaRect(contour)
        skew = min(angle % 90, 90 - angle % 90)
        # A plate seen at an angle fills its bounding box badly: read it from its own rectangle.
        level = rw >= 10 and rh >= 10 and 3 <= skew <= 30
        regions.append(((x1, y1, x2, y2), _upright(image, contour) if level else image[y1:y2, x1:x2]))
    return regions


def split_rows(crop: Frame) -> tuple[Frame, Frame] | None:
    """A double-row plate's top row (province, letter) and bottom row (five characters), or None.

    Only crops about 2:1 qualify; the cut is the emptiest text row in the upper half (the top
    row's characters are smaller, about two fifths of the height).
    """
    h, w = crop.shape[:2]
    if h < 16 or w / h > DOUBLE_ROW_ASPECT:
        return None
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = mask > 0
    if ink.mean() > 0.5:
        ink = ~ink  # the characters are the smaller class
    profile = ink[:, w // 10 : w - w // 10].mean(axis=1)
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")
    lo, hi = int(0.25 * h), int(0.55 * h)
    split = lo + int(np.argmin(profile[lo:hi]))
    # The top row's two characters stand in the middle: read it cut to where its ink is, so the
    # recogniser sees them large rather than lost in a wide empty strip.
    columns = np.flatnonzero(ink[:split, w // 20 : w - w // 20].mean(axis=0) > 0.1) + w // 20
    top = crop[:split]
    if columns.size:
        pad = split // 3
        top = top[:, max(0, columns[0] - pad) : columns[-1] + 1 + pad]
    return top, crop[split:]


def _unevenness(edges: Frame, matrix: np.ndarray, axis: int) -> float:
    """How unevenly edge strength falls into rows (axis 1) or columns (axis 0) once warped."""
    h, w = edges.shape
    sums = cv2.warpAffine(edges, matrix, (w, h)).sum(axis=axis)
    return float(np.square(sums).sum())


def _edges(crop: Frame, dx: int, dy: int) -> Frame:
    grey = cv2.GaussianBlur(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), 1.0)
    edges: Frame = np.abs(cv2.Sobel(grey, cv2.CV_32F, dx, dy, ksize=3))
    return edges


def level_angle(crop: Frame) -> float:
    """The turn (degrees, counter-clockwise, within ±MAX_TILT) that sets the plate's text level.

    The characters' horizontal strokes and the plate's top and bottom edges line up in rows when
    the plate is level: the angle is the turn whose rows of horizontal-edge strength are the most
    uneven. Whole rows (not single edges) keep sensor noise and blur from deciding it.
    """
    edges = _edges(crop, 0, 1)
    h, w = edges.shape
    turns = np.arange(-2 * MAX_TILT, 2 * MAX_TILT + 1) / 2  # half-degree steps
    rows = [_unevenness(edges, cv2.getRotationMatrix2D((w / 2, h / 2), float(a), 1.0), 1) for a in turns]
    return float(turns[int(np.argmax(rows))])


def deskew(crop: Frame) -> Frame:
    """The crop turned so that its text is level, when it is turned by at least MIN_TILT.

    A plate crop is the upright box around a plate that may be turned: once turned back, the box
    is cut to the plate's own size, so that the characters fill the height the recogniser reads.
    """
    angle = level_angle(crop)
    if abs(angle) < MIN_TILT:
        return crop
    h, w = crop.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    level: Frame = cv2.warpAffine(
        crop, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    c, s = np.cos(np.radians(angle)), abs(np.sin(np.radians(angle)))
    pw = min(w, max(w / 2, (w * c - h * s) / (c * c - s * s)))
    ph = min(h, max(h / 2, (h * c - w * s) / (c * c - s * s)))
    x, y = int((w - pw) / 2), int((h - ph) / 2)
    return level[y : h - y, x : w - x]


def _shear(slant: float, height: int) -> np.ndarray:
    return np.array([[1.0, slant, -slant * height / 2], [0.0, 1.0, 0.0]], dtype=np.float32)


def deslant(crop: Frame) -> Frame:
    """The crop sheared so that the characters' vertical strokes stand upright.

    A plate seen from the side leans its characters (perspective); the lean is the shear, in steps
    of 0.05 up to ±0.35, whose columns of vertical-edge strength are the most uneven. Only a lean
    of at least MIN_SLANT is undone.
    """
    edges = _edges(crop, 1, 0)
    h = edges.shape[0]
    slants = np.linspace(-0.35, 0.35, 15)
    columns = [_unevenness(edges, _shear(float(k), h), 0) for k in slants]
    slant = round(float(slants[int(np.argmax(columns))]), 2)
    if abs(slant) < MIN_SLANT:
        return crop
    w = crop.shape[1]
    straight: Frame = cv2.warpAffine(
        crop, _shear(slant, h), (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return straight


def renderings(crop: Frame) -> list[Frame]:
    """The plate three ways: local contrast (CLAHE), levels stretched (2nd–98th percentile), sharpened."""
    lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 6)).apply(lab[..., 0])
    contrast = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    lo, hi = np.percentile(crop, (2, 98))
    stretched = np.clip((crop.astype(np.float32) - lo) * 255 / max(hi - lo, 1.0), 0, 255).astype(np.uint8)
    h, w = crop.shape[:2]
    scale = max(1.0, 48 / max(h, 1))  # the recogniser reads 48 px high: small plates are enlarged first
    large = cv2.resize(crop, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    sharpened = cv2.addWeighted(large, 1.6, cv2.GaussianBlur(large, (0, 0), 2), -0.6, 0)
    return [contrast, stretched, sharpened]


class PlateReader:
    """Reads plates from plate crops, or finds them in vehicle crops and photos first.

    A text line is read by the general recogniser; when that read is not sure (below STOP), the plate
    recogniser reads it too and the two are decoded jointly with the grammar (`recognisers`).
    """

    def __init__(self, *, threads: int = 1) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # Text detection at most 960 px on the long side: the default (at least 736 on the short side)
        # blows small vehicle crops up and costs seconds.
        self._ocr: Any = RapidOCR(
            intra_op_num_threads=threads, inter_op_num_threads=1, det_limit_type="max", det_limit_side_len=960
        )
        self.general: Recogniser = GeneralRecogniser(self._ocr)
        self.plate: Recogniser = PlateRecogniser(threads=threads)

    def read_line(self, line: Frame, crop: Frame, box: tuple[int, int, int, int] | None) -> PlateRead | None:
        """One text line (`line`, taken from `crop`)."""
        return self._read(lambda r: r.scores(line), crop, box)

    def read_rows(
        self, top: Frame, bottom: Frame, crop: Frame, box: tuple[int, int, int, int] | None
    ) -> PlateRead | None:
        """A double-row plate's two rows, read as one line: top, a blank step, bottom."""
        return self._read(lambda r: _one_line(r.scores(top), r.scores(bottom)), crop, box)

    def _read(
        self,
        scores_of: Callable[[Recogniser], np.ndarray],
        crop: Frame,
        box: tuple[int, int, int, int] | None,
    ) -> PlateRead | None:
        """The general recogniser's read when it is sure, as most plates are; else the joint read of both,
        unless that cannot settle a text the general one read validly (which then stands)."""
        general = Reading(self.general.grammar, scores_of(self.general))
        alone = self.decide([general], crop, box)
        if alone is not None and alone.valid and alone.confidence >= STOP:
            return alone
        plate = Reading(self.plate.grammar, scores_of(self.plate), chinese=self.plate.chinese)
        joint = self.decide([general, plate], crop, box)
        return alone if alone is not None and alone.valid and not (joint and joint.valid) else joint

    def decide(
        self, readings: Sequence[Reading], crop: Frame, box: tuple[int, int, int, int] | None
    ) -> PlateRead | None:
        """A read from the recognisers' scores (the general one's first): the joint grammar plate when
        it is sure, else not valid with the general recogniser's own text, for a person to read."""
        return _verdict(decode_jointly(readings), self.general.text(readings[0].probs), crop, box)

    def read_crop(self, crop: Frame, box: tuple[int, int, int, int] | None = None) -> PlateRead | None:
        """Read an image that holds only the plate (one row, or two rows read top then bottom).

        A turned crop is first set level (`deskew`) and its leaning characters stood upright
        (`deslant`). The plate is read in up to three renderings (local contrast, stretched levels,
        sharpened) and the surest read wins: each recovers plates the others lose to dim light, glare
        or blur. Reading stops at the first rendering that gives a valid read at least STOP sure, as
        most plates do on the first.
        """
        reads: list[PlateRead] = []
        for variant in renderings(deslant(deskew(crop))):
            reads.extend(self._read_rendering(variant, crop, box))
            best = _best(reads)
            if best is not None and best.valid and best.confidence >= STOP:
                break
        return _best(reads)

    def _read_rendering(
        self, variant: Frame, crop: Frame, box: tuple[int, int, int, int] | None
    ) -> list[PlateRead]:
        reads = [self.read_line(variant, crop, box)]
        rows = split_rows(variant)
        if rows is not None:
            reads.append(self.read_rows(*rows, crop, box))
        return [r for r in reads if r]

    def read_scene(self, image: Frame) -> PlateRead | None:
        """Find the plate in a vehicle crop or photo and read it; the best read wins."""
        reads = [r for r in (self.read_crop(region, box) for box, region in _candidates(image)) if r]
        if not any(r.valid and r.confidence >= SURE for r in reads):
            # Colour regions miss plates under odd light and can cut one short: text detection decides.
            reads.extend(self._detect_and_read(image))
        return _best(reads)

    def _detect_and_read(self, image: Frame) -> list[PlateRead]:
        """Text lines found in the image, read only where they lie in a plate-like region."""
        boxes, _ = self._ocr(image, use_cls=False, use_rec=False)
        reads = []
        h, w = image.shape[:2]
        for points in boxes or []:
            quad = np.asarray(points, dtype=np.float32)
            x1, y1 = (int(v) for v in quad.min(axis=0))
            x2, y2 = (int(v) for v in quad.max(axis=0))
            # The plate around the text: a margin of a quarter of the text's height.
            m = (y2 - y1) // 4
            region = image[max(0, y1 - m) : min(h, y2 + m), max(0, x1 - m) : min(w, x2 + m)]
            if not region.size or not plate_like(region):
                continue
            line = self._ocr.get_crop_img_list(image, [quad])[0]
            box = (x1, y1, x2, y2)
            read = _best(r for r in (self.read_line(v, region, box) for v in renderings(line)) if r)
            if read:
                reads.append(read)
        return reads


def _one_line(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """A double-row plate's two rows' scores as one line: top, a blank step, bottom."""
    gap = np.zeros((1, top.shape[1]), dtype=top.dtype)
    gap[0, 0] = 1.0  # so that the top row's last and the bottom row's first characters stay apart
    return np.concatenate([top, gap, bottom])


def _best(reads: Any) -> PlateRead | None:
    return max(reads, key=lambda r: (r.valid, r.confidence), default=None)


def _verdict(
    decoded: Decoded | None, raw: str, crop: Frame, box: tuple[int, int, int, int] | None
) -> PlateRead | None:
    seen = normalise(raw)
    # The recogniser's own text far longer than the plate is a line of writing with a plate-like
    # stretch in it (a sign, a banner), not a plate.
    if decoded is not None and decoded.confidence >= MIN_CHAR and len(seen) <= len(decoded.text) + 2:
        color = format_color(decoded.text) or pixel_color(crop)
        return PlateRead(
            plate=decoded.text,
            raw=raw,
            valid=True,
            color=color,
            confidence=decoded.confidence,
            box=box,
            scores=decoded.scores,
        )
    if not seen:
        return None
    confidence = decoded.confidence if decoded is not None else 0.0
    return PlateRead(
        plate=seen, raw=raw, valid=False, color=pixel_color(crop), confidence=confidence, box=box
    )


def consensus(reads: Sequence[PlateRead]) -> PlateRead | None:
    """One read for the reads of one vehicle: a per-position vote weighted by each character's probability.

    Only valid reads vote; the most supported length wins, then each position's most supported
    character. A position's support is the summed probability of the reads that agree with it,
    divided by the number of valid reads (so disagreeing and shorter/longer reads lower it); the
    consensus confidence is the weakest position's support. When the voted text follows no format
    (positions from different reads that do not fit together), the best supported whole read is
    taken. A track whose reads never follow a format yields its best not-valid read.
    """
    valid = [r for r in reads if r.valid]
    if not valid:
        return _best(reads)
    weight: dict[int, float] = defaultdict(float)
    for r in valid:
        weight[len(r.plate)] += r.confidence
    length = max(weight, key=lambda n: weight[n])
    same = [r for r in valid if len(r.plate) == length]
    chars: list[str] = []
    support: list[float] = []
    for i in range(length):
        votes: dict[str, float] = defaultdict(float)
        for r in same:
            votes[r.plate[i]] += r.scores[i] if r.scores else r.confidence
        winner = max(votes, key=lambda c: votes[c])
        chars.append(winner)
        support.append(votes[winner] / len(valid))
    text = "".join(chars)
    if plate_format(text) is None:
        totals: dict[str, float] = defaultdict(float)
        for r in same:
            totals[r.plate] += r.confidence
        text = max(totals, key=lambda p: totals[p])
        support = [totals[text] / len(valid)]
    agreeing = [r for r in same if r.plate == text]
    best = _best(agreeing or same)
    assert best is not None
    return PlateRead(
        plate=text,
        raw=best.raw,
        valid=True,
        color=format_color(text) or _vote_color(agreeing or same),
        confidence=min(support),
        box=best.box,
        scores=tuple(support) if len(support) == length else (),
    )


def _vote_color(reads: Sequence[PlateRead]) -> PlateColor:
    votes: dict[PlateColor, float] = defaultdict(float)
    for r in reads:
        votes[r.color] += r.confidence
    return max(votes, key=lambda c: votes[c])
