"""URL converters shared by every blueprint."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

# Ids are INTEGER columns on both databases. A larger number in a URL cannot name a row,
# and would reach the driver as an out-of-range parameter (SQLite raises OverflowError
# past 2**63), so the router answers 404 before any view runs.
MAX_PATH_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to 0..2**31-1; the OpenAPI document states the same bounds."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 0,
        max: int | None = MAX_PATH_INT,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def install_converters(app: Flask) -> None:
    """Replace werkzeug's unbounded ``int``; call before any blueprint adds its rules."""
    converters: dict[str, Any] = app.url_map.converters
    converters["int"] = BoundedIntConverter
