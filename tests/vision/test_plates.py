"""Chinese plate formats and colours, the grammar decode, double-row plates, banners and consensus."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from jiayuan.kernel.plates import SYMBOLS
from jiayuan.vision.evaluate import imread
from jiayuan.vision.plate_grammar import Grammar, Reading, decode_jointly
from jiayuan.vision.plate_sets import BANNERS, lowres, tilt, wall, with_banner
from jiayuan.vision.plates import (
    MIN_CHAR,
    STOP,
    PlateRead,
    PlateReader,
    consensus,
    deskew,
    deslant,
    format_color,
    level_angle,
    normalise,
    pixel_color,
    plate_format,
)
from jiayuan.vision.recognisers import Recogniser


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


# The grammar decode, on crafted recogniser scores: a tiny character table holding every plate symbol
# plus the look-alikes and junk a recogniser also knows.
CHARACTERS = ["blank", *SYMBOLS, "I", "O", "#", "欢", "·"]


def scores(steps: list[dict[str, float]]) -> np.ndarray:
    """(T, characters) probabilities: each step's named characters, the rest of the mass on blank."""
    probs = np.zeros((len(steps), len(CHARACTERS)), dtype=np.float32)
    for t, step in enumerate(steps):
        for char, p in step.items():
            probs[t, CHARACTERS.index(char)] = p
        probs[t, 0] = 1.0 - sum(step.values())
    return probs


def spaced(*steps: dict[str, float]) -> list[dict[str, float]]:
    """Characters with a blank step between each, as CTC emits them."""
    out: list[dict[str, float]] = []
    for step in steps:
        out += [step, {}]
    return out


def test_grammar_puts_a_province_first_and_no_i_or_o_in_the_plate() -> None:
    grammar = Grammar(CHARACTERS)
    decoded = grammar.decode(
        scores(
            spaced(
                {"#": 0.6, "皖": 0.3},  # the first character must be a province
                {"O": 0.7, "D": 0.25},  # the second a letter: O is none, 0 is no letter
                {"·": 0.9},
                {"I": 0.8, "1": 0.15},  # an I on a plate is a 1 (plates have no I)
                {"2": 0.99},
                {"3": 0.99},
                {"O": 0.9, "Q": 0.05},  # an O in the serial is a 0
                {"5": 0.99},
            )
        )
    )
    assert decoded is not None
    assert decoded.text == "皖D12305"
    assert decoded.scores[0] == pytest.approx(0.3) and decoded.scores[1] == pytest.approx(0.25)
    assert decoded.scores[2] == pytest.approx(0.95) and decoded.confidence == pytest.approx(0.25)


def test_grammar_keeps_repeated_characters_apart_and_reads_new_energy_and_suffixes() -> None:
    grammar = Grammar(CHARACTERS)
    # 8 characters: only a new-energy layout holds them; "66" needs the blank between.
    steps = spaced(
        {"沪": 0.9}, {"A": 0.9}, {"F": 0.9}, {"7": 0.9}, {"6": 0.9}, {"6": 0.9}, {"1": 0.9}, {"7": 0.9}
    )
    decoded = grammar.decode(scores(steps))
    assert decoded is not None and decoded.text == "沪AF76617"
    decoded = grammar.decode(
        scores(spaced({"琼": 0.9}, {"A": 0.9}, *[{"6": 0.9}, {"7": 0.9}] * 2, {"学": 0.9}))
    )
    assert decoded is not None and decoded.text == "琼A6767学"
    decoded = grammar.decode(scores(spaced({"使": 0.9}, *[{"1": 0.9}, {"2": 0.9}] * 3)))
    assert decoded is not None and decoded.text == "使121212" and plate_format(decoded.text) == "embassy"


def test_writing_that_is_no_plate_gets_no_sure_grammar_read() -> None:
    grammar = Grammar(CHARACTERS)
    decoded = grammar.decode(scores(spaced(*[{"欢": 0.97}] * 7)))
    assert decoded is not None and decoded.confidence < MIN_CHAR


def test_a_forced_alignment_reads_exactly_the_text_with_each_characters_probability() -> None:
    grammar = Grammar(CHARACTERS)
    probs = scores(spaced({"皖": 0.9}, {"A": 0.8}, *[{"1": 0.7}, {"2": 0.6}] * 2, {"Y": 0.55, "V": 0.45}))
    aligned = grammar.align(probs, "皖A1212V")
    assert aligned is not None and aligned.text == "皖A1212V"
    assert aligned.scores == pytest.approx((0.9, 0.8, 0.7, 0.6, 0.7, 0.6, 0.45))
    loose = grammar.align(probs, "浙A1212V", chinese_free=True)  # any Chinese character: the path's own
    assert loose is not None and loose.text == "皖A1212V"
    assert grammar.align(probs[:5], "皖A1212V") is None  # too few steps for seven characters


def test_two_recognisers_choose_the_text_they_find_likeliest_together() -> None:
    grammar = Grammar(CHARACTERS)
    # The first is torn between Y and V at the last position; the second sees a clear V.
    first = scores(spaced({"皖": 0.95}, {"A": 0.95}, *[{"1": 0.95}, {"2": 0.95}] * 2, {"Y": 0.55, "V": 0.4}))
    second = scores(spaced({"皖": 0.9}, {"A": 0.9}, *[{"1": 0.9}, {"2": 0.9}] * 2, {"V": 0.9, "Y": 0.05}))
    assert grammar.decode(first).text == "皖A1212Y"  # type: ignore[union-attr]
    joint = decode_jointly([Reading(grammar, first), Reading(grammar, second)])
    assert joint is not None and joint.text == "皖A1212V"
    # Each character is as sure as the surer recogniser is of it.
    assert joint.scores == pytest.approx((0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.9))


def test_a_recogniser_that_does_not_judge_chinese_characters_never_decides_one() -> None:
    grammar = Grammar(CHARACTERS)
    # A plate-trained recogniser sure of 皖 (the province it was trained on) and of 9 for the 学 it
    # rarely saw; the general one reads 冀 and 学, less surely, and is unsure of the digits.
    general = scores(spaced({"冀": 0.6, "皖": 0.05}, {"A": 0.9}, *[{"6": 0.5}, {"7": 0.5}] * 2, {"学": 0.7}))
    plates = scores(spaced({"皖": 0.99}, {"A": 0.99}, *[{"6": 0.99}, {"7": 0.99}] * 2, {"9": 0.99}))
    joint = decode_jointly([Reading(grammar, general), Reading(grammar, plates, chinese=False)])
    assert joint is not None and joint.text == "冀A6767学"
    assert joint.scores == pytest.approx((0.6, 0.99, 0.99, 0.99, 0.99, 0.99, 0.7))
    trusted = decode_jointly([Reading(grammar, general), Reading(grammar, plates)])
    assert trusted is not None and trusted.text != "冀A6767学"  # what the rule prevents
    # Nor does its own suffix count: the general one's 5 stands against its 学.
    general = scores(
        spaced({"京": 0.95}, {"A": 0.95}, *[{"1": 0.95}, {"2": 0.95}] * 2, {"5": 0.55, "学": 0.4})
    )
    plates = scores(spaced({"皖": 0.95}, {"A": 0.95}, *[{"1": 0.95}, {"2": 0.95}] * 2, {"学": 0.6, "5": 0.3}))
    joint = decode_jointly([Reading(grammar, general), Reading(grammar, plates, chinese=False)])
    assert joint is not None and (joint.text, joint.scores[-1]) == ("京A12125", pytest.approx(0.55))


def test_a_joint_read_always_follows_a_plate_layout() -> None:
    grammar = Grammar(CHARACTERS)
    # The general recogniser reads an ordinary plate, unsure of its letter; the plate one reads an
    # embassy plate. The general one's province on the plate one's serial (皖123456) is no plate.
    general = scores(spaced({"皖": 0.95}, {"A": 0.45, "1": 0.5}, *[{d: 0.9} for d in "23456"]))
    plates = scores(spaced({"使": 0.6, "皖": 0.3}, *[{d: 0.95} for d in "123456"]))
    joint = decode_jointly([Reading(grammar, general), Reading(grammar, plates, chinese=False)])
    assert joint is not None and joint.text == "皖A23456" and plate_format(joint.text) == "ordinary"


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def shared_crop(data_dir: Path, name: str) -> np.ndarray:
    return imread(data_dir / "plates" / "crops" / name)


def double_row(crop: np.ndarray) -> np.ndarray:
    """A double-row plate made from a single-row crop: province and letter small on top, the rest below."""
    background = np.median(crop.reshape(-1, 3), axis=0).astype(np.uint8)
    top = cv2.resize(crop[:, 0:28], (64, 28))
    bottom = cv2.resize(crop[:, 30:], (150, 46))
    plate = np.full((84, 170, 3), background, dtype=np.uint8)
    plate[4:32, 53:117] = top
    plate[34:80, 10:160] = bottom
    return plate


@pytest.mark.parametrize(
    ("name", "plate"), [("lprnet_0001.jpg", "川JK0707"), ("lprnet_0005.jpg", "沪C8GK31")]
)
def test_a_double_row_plate_is_read_row_by_row(
    reader: PlateReader, data_dir: Path, name: str, plate: str
) -> None:
    crop = shared_crop(data_dir, name)
    assert reader.read_crop(crop).plate == plate  # type: ignore[union-attr]
    read = reader.read_crop(double_row(crop))
    assert read is not None and (read.plate, read.valid) == (plate, True)


# Small crops of the tuning split (even rows) that the general recogniser alone read wrong, and sure
# enough to publish (G for 6, 1 for M, 8 for B).
@pytest.mark.parametrize(
    ("name", "plate"),
    [
        ("lprnet_0434.jpg", "皖AG0D55"),
        ("lprnet_0725.jpg", "皖AT152M"),
        ("lprnet_0324.jpg", "皖ABT787"),
    ],
)
def test_small_plates_are_read_by_both_recognisers_together(
    reader: PlateReader, data_dir: Path, name: str, plate: str
) -> None:
    read = reader.read_crop(lowres(shared_crop(data_dir, name)))
    assert read is not None and (read.plate, read.valid) == (plate, True)


@pytest.mark.parametrize("name", ["lprnet_0135.jpg", "lprnet_0152.jpg", "hyperlpr_3.jpg"])
def test_the_turn_that_sets_a_plate_level_is_found_from_its_edges(data_dir: Path, name: str) -> None:
    crop = shared_crop(data_dir, name)
    upright = level_angle(crop)
    for seed, turn in ((1, 7.0), (2, -7.0)):  # plate_sets.tilt turns odd seeds by +7°, even by −7°
        assert abs(level_angle(tilt(crop, seed)) - (upright - turn)) <= 2, (seed, turn)
    assert abs(level_angle(deskew(tilt(crop, 1)))) <= 2  # set level


# Each of these turned crops was misread before crops were set level (1 for T, 0 for D, G for C).
@pytest.mark.parametrize(
    ("name", "seed", "plate"),
    [
        ("lprnet_0135.jpg", 2, "皖A506T7"),
        ("lprnet_0723.jpg", 1, "皖AT0D33"),
        ("lprnet_0047.jpg", 2, "皖A15C18"),
    ],
)
def test_a_turned_plate_is_set_level_before_it_is_read(
    reader: PlateReader, data_dir: Path, name: str, seed: int, plate: str
) -> None:
    read = reader.read_crop(tilt(shared_crop(data_dir, name), seed))
    assert read is not None and (read.plate, read.valid) == (plate, True)


def test_leaning_characters_are_stood_upright() -> None:
    strokes = np.full((40, 120, 3), 200, dtype=np.uint8)
    for x in range(20, 100, 14):
        strokes[8:32, x : x + 4] = 30
    assert deslant(strokes) is strokes  # upright already: left as it is
    lean = np.array([[1.0, -0.3, 0.3 * 20], [0.0, 1.0, 0.0]], dtype=np.float32)
    leaning = cv2.warpAffine(strokes, lean, (120, 40), borderMode=cv2.BORDER_REPLICATE)
    error = np.abs(deslant(leaning).astype(int) - strokes.astype(int))[8:32, 10:110].mean()
    assert error < 0.3 * np.abs(leaning.astype(int) - strokes.astype(int))[8:32, 10:110].mean()


class Scripted:
    """A recogniser that reads every line as the same crafted scores."""

    def __init__(self, probs: np.ndarray, *, chinese: bool = True) -> None:
        self.grammar, self.probs, self.chinese = Grammar(CHARACTERS), probs, chinese

    def scores(self, line: np.ndarray) -> np.ndarray:
        return self.probs

    def text(self, probs: np.ndarray) -> str:
        return "".join(CHARACTERS[i] for i in probs.argmax(axis=1) if i)


def test_a_second_opinion_that_cannot_settle_the_text_leaves_a_valid_read_standing(
    reader: PlateReader, data_dir: Path
) -> None:
    line = shared_crop(data_dir, "lprnet_0894.jpg")
    general = scores(spaced({"京": 0.9}, {"A": 0.9}, *[{"1": 0.9}] * 5))  # 京A11111, 0.9: valid, unsure
    # The plate recogniser's scores have too few steps for five 1s apart: every proposal is near-impossible.
    short = scores([{"京": 0.9}, {"A": 0.9}, {"1": 0.9}, {}, {"1": 0.9}, {}, {"1": 0.9}, {}])
    test_reader = PlateReader.__new__(PlateReader)
    test_reader.general, test_reader.plate = Scripted(general), Scripted(short, chinese=False)
    read = test_reader.read_line(line, line, None)
    assert read is not None and (read.plate, read.valid, read.confidence) == (
        "京A11111",
        True,
        pytest.approx(0.9),
    )


class Counting:
    """A recogniser that counts how often it runs."""

    def __init__(self, inner: Recogniser) -> None:
        self.inner, self.grammar, self.chinese = inner, inner.grammar, inner.chinese
        self.runs = 0

    def scores(self, line: np.ndarray) -> np.ndarray:
        self.runs += 1
        return self.inner.scores(line)

    def text(self, probs: np.ndarray) -> str:
        return self.inner.text(probs)


def test_a_plate_read_sure_at_once_is_not_read_again(data_dir: Path) -> None:
    reader = PlateReader()
    general, plates = Counting(reader.general), Counting(reader.plate)
    reader.general, reader.plate = general, plates
    read = reader.read_crop(shared_crop(data_dir, "lprnet_0894.jpg"))
    assert read is not None and (read.plate, read.valid) == ("皖AZ9D80", True) and read.confidence >= STOP
    assert (general.runs, plates.runs) == (1, 0)  # one rendering, and no second opinion needed
    read = reader.read_crop(lowres(shared_crop(data_dir, "lprnet_0434.jpg")))
    assert read is not None and read.plate == "皖AG0D55" and plates.runs >= 1


def test_banners_and_signs_are_never_read_as_a_plate(reader: PlateReader, data_dir: Path) -> None:
    scene = imread(data_dir / "plates" / "scenes" / "scene_02.png")
    words = ("欢迎回家 出入平安", (30, 30, 200), (80, 230, 255))
    # A red banner that shows a plate number is still no plate: plates are never red.
    number = ("鲁A·12345", (30, 30, 200), (80, 230, 255))
    for design in (words, number, BANNERS[1], BANNERS[3]):
        alone = reader.read_scene(wall(design))
        assert alone is None or not alone.valid, (design, alone)
    read = reader.read_scene(with_banner(scene, number))
    assert read is not None and (read.plate, read.valid) == ("川A8H458", True)


def read(plate: str, confidence: float, valid: bool = True) -> PlateRead:
    return PlateRead(plate=plate, raw=plate, valid=valid, color="blue", confidence=confidence)


def test_consensus_votes_per_position_weighted_by_confidence() -> None:
    reads = [read("皖A05279", 0.9), read("皖A0S279", 0.95), read("皖A05279", 0.8), read("皖A052", 0.2, False)]
    voted = consensus(reads)
    assert voted is not None and (voted.plate, voted.valid) == ("皖A05279", True)
    # The disputed position had support (0.9 + 0.8) / 3 valid reads.
    assert voted.confidence == pytest.approx(1.7 / 3)
    alone = consensus([read("皖A05279", 0.9)])
    assert alone is not None and alone.confidence == pytest.approx(0.9)


def test_a_track_that_never_reads_a_plate_yields_one_not_valid_read() -> None:
    voted = consensus([read("欢迎回家", 0.1, False), read("欢迎", 0.05, False)])
    assert voted is not None and (voted.plate, voted.valid) == ("欢迎回家", False)
    assert consensus([]) is None
