"""Typed service results written as the API's JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum

from flask import Flask

from stubcollector.services.results import PAGE_ONLY
from stubcollector.web.json import AppJSONProvider, to_json


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    at: datetime
    on: date | None


@dataclass(frozen=True)
class Outer:
    zeta: int
    alpha: str
    inner: Inner
    items: tuple[Inner, ...]
    colour: Colour
    note: str = field(default="secret", metadata=PAGE_ONLY)


MOMENT = datetime(2026, 12, 5, 13, 45, 29, 123456, tzinfo=UTC)
VALUE = Outer(
    zeta=1,
    alpha="a",
    inner=Inner(MOMENT, date(2026, 12, 6)),
    items=(Inner(MOMENT.replace(microsecond=0), None),),
    colour=Colour.RED,
)


def test_fields_keep_declaration_order_and_page_only_fields_are_left_out() -> None:
    assert list(to_json(VALUE)) == ["zeta", "alpha", "inner", "items", "colour"]


def test_dates_and_enums_are_written_as_the_api_always_wrote_them() -> None:
    written = to_json(VALUE)
    assert written["inner"] == {"at": "2026-12-05T13:45:29.123456+00:00", "on": "2026-12-06"}
    assert written["items"] == [{"at": "2026-12-05T13:45:29+00:00", "on": None}]
    assert written["colour"] == "red"


def test_jsonify_accepts_typed_results_without_sorting_keys() -> None:
    app = Flask(__name__)
    app.json = AppJSONProvider(app)
    with app.app_context():
        body = app.json.dumps({"status": "success", "outer": VALUE})
    assert list(json.loads(body)) == ["status", "outer"]
    assert json.loads(body)["outer"] == to_json(VALUE)
