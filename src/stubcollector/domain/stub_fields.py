"""The fields of a stub as owners type them: one rule per field, each error names its field.

Used for corrections (``PATCH``) and for the fields an uploader already knows. Values are
strings (form fields and JSON alike); an empty string or ``null`` clears a field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from stubcollector.domain.errors import ValidationFailed
from stubcollector.domain.money import parse_price_cents

# The fields read from a stub photo, each with a confidence; the same names as the Stub
# model's columns (face_value is a decimal string in readings and integer cents in the
# database).
READ_FIELDS = (
    "event_name",
    "performer",
    "venue",
    "city",
    "event_date",
    "event_time",
    "section",
    "row",
    "seat",
    "face_value",
    "currency",
)

# A field read with less confidence than this is a suggestion for the owner to check (shown
# as "not sure", listed in a stub's ``unsure_fields``), not a value the page presents as read.
# On the reader's evaluation sets (bench/stubs_real, thresholds applied, 1,077 values kept)
# values below 0.7 were right 86 % of the time and those above 98 %: 0.7 flags 17 % of the
# values and more than half of the wrong ones (0.8 would flag half of all values, 93 % right,
# including every time and currency read).
SURE_CONFIDENCE = 0.7

TEXT_LIMITS = {
    "event_name": 200,
    "performer": 200,
    "venue": 200,
    "city": 120,
    "section": 50,
    "row": 50,
    "seat": 50,
    "notes": 5000,
}
# Every field an owner may set; face_value arrives as a decimal string and is stored in cents.
EDITABLE_FIELDS = (*TEXT_LIMITS, "event_date", "event_time", "face_value", "currency")
# A stub's face value, not a listing price: free tickets exist, a million is a typo.
MAX_FACE_VALUE_CENTS = 100_000_00
EARLIEST_EVENT = date(1900, 1, 1)
LATEST_EVENT = date(2099, 12, 31)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def validate_stub_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Check every given field and return column values (``face_value`` → ``face_value_cents``).

    All errors are collected so the owner can fix the whole form at once.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, raw in changes.items():
        if name not in EDITABLE_FIELDS:
            errors[name] = "is not a known field"
            continue
        try:
            column, value = _validate_one(name, raw)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        values[column] = value
    if errors:
        raise ValidationFailed.many(errors)
    return values


def _validate_one(name: str, raw: Any) -> tuple[str, Any]:
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed(name, "must be a string or null")
    text = (raw or "").strip()
    if _CONTROL.search(text):
        raise ValidationFailed(name, "must not contain control characters")
    if name in TEXT_LIMITS:
        limit = TEXT_LIMITS[name]
        if len(text) > limit:
            raise ValidationFailed(name, f"must be at most {limit} characters")
        return name, text or None
    if not text:
        return ("face_value_cents" if name == "face_value" else name), None
    if name == "event_date":
        return name, _parse_date(text)
    if name == "event_time":
        if not _TIME.match(text):
            raise ValidationFailed(name, "must be a 24-hour time HH:MM, e.g. 20:00")
        return name, text
    if name == "face_value":
        return "face_value_cents", parse_price_cents(
            text, field="face_value", minimum=0, maximum=MAX_FACE_VALUE_CENTS
        )
    # currency
    code = text.upper()
    if not _CURRENCY.match(code):
        raise ValidationFailed(name, "must be a three-letter ISO 4217 code such as USD or EUR")
    return name, code


def _parse_date(text: str) -> date:
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("event_date", "must be a date YYYY-MM-DD") from None
    if len(text) != 10:
        raise ValidationFailed("event_date", "must be a date YYYY-MM-DD")
    if not EARLIEST_EVENT <= parsed <= LATEST_EVENT:
        raise ValidationFailed("event_date", "must be between 1900-01-01 and 2099-12-31")
    return parsed


def validate_confirmed_fields(names: Any) -> tuple[str, ...]:
    """The fields an owner marks as right as read ("looks right"): read fields, each once."""
    if not isinstance(names, list | tuple) or not all(isinstance(name, str) for name in names):
        raise ValidationFailed("confirmed_fields", "must be a list of field names")
    unknown = sorted(set(names) - set(READ_FIELDS))
    if unknown:
        raise ValidationFailed(
            "confirmed_fields",
            f"{', '.join(unknown)}: not a field read from the photo "
            f"(one of {', '.join(READ_FIELDS)})",
        )
    return tuple(dict.fromkeys(names))
