"""QR passes held up to a gate camera: zxing-cpp first, then retries on prepared images, then OpenCV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import cv2
import numpy as np
import zxingcpp

from jiayuan.vision.detect import Frame

_QR = zxingcpp.BarcodeFormat.QRCode | zxingcpp.BarcodeFormat.MicroQRCode


def zxing_only(image: Frame) -> list[str]:
    """What zxing-cpp alone decodes with its defaults (the baseline the decoder must match)."""
    return [b.text for b in zxingcpp.read_barcodes(image, formats=_QR) if b.valid]


def _zxing(image: Frame, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage) -> list[str]:
    return [
        b.text
        for b in zxingcpp.read_barcodes(
            image, formats=_QR, binarizer=binarizer, text_mode=zxingcpp.TextMode.HRI
        )
        if b.valid
    ]


def _variants(grey: np.ndarray) -> Iterator[np.ndarray]:
    """Prepared copies of a frame that help where the plain one fails: small, blurred or dim codes."""
    h, w = grey.shape
    if max(h, w) < 1600:
        yield cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(grey)
    yield clahe
    blurred = cv2.GaussianBlur(grey, (0, 0), 2)
    yield cv2.addWeighted(grey, 1.8, blurred, -0.8, 0)  # unsharp mask against focus blur
    if max(h, w) > 1000:
        yield cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def _opencv(grey: np.ndarray) -> list[str]:
    texts: list[str] = []
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        try:
            text, _, _ = detector.detectAndDecode(grey)
        except cv2.error:
            continue  # OpenCV raises on some payloads that are not UTF-8
        if text:
            texts.append(text)
            break
    return texts


def decode(image: Frame) -> list[str]:
    """Every QR text found in the image, trying cheaper ways first."""
    texts = _zxing(image)
    if texts:
        return texts
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    attempts: list[Callable[[], list[str]]] = [
        lambda: _zxing(grey, zxingcpp.Binarizer.GlobalHistogram),
        lambda: _zxing(grey, zxingcpp.Binarizer.FixedThreshold),
    ]
    attempts += [partial(_zxing, v) for v in _variants(grey)]
    attempts.append(lambda: _opencv(grey))
    for attempt in attempts:
        texts = attempt()
        if texts:
            return texts
    return []
