"""Forms of the collection, selling and marketplace pages (shape only; services decide).

Stub fields arrive as the strings the collection service validates (``face_value`` in
dollars, ``event_date`` as ``YYYY-MM-DD``); prices are dollars as typed, turned into cents
by the marketplace service, so a rule and its message live in one place for API and pages.
Search forms are GET forms without CSRF: they change nothing.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from stubcollector.domain.stub_fields import TEXT_LIMITS

# The correctable fields in the order the review form shows them (two a row on wide
# screens: the face value beside its currency), with their labels.
STUB_FIELD_LABELS: dict[str, str] = {
    "event_name": "Event",
    "performer": "Performer",
    "venue": "Venue",
    "city": "City",
    "event_date": "Date",
    "event_time": "Time",
    "face_value": "Face value",
    "currency": "Currency",
    "section": "Section",
    "row": "Row",
    "seat": "Seat",
    "notes": "Notes",
}


def _text(name: str, **extra: Any) -> StringField:
    return StringField(
        STUB_FIELD_LABELS[name],
        validators=[Optional(), Length(max=TEXT_LIMITS.get(name, 20))],
        **extra,
    )


class StubFieldsForm(FlaskForm):  # type: ignore[misc]
    """Every field an owner may set; empty clears a field on the review form."""

    event_name = _text("event_name")
    performer = _text("performer")
    venue = _text("venue")
    city = _text("city")
    event_date = StringField(
        "Date",
        validators=[Optional(), Length(max=10)],
        description="YYYY-MM-DD",
        render_kw={"placeholder": "1999-08-14", "inputmode": "numeric"},
    )
    event_time = StringField(
        "Time",
        validators=[Optional(), Length(max=5)],
        description="24-hour HH:MM",
        render_kw={"placeholder": "20:00", "inputmode": "numeric"},
    )
    section = _text("section")
    row = _text("row")
    seat = _text("seat")
    face_value = StringField(
        "Face value",
        validators=[Optional(), Length(max=20)],
        description="Printed price, e.g. 18.50",
        render_kw={"inputmode": "decimal"},
    )
    currency = StringField(
        "Currency",
        validators=[Optional(), Length(max=3)],
        description="Of the face value: three letters, e.g. USD, EUR, GBP",
        render_kw={"autocapitalize": "characters"},
    )
    notes = TextAreaField(
        "Notes",
        validators=[Optional(), Length(max=TEXT_LIMITS["notes"])],
        render_kw={"rows": 3},
    )

    def changes(self) -> dict[str, str]:
        """Every field as typed (empty clears it): the review form shows them all."""
        return {name: (self._fields[name].data or "") for name in STUB_FIELD_LABELS}

    def known(self) -> dict[str, str]:
        """Only the fields filled in: at upload, an empty field is for the reader to fill."""
        return {name: value for name, value in self.changes().items() if value.strip()}


class UploadForm(StubFieldsForm):
    image = FileField(
        "Photo of the stub",
        validators=[
            FileRequired("Choose a photo of the stub"),
            FileAllowed(["png", "jpg", "jpeg"], "Upload a PNG or JPEG photo"),
        ],
        description="PNG or JPEG. Flat, well lit, the whole stub in the frame.",
        render_kw={"accept": "image/png,image/jpeg", "data-preview": "upload-preview"},
    )


class ListingForm(FlaskForm):  # type: ignore[misc]
    asking_price = StringField(
        "Price in US dollars",
        validators=[Length(max=20)],
        description="What the buyer pays, e.g. 25.00. Our fee is taken from this.",
        render_kw={"inputmode": "decimal", "placeholder": "25.00", "autocomplete": "off"},
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=2000)],
        description="Condition, provenance, anything a collector would ask.",
        render_kw={"rows": 3},
    )


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


COLLECTION_SORTS: dict[str, str] = {
    "newest": "Newest added",
    "event_date_desc": "Event date, latest first",
    "event_date": "Event date, earliest first",
    "event_name": "Event name A to Z",
    "venue": "Venue A to Z",
}
# Page sort → the collection service's (column, descending).
COLLECTION_SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "newest": ("created_at", True),
    "event_date_desc": ("event_date", True),
    "event_date": ("event_date", False),
    "event_name": ("event_name", False),
    "venue": ("venue", False),
}


class CollectionFilterForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    year = IntegerField("Year", validators=[Optional(), NumberRange(1900, 2099)])
    venue = StringField("Venue", validators=[Optional(), Length(max=200)])
    sort = SelectField("Sort", choices=_choices(COLLECTION_SORTS), default="newest")


MARKET_SORTS: dict[str, str] = {
    "newest": "Newest listed",
    "price_asc": "Price, low to high",
    "price_desc": "Price, high to low",
    "event_date": "Event date, earliest first",
    "event_date_desc": "Event date, latest first",
}


class MarketFilterForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    min_price = StringField(
        "Min price ($)", validators=[Optional(), Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    max_price = StringField(
        "Max price ($)", validators=[Optional(), Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    date_from = DateField("Event from", validators=[Optional()])
    date_to = DateField("Event to", validators=[Optional()])
    venue = StringField("Venue", validators=[Optional(), Length(max=200)])
    seller = StringField("Seller", validators=[Optional(), Length(max=64)])
    sort = SelectField("Sort", choices=_choices(MARKET_SORTS), default="newest")
