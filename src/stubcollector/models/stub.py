from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, event, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from stubcollector.domain.search_text import stub_search_text, venue_search_text
from stubcollector.domain.statuses import ReadingStatus
from stubcollector.domain.stub_fields import READ_FIELDS
from stubcollector.models.base import Base, TimestampMixin, one_of
from stubcollector.models.user import User

# The fields read from a stub photo; each has a confidence in ``field_confidence``.
STUB_FIELDS = READ_FIELDS
# The fields the search columns are made of.
SEARCHED_FIELDS = ("event_name", "performer", "venue", "city", "event_date")


def _searched_values(values: dict[str, Any]) -> tuple[str, str]:
    event_date = values.get("event_date")
    return (
        stub_search_text(
            event_name=values.get("event_name"),
            performer=values.get("performer"),
            venue=values.get("venue"),
            city=values.get("city"),
            event_date=event_date if isinstance(event_date, date) else None,
        ),
        venue_search_text(values.get("venue")),
    )


def _inserted_values(context: DefaultExecutionContext) -> dict[str, Any]:
    """The values of the row being inserted (one row of an executemany as well)."""
    values: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return values


def _search_text_on_insert(context: DefaultExecutionContext) -> str:
    return _searched_values(_inserted_values(context))[0]


def _search_venue_on_insert(context: DefaultExecutionContext) -> str:
    return _searched_values(_inserted_values(context))[1]


class Stub(TimestampMixin, Base):
    """A photographed ticket stub in its owner's collection."""

    __tablename__ = "stubs"
    __table_args__ = (
        one_of("reading_status", ReadingStatus, "reading_status"),
        CheckConstraint(
            "face_value_cents IS NULL OR face_value_cents >= 0", name="face_value_non_negative"
        ),
        Index("ix_stubs_owner_created", "owner_id", "created_at"),
        Index("ix_stubs_owner_event_date", "owner_id", "event_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    owner: Mapped[User] = relationship(lazy="raise")

    # Storage keys (random names chosen by us; the uploaded file name never reaches disk).
    image_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    image_content_type: Mapped[str | None] = mapped_column(String(50))
    image_width: Mapped[int | None]
    image_height: Mapped[int | None]

    event_name: Mapped[str | None] = mapped_column(String(200))
    performer: Mapped[str | None] = mapped_column(String(200))
    venue: Mapped[str | None] = mapped_column(String(200), index=True)
    city: Mapped[str | None] = mapped_column(String(120))
    event_date: Mapped[date | None] = mapped_column(index=True)
    event_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    section: Mapped[str | None] = mapped_column(String(50))
    row: Mapped[str | None] = mapped_column(String(50))
    seat: Mapped[str | None] = mapped_column(String(50))
    face_value_cents: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)

    # What the reader found: confidence 0..1 per field, the raw text and which engine ran.
    field_confidence: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # Fields the owner set or corrected by hand (their confidence is 1.0 from then on).
    corrected_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Fields the owner marked as right as read ("looks right"): kept like corrections by a
    # new reading, with confidence 1.0; a field is corrected or confirmed, never both.
    confirmed_fields: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    raw_text: Mapped[str | None] = mapped_column(Text)
    extraction_engine: Mapped[str | None] = mapped_column(String(50))
    extraction_notes: Mapped[str | None] = mapped_column(Text)
    reading_status: Mapped[str] = mapped_column(
        String(20), default=ReadingStatus.PENDING.value, index=True
    )
    reading_error: Mapped[str | None] = mapped_column(Text)

    # What searches compare their words with, accents and case folded away
    # (domain/search_text.py): event, performer, venue, city and the event's year; and the
    # venue alone. Filled on every insert, ORM or Core (the column defaults), and on every
    # ORM update (_refresh_search_text below); trigram-indexed on PostgreSQL
    # (models/search.py). NULL only on a row an older release wrote during an upgrade.
    search_text: Mapped[str | None] = mapped_column(Text, default=_search_text_on_insert)
    search_venue: Mapped[str | None] = mapped_column(Text, default=_search_venue_on_insert)

    def refresh_search_text(self) -> None:
        """Make the search columns match the fields (assigning only what changed)."""
        searched, venue = _searched_values({name: getattr(self, name) for name in SEARCHED_FIELDS})
        if self.search_text != searched:
            self.search_text = searched
        if self.search_venue != venue:
            self.search_venue = venue

    def __repr__(self) -> str:
        return f"<Stub {self.id} {self.event_name!r}>"


@event.listens_for(Stub, "before_update")
def _refresh_search_text(_mapper: Mapper[Stub], _connection: Any, stub: Stub) -> None:
    # Changes made here are part of the same UPDATE (SQLAlchemy's before_update contract).
    stub.refresh_search_text()
