"""Derived plate sets for robustness: the shared plate images degraded, labels unchanged.

Each image degradation keeps the plate text and colour, so the labels are copied as they are. The
`banner` set puts a banner or shop sign of Chinese writing above the vehicle in every scene, and adds
the banners alone (labelled with no plate): whatever is read from them is junk.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from jiayuan.vision.evaluate import DataError, imread, read_labels

Frame = np.ndarray
LABEL_COLUMNS = ("file", "plate", "color")
PLATE_SETS = ("blur", "lowres", "tilt", "glare", "dark", "banner")
DESCRIPTIONS = {
    "blur": "高斯模糊（σ 为图高的 4%，至少 1 像素）",
    "lowres": "缩小到一半再放大（低分辨率）",
    "tilt": "倾斜 ±7°（画布随之扩大，边缘复制填充）",
    "glare": "一处强反光（高斯亮斑，峰值 70% 白）",
    "dark": "弱光（伽马 2.2、亮度 ×0.5）并加噪声",
    "banner": "场景上方加中文横幅或店招；另有只含横幅的图（不应读出车牌）",
}
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# (text, background BGR, text BGR): red banners, and signs in the plate colours themselves.
BANNERS = (
    ("欢迎回家 出入平安", (30, 30, 200), (80, 230, 255)),
    ("小区车辆请减速慢行", (160, 80, 10), (255, 255, 255)),
    ("文明停车 有序出行", (40, 200, 230), (20, 20, 20)),
    ("京A区停车场入口", (235, 235, 235), (20, 20, 20)),
    ("便民超市 24小时营业", (60, 160, 40), (255, 255, 255)),
    ("热烈庆祝社区成立十周年", (20, 20, 20), (255, 255, 255)),
)


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def blur(image: Frame) -> Frame:
    sigma = max(1.0, 0.04 * image.shape[0])
    blurred: Frame = cv2.GaussianBlur(image, (0, 0), sigma)
    return blurred


def lowres(image: Frame) -> Frame:
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    restored: Frame = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return restored


def tilt(image: Frame, seed: int) -> Frame:
    h, w = image.shape[:2]
    angle = 7.0 if seed % 2 else -7.0
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    # The canvas grows to hold the turned image: a plate's end characters must not be cut off.
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(np.ceil(w * cos + h * sin)), int(np.ceil(h * cos + w * sin))
    matrix[0, 2] += (nw - w) / 2
    matrix[1, 2] += (nh - h) / 2
    turned: Frame = cv2.warpAffine(image, matrix, (nw, nh), borderMode=cv2.BORDER_REPLICATE)
    return turned


def glare(image: Frame, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.3, 0.7) * h
    yy, xx = np.mgrid[0:h, 0:w]
    radius = 0.2 * w
    alpha = 0.7 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
    out = image.astype(np.float32) * (1 - alpha[..., None]) + 255 * alpha[..., None]
    bright: Frame = np.clip(out, 0, 255).astype(np.uint8)
    return bright


def dark(image: Frame, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    table = (np.linspace(0, 1, 256) ** 2.2 * 0.5 * 255).astype(np.uint8)
    lowered = cv2.LUT(image, table).astype(np.int16)
    noise = rng.normal(0, 4, (*image.shape[:2], 1)).astype(np.int16)
    night: Frame = np.clip(lowered + noise, 0, 255).astype(np.uint8)
    return night


def degrade(name: str, image: Frame, seed: int) -> Frame:
    """One image degradation of the plate sets (every set but `banner`)."""
    if name == "blur":
        return blur(image)
    if name == "lowres":
        return lowres(image)
    if name == "tilt":
        return tilt(image, seed)
    if name == "glare":
        return glare(image, seed)
    if name == "dark":
        return dark(image, seed)
    raise ValueError(f"未知的派生集 {name}")


def banner(text: str, background: tuple[int, int, int], ink: tuple[int, int, int], width: int) -> Frame:
    """A banner of Chinese text drawn with the Noto CJK font, `width` pixels wide."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.is_file():
        raise DataError(f"找不到中文字体 {FONT}，无法绘制横幅（请安装 Debian 软件包 fonts-noto-cjk）")
    height = max(24, width // 9)
    size = int(height * 0.62)
    font = ImageFont.truetype(str(FONT), size)
    while size > 8 and font.getlength(text) > 0.92 * width:
        size -= 2
        font = ImageFont.truetype(str(FONT), size)
    picture = Image.new("RGB", (width, height), background[::-1])
    draw = ImageDraw.Draw(picture)
    draw.text((width / 2, height / 2), text, font=font, fill=ink[::-1], anchor="mm")
    return np.asarray(picture)[..., ::-1].copy()


def with_banner(scene: Frame, design: tuple[str, tuple[int, int, int], tuple[int, int, int]]) -> Frame:
    """The scene with a banner across its upper part (the plates here are all in the lower half)."""
    h, w = scene.shape[:2]
    strip = banner(*design, width=int(0.85 * w))
    bh = min(strip.shape[0], h // 4)
    strip = strip[:bh]
    out = scene.copy()
    x, y = (w - strip.shape[1]) // 2, h // 20
    out[y : y + bh, x : x + strip.shape[1]] = strip
    return out


def wall(design: tuple[str, tuple[int, int, int], tuple[int, int, int]]) -> Frame:
    """A banner alone on a grey wall, as a camera would see it with no vehicle in view."""
    out = np.full((360, 640, 3), 128, dtype=np.uint8)
    strip = banner(*design, width=560)
    out[140 : 140 + strip.shape[0], 40 : 40 + strip.shape[1]] = strip
    return out


def write_image(path: Path, image: Frame) -> None:
    """Write an image (imencode handles non-ASCII paths); PNG for PNG names, JPEG quality 95 otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [] if path.suffix.lower() == ".png" else [cv2.IMWRITE_JPEG_QUALITY, 95]
    ok, data = cv2.imencode(path.suffix or ".jpg", image, params)
    if not ok:
        raise DataError(f"无法写入图像 {path}")
    path.write_bytes(data.tobytes())


def augment_plates(
    source: Path,
    output: Path,
    *,
    sets: tuple[str, ...] = PLATE_SETS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write every derived plate set under `output` (one folder per set with labels.csv) and manifest.json."""
    unknown = [s for s in sets if s not in PLATE_SETS]
    if unknown:
        raise DataError(f"未知的派生集: {', '.join(unknown)}（车牌可选 {', '.join(PLATE_SETS)}）")
    rows = read_labels(source, LABEL_COLUMNS)
    labels: dict[str, list[dict[str, str]]] = {name: [] for name in sets}
    for i, row in enumerate(rows):
        image = imread(source / row["file"])
        for name in sets:
            if name != "banner":
                write_image(output / name / row["file"], degrade(name, image, _seed(name, row["file"])))
                labels[name].append(dict(row))
            elif row["file"].startswith("scenes/"):
                for k, design in enumerate(BANNERS):
                    path = Path(row["file"])
                    file = str(path.with_name(f"{path.stem}_banner{k + 1}{path.suffix}"))
                    write_image(output / name / file, with_banner(image, design))
                    labels[name].append({**row, "file": file})
        if progress:
            progress(i + 1, len(rows))
    if "banner" in sets:
        for k, design in enumerate(BANNERS):
            file = f"banners/banner_{k + 1}.png"
            write_image(output / "banner" / file, wall(design))
            labels["banner"].append({"file": file, "plate": "", "color": ""})
    path = output / "manifest.json"
    manifest: dict[str, Any] = {"kind": "plates", "source": str(source), "sets": {}}
    if path.is_file():  # sets made before and not remade now stay listed
        manifest["sets"] = json.loads(path.read_text(encoding="utf-8")).get("sets", {})
    for name in sets:
        with (output / name / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LABEL_COLUMNS)
            writer.writeheader()
            writer.writerows(labels[name])
        manifest["sets"][name] = {
            "description": DESCRIPTIONS[name],
            "images": len(labels[name]),
            "plates": sum(1 for r in labels[name] if r["plate"]),
        }
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest
