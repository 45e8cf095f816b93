"""A seller's payouts to their bank, as the provider's payout events report them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.domain.statuses import PayoutStatus
from stubcollector.models.base import Base, TimestampMixin, one_of


class SellerPayout(TimestampMixin, Base):
    """One payout (``po_…``) of a seller's connected account, with its latest status.

    Stripe pays out the seller's balance by itself (daily, after the hold); we only learn
    of it from ``payout.*`` events on the Connect endpoint. A status only moves forward
    (``domain.statuses.payout_status_advances``), so a ``payout.failed`` that follows a
    ``payout.paid`` wins whatever order they arrive in.
    """

    __tablename__ = "seller_payouts"
    __table_args__ = (
        one_of("status", PayoutStatus, "status"),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        Index("ix_seller_payouts_seller_created", "seller_id", "provider_created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(255))
    payout_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    # The day the bank should have the money (Stripe's ``arrival_date``, a UTC midnight).
    arrival_date: Mapped[date | None]
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)
    # When Stripe created the payout (``created``); pages list the newest first.
    provider_created_at: Mapped[datetime | None]
