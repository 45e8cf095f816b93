"""The offline engine: rapidocr (ONNX models shipped in its wheel) plus our parser.

The engine loads once per process, on first use, behind a lock; nothing is downloaded at
run time. Inference is serialised by the same lock: rapidocr keeps per-call state on the
engine object, and onnxruntime already uses every core for one image.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from stubcollector.adapters.ocr.base import StubReading, StubReadingError
from stubcollector.adapters.ocr.parser import OcrLine, parse_stub_text

log = logging.getLogger(__name__)

ENGINE_NAME = "rapidocr"
_engine_lock = threading.Lock()
_engine: Any = None


def _load_engine() -> Any:
    global _engine  # one engine per process, built on first use
    if _engine is None:
        # Imported here: onnxruntime and OpenCV take a second to import and a worker that
        # only reads with Gemini never needs them.
        from rapidocr import RapidOCR

        _engine = RapidOCR(params={"Global.log_level": "error"})
        log.info("rapidocr engine loaded")
    return _engine


class RapidOcrReader:
    name = ENGINE_NAME

    def read(self, image: bytes, content_type: str) -> StubReading:  # noqa: ARG002 - decoded by content
        try:
            with Image.open(io.BytesIO(image)) as opened:
                pixels = np.asarray(opened.convert("RGB"))[:, :, ::-1]  # OpenCV wants BGR
        except OSError as exc:
            raise StubReadingError("the stored image could not be decoded") from exc
        with _engine_lock:
            engine = _load_engine()
            try:
                output = engine(pixels)
            except Exception as exc:
                log.exception("rapidocr failed")
                raise StubReadingError("the offline reader failed on this image") from exc
        boxes, texts, scores = output.boxes, output.txts, output.scores
        if boxes is None or not texts:
            return StubReading(fields={}, raw_text="", engine=self.name, notes="no text found")
        lines = group_into_lines(
            [
                (str(text), float(score), [(float(x), float(y)) for x, y in box])
                for box, text, score in zip(boxes, texts, scores, strict=True)
            ]
        )
        return StubReading(
            fields=parse_stub_text(lines),
            raw_text="\n".join(line.text for line in lines),
            engine=self.name,
        )


def group_into_lines(
    pieces: Sequence[tuple[str, float, Sequence[tuple[float, float]]]],
) -> list[OcrLine]:
    """Join text boxes that sit on the same printed line, left to right, top to bottom.

    The detector often splits one printed line ("SEC 112   ROW 14   SEAT 7") into boxes; the
    parser reads labels and values best as the line a person sees. Boxes far apart on the
    same height stay separate lines: that is the ticket's tear-off part, not the same line.
    """
    boxes: list[_Box] = []
    for text, score, corners in pieces:
        ys = [y for _, y in corners]
        xs = [x for x, _ in corners]
        height = max(ys) - min(ys)
        if len(corners) == 4:
            # A quadrilateral: left and right edges give the height even when tilted.
            top_left, top_right, bottom_right, bottom_left = (y for _, y in corners)
            height = (abs(bottom_left - top_left) + abs(bottom_right - top_right)) / 2
        boxes.append(_Box(sum(ys) / len(ys), min(xs), max(xs), max(height, 1.0), text, score))
    boxes.sort(key=lambda box: box.centre)
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
            if box.left - previous.right > 2.5 * min(box.height, previous.height):
                segments.append([box])
            else:
                segments[-1].append(box)
        for segment in segments:
            result.append(
                OcrLine(
                    text=" ".join(box.text for box in segment),
                    confidence=min(box.score for box in segment),
                    height=max(box.height for box in segment),
                )
            )
    return result


@dataclass(frozen=True)
class _Box:
    centre: float
    left: float
    right: float
    height: float
    text: str
    score: float
