"""Helper of the snapshots service: is this a JPEG a camera could have taken (no database)."""

from __future__ import annotations

import struct

import cv2
import numpy as np

# Decoding a picture this large even at 1/8 scale costs more than evidence is worth; cameras send ≤ 8 MP.
MAX_PIXELS = 40_000_000
# SOF markers (baseline, progressive, lossless, arithmetic) carry the picture's height and width.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """`(width, height)` from a JPEG's frame header, without decoding; None when there is none."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end, or scan data before any frame header
            return None
        at += 2 + length
    return None


def jpeg_problem(data: bytes) -> str | None:
    """Why `data` is not a usable JPEG picture, or None: markers, size, and a decode at 1/8 scale."""
    if not data.startswith(b"\xff\xd8\xff"):
        return "not a JPEG: it does not start with FF D8 FF (不是 JPEG 图片)"
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "JPEG is cut short: no FF D9 end marker (JPEG 图片不完整)"
    size = jpeg_size(data)
    if size is None or size[0] == 0 or size[1] == 0:
        return "JPEG has no frame header with its size (JPEG 图片缺少尺寸信息)"
    if size[0] * size[1] > MAX_PIXELS:
        return f"JPEG of {size[0]}x{size[1]} pixels is over {MAX_PIXELS} (图片像素过多)"
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
        return "JPEG does not decode (JPEG 图片无法解码)"
    return None
