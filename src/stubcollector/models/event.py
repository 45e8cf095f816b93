from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.domain.statuses import EventStatus
from stubcollector.models.base import Base, one_of, utcnow

WAITING_FOR_DISPATCH = text("dispatched_at IS NULL AND processing_status = 'received'")


class ProviderEvent(Base):
    """A webhook event, stored once by id before anything acts on it (the idempotent inbox)."""

    __tablename__ = "provider_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_provider_events_provider_event_id"),
        one_of("processing_status", EventStatus, "processing_status"),
        Index("ix_provider_events_status_received", "processing_status", "received_at"),
        Index(
            "ix_provider_events_waiting_dispatch",
            "id",
            sqlite_where=WAITING_FOR_DISPATCH,
            postgresql_where=WAITING_FOR_DISPATCH,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100), index=True)
    # Event.account: the connected account the event came from (Connect endpoint), else None.
    account: Mapped[str | None] = mapped_column(String(255))
    livemode: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    processing_status: Mapped[str] = mapped_column(String(20), default=EventStatus.RECEIVED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the dispatcher handed the event to its processing job (None: not yet, or
    # stored before the dispatcher existed).
    dispatched_at: Mapped[datetime | None]
