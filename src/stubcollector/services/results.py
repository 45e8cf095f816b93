"""What services' typed results have in common.

Services answer with frozen dataclasses holding real values (``datetime``, ``date``, enums,
nested results), fields declared in the order the API writes them; pages read the
attributes and the web layer writes the same objects as JSON (``web/json.py``). A field
declared with ``field(metadata=PAGE_ONLY)`` is there for the pages and never written to the
API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field
from types import MappingProxyType
from typing import Any, Final

PAGE_ONLY: Final[Mapping[str, bool]] = MappingProxyType({"json": False})


def written_to_json(field: Field[Any]) -> bool:
    """False for a field declared ``field(metadata=PAGE_ONLY)``."""
    return bool(field.metadata.get("json", True))
