"""The Chinese plate grammar, and a CTC decode of a recogniser's scores constrained to it.

A text recogniser (PP-OCR's CRNN) gives, for each horizontal time step of the image, a probability
for every character it knows and for "blank". Reading the most likely character at each step and
checking the text afterwards throws away what the recogniser knew: that the first character was
"皖" with 0.3 when "#" had 0.6, or that "1" was a close second to "I". Here the best CTC path is
searched only among texts that follow a plate layout, so the grammar chooses among the
recogniser's own candidates, and each chosen character keeps its probability.

Two recognisers that read the same line (`decode_jointly`) each propose their best plate; every
proposal is then scored by both (the probability of exactly that text under each one's scores), and
the text the two find likeliest together wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from jiayuan.kernel.plates import LAYOUTS, SYMBOLS, Layout, layout_of

# Printed between the letter and the serial, or read from rivets and frame: never part of the text.
SEPARATORS = " ·.・•-_:：,，。"


@dataclass(frozen=True)
class Decoded:
    """A decoded text, each character's probability, and the log-probability of its CTC path."""

    text: str
    scores: tuple[float, ...]
    log_score: float

    @property
    def confidence(self) -> float:
        """The weakest character's probability: a plate is only as sure as its least sure character."""
        return min(self.scores, default=0.0)


# Plates have no I or O because their glyphs are the digits': what the recogniser calls I or O on a
# plate is a 1 or a 0 (GA 36), so those scores count for the digits. The text never holds I or O.
_LOOKALIKES = {"0": "Oo", "1": "I"}


def _variants(symbol: str) -> list[str]:
    """The recogniser's characters that mean this plate symbol: lower case, full width, look-alikes."""
    forms = [symbol, *_LOOKALIKES.get(symbol, "")]
    if symbol.isascii() and symbol.isalnum():
        forms += [f for c in forms for f in (c.lower(), chr(ord(c) + 0xFEE0))]
    return list(dict.fromkeys(forms))


class _Automaton:
    """One layout as a CTC state graph: a blank state before, between and after the characters.

    State order: blank 0, the symbols of position 0, blank 1, position 1, …, blank L. Transitions:
    stay; blank k → any symbol of position k; a symbol → the next blank; a symbol of position k →
    a *different* symbol of position k+1 (two equal characters in a row need a blank between them).
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        index = {s: i for i, s in enumerate(SYMBOLS)}
        column: list[int] = []  # which reduced column each state emits: -1 is blank
        position: list[int] = []  # position of a symbol state, -1 for blanks
        blanks: list[int] = []
        for k, allowed in enumerate((*layout.positions, "")):
            blanks.append(len(column))
            column.append(-1)
            position.append(-1)
            for symbol in allowed:
                column.append(index[symbol])
                position.append(k)
        n = len(column)
        allow = np.zeros((n, n), dtype=bool)  # allow[to, from]
        for i in range(n):
            allow[i, i] = True
        for k in range(len(layout.positions)):
            here = [i for i in range(n) if position[i] == k]
            allow[np.ix_(here, [blanks[k]])] = True
            allow[blanks[k + 1], here] = True
            if k:
                before = [i for i in range(n) if position[i] == k - 1]
                for i in here:
                    for j in before:
                        allow[i, j] = column[i] != column[j]
        self.transitions = np.where(allow, 0.0, -np.inf)
        self.column = np.asarray(column)
        self.position = np.asarray(position)
        start = np.zeros(n, dtype=bool)
        start[blanks[0]] = True
        start[self.position == 0] = True
        self.start = np.where(start, 0.0, -np.inf)
        end = np.zeros(n, dtype=bool)
        end[blanks[-1]] = True
        end[self.position == len(layout.positions) - 1] = True
        self.end = end

    def decode(self, log_probs: np.ndarray, probs: np.ndarray) -> Decoded:
        """Viterbi over the state graph; `log_probs`/`probs` are (T, 1 + symbols), blank first."""
        emit = log_probs[:, self.column + 1]
        score = self.start + emit[0]
        back = []
        for t in range(1, len(emit)):
            candidates = score[None, :] + self.transitions
            best = candidates.argmax(axis=1)
            back.append(best)
            score = candidates[np.arange(len(best)), best] + emit[t]
        state = int(np.where(self.end, score, -np.inf).argmax())
        total = float(score[state])
        path = [state]
        for best in reversed(back):
            state = int(best[state])
            path.append(state)
        path.reverse()
        text: list[str] = []
        scores: list[float] = []
        previous = -1
        for t, state in enumerate(path):
            col = int(self.column[state])
            if col >= 0 and state != previous:
                text.append(SYMBOLS[col])
                scores.append(0.0)
            if col >= 0:
                scores[-1] = max(scores[-1], float(probs[t, col + 1]))
            previous = state
        return Decoded("".join(text), tuple(scores), total)


@lru_cache(maxsize=1024)
def _text_automaton(text: str, chinese_free: bool) -> _Automaton:
    positions = tuple(SYMBOLS if chinese_free and not c.isascii() else c for c in text)
    return _Automaton(Layout("text", positions))


class Grammar:
    """Decodes recogniser output (T × characters, softmax) into the most likely plate text."""

    def __init__(self, characters: Sequence[str], *, blank: int = 0) -> None:
        lookup: dict[str, list[int]] = {}
        for i, char in enumerate(characters):
            lookup.setdefault(char, []).append(i)
        self.blank = [blank, *(i for s in SEPARATORS for i in lookup.get(s, []) if i != blank)]
        self.columns = [[i for v in _variants(s) for i in lookup.get(v, [])] for s in SYMBOLS]
        missing = [s for s, cols in zip(SYMBOLS, self.columns, strict=True) if not cols]
        if missing:
            raise ValueError(f"识别模型的字符表缺少车牌字符: {''.join(missing)}")
        self.automata = [_Automaton(layout) for layout in LAYOUTS]

    def reduce(self, probs: np.ndarray) -> np.ndarray:
        """(T, 1 + symbols): blank (with separators) first, then each plate symbol with its variants."""
        blank = probs[:, self.blank].sum(axis=1, keepdims=True)
        symbols = np.stack([probs[:, cols].sum(axis=1) for cols in self.columns], axis=1)
        return np.concatenate([blank, symbols], axis=1)

    def decode(self, probs: np.ndarray) -> Decoded | None:
        """The best plate-shaped CTC path, or None when the steps are too few for any plate."""
        return self._best(probs, self.automata)

    def align(self, probs: np.ndarray, text: str, *, chinese_free: bool = False) -> Decoded | None:
        """The best CTC path that reads exactly `text` (plate characters), or None when the steps are
        too few. With `chinese_free`, a Chinese character's position may hold any plate character
        (the path's own is kept): the text's letters and digits are fixed, the rest is this reader's.
        """
        return self._best(probs, [_text_automaton(text, chinese_free)])

    def _best(self, probs: np.ndarray, automata: Sequence[_Automaton]) -> Decoded | None:
        reduced = self.reduce(probs)
        log_probs = np.log(np.clip(reduced, 1e-12, None))
        best: Decoded | None = None
        for automaton in automata:
            if len(reduced) < len(automaton.layout.positions):
                continue
            found = automaton.decode(log_probs, reduced)
            if len(found.text) == len(automaton.layout.positions) and (
                best is None or found.log_score > best.log_score
            ):
                best = found
        return best


@dataclass(frozen=True, eq=False)
class Reading:
    """One recogniser's scores for a text line, with the grammar of its character table.

    `chinese` is False for a recogniser whose reading of Chinese characters (the province, the
    suffixes 学, 警, 港 …) is not to be asked: one trained on plates of mostly one province and kind
    reads other provinces' characters as that one's, and suffixes it rarely saw as digits.
    """

    grammar: Grammar
    probs: np.ndarray
    chinese: bool = True

    @cached_property
    def decoded(self) -> Decoded | None:
        """Its best plate alone (decoded once, whether it is read alone and then with another)."""
        return self.grammar.decode(self.probs)

    def align(self, text: str) -> Decoded | None:
        """`text` as this recogniser reads it, free at the characters it does not judge."""
        return self.grammar.align(self.probs, text, chinese_free=not self.chinese)


def decode_jointly(readings: Sequence[Reading]) -> Decoded | None:
    """The plate that recognisers reading the same line find likeliest together.

    Each recogniser proposes its best plate; in the proposal of one that does not judge Chinese
    characters, those are what each judging recogniser reads there, and a proposal that then follows
    no layout is dropped. Each proposal's log-probability is summed over all recognisers (one that
    does not judge a Chinese character free to read anything there), so a text only one of them
    believes loses to one both find likely. A character of the winner is as sure as the surer
    recogniser that judges it: they agree on the text, and one may not know a glyph well (a general
    recogniser a worn plate digit, a plate recogniser an unusual layout).
    """
    judges = [r for r in readings if r.chinese]
    proposals: set[str] = set()
    for reading in readings:
        own = reading.decoded
        if own is None:
            continue
        if reading.chinese:
            proposals.add(own.text)
            continue
        for judge in judges:
            filled = judge.grammar.align(judge.probs, own.text, chinese_free=True)
            if filled is not None and layout_of(filled.text) is not None:
                proposals.add(filled.text)
    best: Decoded | None = None
    for text in sorted(proposals):
        aligned = [a for a in (r.align(text) for r in readings) if a is not None]
        if len(aligned) < len(readings):
            continue  # too few steps in one of them to hold this text
        sure = np.array([a.scores for a in aligned])
        # A recogniser's probability of a Chinese character it does not judge does not count.
        sure[[not r.chinese for r in readings], :] *= [c.isascii() for c in text]
        total = sum(a.log_score for a in aligned)
        if best is None or total > best.log_score:
            best = Decoded(text, tuple(float(v) for v in sure.max(axis=0)), total)
    return best
