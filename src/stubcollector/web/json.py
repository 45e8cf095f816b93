"""How the API writes the typed results services return.

Services answer with frozen dataclasses holding real values (``services/results.py``); the
pages use those attributes directly. The API writes the same objects as JSON through
:func:`to_json`: fields in declaration order (the order clients have always seen), datetimes
and dates in ISO 8601 (``datetime.isoformat()``: UTC values end in ``+00:00``), enums as
their values; a field declared with ``metadata=PAGE_ONLY`` is left out.

``AppJSONProvider`` makes ``jsonify`` (and so ``envelope.ok``) accept these objects, so a
view passes a service's result straight into the envelope.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from flask.json.provider import DefaultJSONProvider

from stubcollector.services.results import written_to_json


def to_json(value: Any) -> Any:
    """``value`` as plain JSON types, recursively (dataclasses, mappings, sequences)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if written_to_json(field)
        }
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


class AppJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with key order kept ("status" first) and typed results known."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if (dataclasses.is_dataclass(o) and not isinstance(o, type)) or isinstance(
            o, datetime | date | Enum
        ):
            return to_json(o)
        return DefaultJSONProvider.default(o)
