from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stubcollector.domain.money import CURRENCY, MIN_PRICE_CENTS
from stubcollector.domain.statuses import LIVE_LISTING_STATUSES, ListingStatus
from stubcollector.models.base import Base, one_of, utcnow
from stubcollector.models.stub import Stub
from stubcollector.models.user import User

_LIVE = ", ".join(f"'{status.value}'" for status in LIVE_LISTING_STATUSES)
# Listings on the market (active, or held by a buyer whose hold may have expired). The browse
# query repeats this exact text so that SQLite and PostgreSQL can use the partial indexes.
ON_SALE_SQL = "status NOT IN ('sold', 'cancelled')"


class StubListing(Base):
    """A stub offered for sale. Cancelling or selling changes the status; rows are never deleted."""

    __tablename__ = "stub_listings"
    __table_args__ = (
        one_of("status", ListingStatus, "status"),
        CheckConstraint(f"asking_price_cents >= {MIN_PRICE_CENTS}", name="price_minimum"),
        CheckConstraint(f"currency = '{CURRENCY}'", name="currency_usd"),
        CheckConstraint(
            "(status = 'payment_pending') = "
            "(reserved_by_user_id IS NOT NULL AND reserved_until IS NOT NULL)",
            name="reservation_matches_status",
        ),
        # One live listing per stub, enforced by the database, not by a check-then-insert.
        Index(
            "uq_stub_listings_live_stub",
            "stub_id",
            unique=True,
            sqlite_where=text(f"status IN ({_LIVE})"),
            postgresql_where=text(f"status IN ({_LIVE})"),
        ),
        Index("ix_stub_listings_status_listed", "status", "listed_at"),
        Index("ix_stub_listings_status_price", "status", "asking_price_cents"),
        Index("ix_stub_listings_seller_status", "seller_id", "status"),
        # Browse pages read these in order and stop after one page (newest, price up/down).
        Index(
            "ix_stub_listings_on_sale_listed",
            "listed_at",
            "id",
            sqlite_where=text(ON_SALE_SQL),
            postgresql_where=text(ON_SALE_SQL),
        ),
        Index(
            "ix_stub_listings_on_sale_price",
            "asking_price_cents",
            "id",
            sqlite_where=text(ON_SALE_SQL),
            postgresql_where=text(ON_SALE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stub_id: Mapped[int] = mapped_column(ForeignKey("stubs.id", ondelete="RESTRICT"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    stub: Mapped[Stub] = relationship(lazy="raise")
    seller: Mapped[User] = relationship(foreign_keys=[seller_id], lazy="raise")

    asking_price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ListingStatus.ACTIVE.value)

    # The one buyer holding the listing while they pay, and until when.
    reserved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reserved_until: Mapped[datetime | None] = mapped_column(index=True)

    listed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sold_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<StubListing {self.id} {self.status} {self.asking_price_cents}c>"
