"""The Gemini engine: the photo goes to Gemini with a response schema; any failure falls
back to the offline engine, and the reading says so.

Only this module imports ``google.genai``. Gemini's answer is validated like any other
untrusted input and normalised by the same functions the offline parser uses.
"""

from __future__ import annotations

import json
import logging

from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stubcollector.adapters.ocr.base import (
    READ_FIELDS,
    FieldValue,
    KnownNames,
    StubReader,
    StubReading,
    StubReadingError,
)
from stubcollector.adapters.ocr.parser import (
    normalize_amount,
    normalize_currency,
    normalize_date,
    normalize_time,
)

log = logging.getLogger(__name__)

ENGINE_NAME = "gemini"

PROMPT = """You read photographs of used event tickets (ticket stubs) for a collector.
Report only what is printed on the ticket; use null for anything not printed or unreadable.
- event_name: the title of the event or tour as printed (the act's name if there is no title)
- performer: the band, artist or teams
- venue and city: where it took place
- event_date: the event's date as YYYY-MM-DD (not the purchase or print date)
- event_time: the show's start time as HH:MM, 24-hour (not the doors time)
- section, row, seat: as printed; section "GA" for general admission or standing tickets
- face_value: the ticket price as a plain decimal number such as 45.00 (not fees)
- currency: the ISO 4217 code of that price, e.g. USD, EUR, GBP
For every field give your confidence from 0 to 1. raw_text is all printed text, line by line.
"""


class _Field(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: str | None = Field(default=None, max_length=300)
    confidence: float = Field(ge=0, le=1)


class GeminiAnswer(BaseModel):
    """The response schema sent to Gemini and the validator of its answer."""

    model_config = ConfigDict(extra="ignore")

    event_name: _Field | None = None
    performer: _Field | None = None
    venue: _Field | None = None
    city: _Field | None = None
    event_date: _Field | None = None
    event_time: _Field | None = None
    section: _Field | None = None
    row: _Field | None = None
    seat: _Field | None = None
    face_value: _Field | None = None
    currency: _Field | None = None
    raw_text: str = Field(default="", max_length=20_000)


class GeminiFailure(StubReadingError):
    """Gemini did not give a usable answer (HTTP error, timeout, malformed JSON)."""


class GeminiStubReader:
    """Reads with Gemini; on any Gemini failure reads with ``fallback`` and notes why."""

    name = ENGINE_NAME

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        fallback: StubReader,
        timeout_seconds: int = 30,
        base_url: str = "",
    ) -> None:
        self._model = model
        self._fallback = fallback
        http_options = types.HttpOptions(
            timeout=timeout_seconds * 1000,
            base_url=base_url or None,
            # One attempt: the fallback is quicker than waiting out Gemini's back-off.
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key, http_options=http_options)

    def read(self, image: bytes, content_type: str, known: KnownNames | None = None) -> StubReading:
        # Gemini knows the world's acts and venues; the known names help the fallback only.
        try:
            return self.read_with_gemini(image, content_type)
        except GeminiFailure as failure:
            log.warning(
                "Gemini reading failed (%s); falling back to %s", failure, self._fallback.name
            )
            reading = self._fallback.read(image, content_type, known)
            note = f"Gemini could not read this stub ({failure}); read with the offline engine."
            return StubReading(
                fields=reading.fields,
                raw_text=reading.raw_text,
                engine=reading.engine,
                notes=note if not reading.notes else f"{note} {reading.notes}",
            )

    def read_with_gemini(self, image: bytes, content_type: str) -> StubReading:
        contents = types.Content(
            role="user",
            parts=[
                types.Part.from_bytes(data=image, mime_type=content_type),
                types.Part.from_text(text=PROMPT),
            ],
        )
        try:
            response = self._client.models.generate_content(
                model=self._model,
                contents=contents,
                config=types.GenerateContentConfig(
                    response_mime_type="application/json",
                    response_schema=GeminiAnswer,
                    temperature=0,
                ),
            )
        except genai_errors.APIError as exc:
            raise GeminiFailure(f"Gemini answered HTTP {exc.code}") from exc
        except Exception as exc:
            # Timeouts and connection errors surface as the HTTP library's own exceptions.
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                raise GeminiFailure("Gemini did not answer in time") from exc
            raise GeminiFailure(f"Gemini request failed: {type(exc).__name__}") from exc
        text = response.text
        if not text:
            raise GeminiFailure("Gemini returned no answer")
        try:
            answer = GeminiAnswer.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            raise GeminiFailure("Gemini's answer was not in the expected form") from exc
        return StubReading(fields=to_fields(answer), raw_text=answer.raw_text, engine=self.name)


def to_fields(answer: GeminiAnswer) -> dict[str, FieldValue]:
    """Keep the values that normalise; a date Gemini wrote as text still becomes ISO."""
    fields: dict[str, FieldValue] = {}
    for name in READ_FIELDS:
        item: _Field | None = getattr(answer, name)
        if item is None or item.value is None or not item.value.strip():
            continue
        raw = item.value.strip()
        value: str | None
        if name == "event_date":
            value = normalize_date(raw, day_first=True) if "." in raw else normalize_date(raw)
        elif name == "event_time":
            value = normalize_time(raw)
        elif name == "face_value":
            value = normalize_amount(raw.lstrip("$€£ ").rstrip("€$£ "))
        elif name == "currency":
            value = normalize_currency(raw)
        else:
            value = raw[:200]
        if value is not None:
            fields[name] = FieldValue(value, round(item.confidence, 3))
    return fields
