"""What a photo or voice note on a case may be, and how a photo is made safe to keep and show.

A photo is decoded and encoded again as JPEG: what is kept is a picture and nothing else (no script
hidden in a file that only looks like an image), turned upright, at most 2048 px on its long side, and
without the EXIF block a phone writes (the GPS position of the worker's or resident's home, the phone's
serial). A voice note is kept as sent, recognised by its first bytes, whatever the browser claims.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageOps, UnidentifiedImageError

from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.i18n import N_

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_VOICE_BYTES = 2 * 1024 * 1024
MAX_PER_STEP = 6
# A photo's pixels are counted before they are decoded: a small file that unpacks to gigabytes is refused
# (a phone's 48-megapixel photo comes out of its camera app at 12 MP).
_MAX_PIXELS = 24_000_000
# Decoding takes memory in proportion to the pixels: at most two at once, whatever the uploads in flight.
_DECODING = threading.BoundedSemaphore(2)
_LONG_SIDE = 2048
_PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
# ISO media files that hold pictures (an iPhone's HEIC), not sound.
_PICTURE_BRANDS = {b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"}


class AttachmentKind(StrEnum):
    """Photos from a camera or a phone, and short voice notes recorded in the browser."""

    PHOTO = "photo"
    VOICE = "voice"

    @property
    def label(self) -> str:
        """照片 / 语音."""
        return N_("照片") if self is AttachmentKind.PHOTO else N_("语音")


@dataclass(frozen=True)
class Accepted:
    """A file as it is kept."""

    kind: AttachmentKind
    content_type: str
    data: bytes


def accept(data: bytes) -> Accepted:
    """The file as kept, or Invalid (field `file`) saying what is accepted."""
    if not data:
        raise Invalid("文件是空的", field="file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid("文件超过 {mb} MB", field="file", mb=MAX_UPLOAD_BYTES // (1024 * 1024))
    voice = _voice_type(data)
    if voice is not None:
        if len(data) > MAX_VOICE_BYTES:
            raise Invalid(
                "语音超过 {mb} MB，请录短一些（一分钟以内）",
                field="file",
                mb=MAX_VOICE_BYTES // (1024 * 1024),
            )
        return Accepted(AttachmentKind.VOICE, voice, data)
    return Accepted(AttachmentKind.PHOTO, "image/jpeg", _clean_photo(data))


def _voice_type(data: bytes) -> str | None:
    """The audio formats browsers record (WebM/Opus, Ogg, MP4/AAC) and phones send (MP3, WAV)."""
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data[4:8] == b"ftyp" and data[8:12] not in _PICTURE_BRANDS:
        return "audio/mp4"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return None


def _clean_photo(data: bytes) -> bytes:
    refused = Invalid("不是可识别的图片；请上传 JPEG、PNG 或 WebP 照片，或录制的语音", field="file")
    try:
        with warnings.catch_warnings(), _DECODING:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _PHOTO_FORMATS:
                    raise refused
                width, height = image.size
                if width * height > _MAX_PIXELS:
                    raise Invalid(
                        "图片过大（{width}×{height} 像素）", field="file", width=width, height=height
                    )
                # A JPEG decodes straight at a reduced scale near the size kept.
                image.draft("RGB", (_LONG_SIDE, _LONG_SIDE))
                image.load()  # a file cut off in transfer fails here, not half-decoded later
                upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Warning) as error:
        raise refused from error
    upright.thumbnail((_LONG_SIDE, _LONG_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
