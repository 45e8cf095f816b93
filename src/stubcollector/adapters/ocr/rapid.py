"""The offline engine: rapidocr (ONNX models shipped in its wheel) plus our parser.

The engine loads once per process, on first use, behind a lock; nothing is downloaded at
run time. Inference is serialised by the same lock: rapidocr keeps per-call state on the
engine object, and onnxruntime already uses every core for one image.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from stubcollector.adapters.ocr.base import KnownNames, StubReading, StubReadingError
from stubcollector.adapters.ocr.layout import boxes_to_lines
from stubcollector.adapters.ocr.parser import apply_thresholds, parse_stub_text

log = logging.getLogger(__name__)

ENGINE_NAME = "rapidocr"
_engine_lock = threading.Lock()
_engines: dict[int, Any] = {}


def _load_engine(threads: int) -> Any:
    # One engine per process and thread setting, built on first use.
    if threads not in _engines:
        # Imported here: onnxruntime and OpenCV take a second to import and a worker that
        # only reads with Gemini never needs them.
        from rapidocr import RapidOCR

        _engines[threads] = RapidOCR(
            params={
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            }
        )
        log.info("rapidocr engine loaded")
    return _engines[threads]


class RapidOcrReader:
    """Read with rapidocr, pair what is printed by where it is printed, keep the sure fields.

    ``thresholds``: the confidence each field needs to be kept (``None``: the calibrated
    :data:`~stubcollector.adapters.ocr.parser.FIELD_THRESHOLDS`; ``{}`` keeps every value,
    for measuring). ``threads``: onnxruntime's intra-op threads (-1: one per core).
    """

    name = ENGINE_NAME

    def __init__(self, *, threads: int = -1, thresholds: Mapping[str, float] | None = None) -> None:
        self._threads = threads
        self._thresholds = thresholds

    def read(
        self,
        image: bytes,
        content_type: str,  # noqa: ARG002 - decoded by content
        known: KnownNames | None = None,
    ) -> StubReading:
        try:
            with Image.open(io.BytesIO(image)) as opened:
                pixels = np.asarray(opened.convert("RGB"))[:, :, ::-1]  # OpenCV wants BGR
        except OSError as exc:
            raise StubReadingError("the stored image could not be decoded") from exc
        with _engine_lock:
            engine = _load_engine(self._threads)
            try:
                output = engine(pixels)
            except Exception as exc:
                log.exception("rapidocr failed")
                raise StubReadingError("the offline reader failed on this image") from exc
        boxes, texts, scores = output.boxes, output.txts, output.scores
        if boxes is None or not texts:
            return StubReading(fields={}, raw_text="", engine=self.name, notes="no text found")
        lines = boxes_to_lines(
            [
                (str(text), float(score), [(float(x), float(y)) for x, y in box])
                for box, text, score in zip(boxes, texts, scores, strict=True)
            ]
        )
        fields = parse_stub_text(lines, known)
        return StubReading(
            fields=apply_thresholds(fields, self._thresholds),
            raw_text="\n".join(line.text for line in lines),
            engine=self.name,
        )
