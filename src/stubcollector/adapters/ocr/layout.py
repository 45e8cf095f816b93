"""Where text sits on a stub: boxes from the OCR engine, lines, words with positions.

Pure geometry, no OCR engine: the engine's quadrilaterals are straightened (a photo is
rarely square to the stub), joined into printed lines, and cut into words whose horizontal
extent is estimated from their place in the box. Labels are paired with their values by
these positions (a value right of its label on the same line, or under it in the same
column) in :mod:`stubcollector.adapters.ocr.parser`.

Plain text works too (:func:`lines_from_text`): each character counts as one column, and
runs of two or more spaces separate boxes, so a test can draw a stub as ASCII art.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]

# Text without a known position (``OcrLine("PEARL JAM")``) is laid out one line under the
# other at this height.
_DEFAULT_HEIGHT = 16.0
_CHAR_WIDTH = 8.0


@dataclass(frozen=True)
class OcrLine:
    """One printed line (or one column of it) with its box; ``top < 0``: position unknown."""

    text: str
    confidence: float = 1.0
    # Height of the printed text in pixels (0 when unknown): the act is usually the biggest.
    height: float = 0.0
    left: float = 0.0
    top: float = -1.0
    right: float = 0.0

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def centre_y(self) -> float:
        return self.top + self.height / 2

    @property
    def centre_x(self) -> float:
        return (self.left + self.right) / 2


@dataclass(frozen=True)
class Word:
    """A whitespace-separated word with its estimated extent; ``line`` indexes the lines."""

    text: str
    line: int
    position: int  # the word's number within its line
    left: float
    right: float
    top: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def centre_y(self) -> float:
        return self.top + self.height / 2


def placed(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Lines with positions: those without one are stacked in their order."""
    result = []
    for index, line in enumerate(lines):
        if line.top >= 0 and line.right > line.left:
            result.append(line)
            continue
        height = line.height or _DEFAULT_HEIGHT
        result.append(
            OcrLine(
                line.text,
                line.confidence,
                line.height,
                left=0.0,
                top=index * max(height, _DEFAULT_HEIGHT) * 1.6,
                right=len(line.text) * _CHAR_WIDTH * height / _DEFAULT_HEIGHT,
            )
        )
    return result


def words_of(lines: Sequence[OcrLine]) -> list[Word]:
    """Every word with its extent, estimated from its share of the line's characters."""
    words: list[Word] = []
    for index, line in enumerate(lines):
        length = max(len(line.text), 1)
        per_char = (line.right - line.left) / length
        for position, match in enumerate(re.finditer(r"\S+", line.text)):
            words.append(
                Word(
                    match.group(),
                    index,
                    position,
                    line.left + match.start() * per_char,
                    line.left + match.end() * per_char,
                    line.top,
                    line.height or _DEFAULT_HEIGHT,
                )
            )
    return words


def lines_from_text(text: str) -> list[OcrLine]:
    """Plain text as parser input: one printed line per text line, columns where 2+ spaces."""
    lines: list[OcrLine] = []
    row = 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        for match in re.finditer(r"\S+(?: \S+)*", raw):
            lines.append(
                OcrLine(
                    match.group(),
                    height=_DEFAULT_HEIGHT,
                    left=match.start() * _CHAR_WIDTH,
                    top=row * _DEFAULT_HEIGHT * 1.6,
                    right=match.end() * _CHAR_WIDTH,
                )
            )
        row += 1
    return lines


# --- from the engine's boxes ------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    text: str
    score: float
    left: float
    top: float
    right: float
    height: float

    @property
    def centre(self) -> float:
        return self.top + self.height / 2


def skew_of(quads: Sequence[Sequence[Point]]) -> float:
    """The stub's tilt in radians: the median slope of the long boxes' top edges."""
    angles = []
    for quad in quads:
        if len(quad) != 4:
            continue
        (x0, y0), (x1, y1) = quad[0], quad[1]
        height = math.dist(quad[0], quad[3])
        if x1 - x0 > 2.5 * max(height, 1.0):
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return statistics.median(angles) if angles else 0.0


def boxes_to_lines(pieces: Sequence[tuple[str, float, Sequence[Point]]]) -> list[OcrLine]:
    """The engine's (text, score, quadrilateral) boxes as printed lines, top to bottom.

    The photo is turned back by the stub's tilt first: a few degrees move a value at the far
    end of a line by a whole line height. Boxes on the same line are joined left to right;
    boxes far apart on the same line stay separate (a column of a table, the tear-off part).
    """
    angle = skew_of([corners for _, _, corners in pieces])
    cos, sin = math.cos(-angle), math.sin(-angle)
    boxes: list[_Box] = []
    for text, score, corners in pieces:
        turned = [(x * cos - y * sin, x * sin + y * cos) for x, y in corners]
        xs = [x for x, _ in turned]
        ys = [y for _, y in turned]
        height = max(ys) - min(ys)
        if len(turned) == 4:
            # A quadrilateral: its left and right edges give the height even when skewed.
            height = (math.dist(turned[0], turned[3]) + math.dist(turned[1], turned[2])) / 2
        middle = sum(ys) / len(ys)
        height = max(height, 1.0)
        boxes.append(_Box(text, score, min(xs), middle - height / 2, max(xs), height))
    return _join(boxes)


def _join(boxes: list[_Box]) -> list[OcrLine]:
    boxes = sorted(boxes, key=lambda box: box.centre)
    rows: list[list[_Box]] = []
    for box in boxes:
        if rows:
            current = rows[-1]
            centre = sum(b.centre for b in current) / len(current)
            height = min(min(b.height for b in current), box.height)
            if abs(box.centre - centre) < height * 0.5:
                current.append(box)
                continue
        rows.append([box])
    result = []
    for row in rows:
        row.sort(key=lambda box: box.left)
        segments: list[list[_Box]] = [[row[0]]]
        for box in row[1:]:
            previous = segments[-1][-1]
            # Words on one line are a fraction of their height apart; a wider gap is
            # another column.
            if box.left - previous.right > 1.6 * min(box.height, previous.height):
                segments.append([box])
            else:
                segments[-1].append(box)
        for segment in segments:
            top = min(box.top for box in segment)
            result.append(
                OcrLine(
                    text=" ".join(box.text for box in segment),
                    confidence=min(box.score for box in segment),
                    height=max(box.height for box in segment),
                    left=segment[0].left,
                    top=top,
                    right=segment[-1].right,
                )
            )
    return result


# --- pairing ------------------------------------------------------------------------------------


def same_row(a: Word, b: Word) -> bool:
    return abs(a.centre_y - b.centre_y) < 0.5 * max(a.height, b.height)


def right_of(label: Word, words: Sequence[Word]) -> list[Word]:
    """Words after ``label`` on its line, nearest first (within a table's width)."""
    found = [
        word
        for word in words
        if word is not label
        and same_row(label, word)
        and word.left >= label.right - 0.2 * label.height
        and word.left - label.right < 16 * label.height
    ]
    return sorted(found, key=lambda word: word.left)


def below(label: Word, words: Sequence[Word]) -> list[Word]:
    """Words under ``label`` in its column, nearest first."""
    reach = 0.8 * label.height
    found = []
    for word in words:
        if word.line == label.line or word.top < label.centre_y + 0.4 * label.height:
            continue
        gap = word.top - label.bottom
        if gap > 2.2 * max(label.height, word.height):
            continue
        overlap = min(word.right, label.right + reach) - max(word.left, label.left - reach)
        if overlap <= 0:
            continue
        found.append(word)
    return sorted(
        found,
        key=lambda word: (word.top, abs((word.left + word.right) - (label.left + label.right))),
    )
