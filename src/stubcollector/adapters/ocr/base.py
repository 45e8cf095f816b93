"""Reading a stub photo, in our own terms.

A :class:`StubReader` turns image bytes into a :class:`StubReading`: the fields it found,
each with a confidence between 0 and 1, the raw text and the engine that produced it.
Engines raise :class:`StubReadingError` for failures a user should see ("the image has no
readable text"); the job records the message on the stub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stubcollector.domain.stub_fields import READ_FIELDS

__all__ = [
    "READ_FIELDS",
    "FieldValue",
    "KnownNames",
    "StubReader",
    "StubReading",
    "StubReadingError",
]


@dataclass(frozen=True)
class FieldValue:
    """One field as read: ``value`` already normalised (ISO date, ``HH:MM``, ``"12.50"``)."""

    value: str
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must be between 0 and 1")


@dataclass(frozen=True)
class StubReading:
    fields: dict[str, FieldValue]
    raw_text: str
    engine: str
    # Anything the user should know about how the reading went (e.g. a fallback).
    notes: str | None = None


@dataclass(frozen=True)
class KnownNames:
    """Performers and venues we know by name (what owners confirmed on their stubs).

    A reader may use them to recognise a name the OCR half-read and to spell it the known
    way; an engine that cannot use them ignores them.
    """

    performers: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()


class StubReadingError(Exception):
    """The engine could not read the image; ``str(error)`` is shown to the owner."""


class StubReader(Protocol):
    @property
    def name(self) -> str:
        """Short engine name stored with each reading (``rapidocr``, ``gemini``)."""

    def read(self, image: bytes, content_type: str, known: KnownNames | None = None) -> StubReading:
        """Read ``image`` (PNG or JPEG bytes, already re-encoded by us)."""
