"""What owners may type into a stub's fields."""

from __future__ import annotations

from datetime import date

import pytest

from stubcollector.domain.errors import ValidationFailed
from stubcollector.domain.stub_fields import validate_stub_fields


def test_values_become_columns() -> None:
    assert validate_stub_fields(
        {
            "event_date": "2009-04-19",
            "event_time": "20:00",
            "face_value": "45.5",
            "currency": "eur",
            "venue": "  Garden ",
            "seat": "",
            "row": None,
        }
    ) == {
        "event_date": date(2009, 4, 19),
        "event_time": "20:00",
        "face_value_cents": 4550,
        "currency": "EUR",
        "venue": "Garden",
        "seat": None,
        "row": None,
    }


def test_free_tickets_have_a_zero_face_value() -> None:
    assert validate_stub_fields({"face_value": "0"}) == {"face_value_cents": 0}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("event_date", "19.04.2009"),
        ("event_date", "2009-4-19"),
        ("event_date", "1899-12-31"),
        ("event_time", "8pm"),
        ("event_time", "24:00"),
        ("face_value", "-1"),
        ("face_value", "12.345"),
        ("face_value", "NaN"),
        ("face_value", "1e9"),
        ("currency", "US"),
        ("currency", "€"),
        ("venue", "x" * 201),
        ("seat", "1\x00"),
        ("performer", 12),
        ("owner_id", "1"),
    ],
)
def test_bad_values_name_their_field(name: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_stub_fields({name: value})
    assert set(caught.value.errors) == {name}


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_stub_fields({"event_time": "x", "currency": "x", "venue": "ok"})
    assert set(caught.value.errors) == {"event_time", "currency"}
