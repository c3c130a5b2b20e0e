"""Chinese plate formats and colours; reads that break the format stay visible, uncorrected."""

from __future__ import annotations

import numpy as np
import pytest

from jiayuan.vision.plates import format_color, normalise, pixel_color, plate_format


@pytest.mark.parametrize(
    ("plate", "kind"),
    [
        ("皖A05279", "ordinary"),
        ("京EA5331", "ordinary"),
        ("鄂F8888警", "ordinary"),
        ("琼A6716学", "ordinary"),
        ("粤ZP560港", "ordinary"),
        ("沪AF71017", "new_energy"),
        ("皖KD01833", "new_energy"),
        ("粤B12345D", "new_energy"),
    ],
)
def test_valid_plates(plate: str, kind: str) -> None:
    assert plate_format(plate) == kind


@pytest.mark.parametrize(
    "plate",
    [
        "",
        "A12345",
        "皖05279A",
        "皖A0527",
        "皖A052799X",
        "皖AO5279",
        "皖I05279",
        "XA05279",
        "沪A1234567",
        "皖A0527警9",
    ],
)
def test_invalid_plates(plate: str) -> None:
    assert plate_format(plate) is None


def test_normalise_only_removes_separators() -> None:
    assert normalise("皖A·05279") == "皖A05279"
    assert normalise(" 沪a f71017 ") == "沪AF71017"
    assert normalise("皖AO5279") == "皖AO5279"  # a letter O is never turned into a zero


def test_format_implies_some_colours() -> None:
    assert format_color("沪AF71017") == "green"
    assert format_color("粤ZP560港") == "black"
    assert format_color("琼A6716学") == "yellow"
    assert format_color("皖A05279") is None


def plate_image(background: tuple[int, int, int], text: tuple[int, int, int]) -> np.ndarray:
    """A 40×140 plate: background colour with seven thin character strokes."""
    image = np.full((40, 140, 3), background, dtype=np.uint8)
    for i in range(7):
        image[8:32, 12 + i * 18 : 16 + i * 18] = text
    return image


@pytest.mark.parametrize(
    ("background", "text", "colour"),
    [
        ((160, 60, 10), (255, 255, 255), "blue"),
        ((20, 200, 230), (0, 0, 0), "yellow"),
        ((80, 200, 60), (0, 0, 0), "green"),
        ((235, 235, 235), (0, 0, 0), "white"),
        ((20, 20, 20), (255, 255, 255), "black"),
    ],
)
def test_pixel_colour_of_the_background(
    background: tuple[int, int, int], text: tuple[int, int, int], colour: str
) -> None:
    assert pixel_color(plate_image(background, text)) == colour
