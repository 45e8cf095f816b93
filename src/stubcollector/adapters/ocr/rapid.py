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
    parser reads labels and values best as the line a person sees.
    """
    boxes = []
    for text, score, corners in pieces:
        ys = [y for _, y in corners]
        xs = [x for x, _ in corners]
        height = max(ys) - min(ys)
        if len(corners) == 4:
            # A quadrilateral: left and right edges give the height even when tilted.
            top_left, top_right, bottom_right, bottom_left = (y for _, y in corners)
            height = (abs(bottom_left - top_left) + abs(bottom_right - top_right)) / 2
        boxes.append((sum(ys) / len(ys), min(xs), max(height, 1.0), text, score))
    boxes.sort(key=lambda box: box[0])
    lines: list[list[tuple[float, float, float, str, float]]] = []
    for box in boxes:
        if lines:
            current = lines[-1]
            centre = sum(b[0] for b in current) / len(current)
            height = min(min(b[2] for b in current), box[2])
            if abs(box[0] - centre) < height * 0.5:
                current.append(box)
                continue
        lines.append([box])
    result = []
    for line in lines:
        line.sort(key=lambda box: box[1])
        result.append(
            OcrLine(
                text=" ".join(box[3] for box in line),
                confidence=min(box[4] for box in line),
                height=max(box[2] for box in line),
            )
        )
    return result
