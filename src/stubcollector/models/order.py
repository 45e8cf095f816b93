from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stubcollector.domain.disputes import FILE_FIELDS
from stubcollector.domain.economics import CostKind, FeePayer
from stubcollector.domain.money import CURRENCY
from stubcollector.domain.statuses import (
    LISTING_RELEASED_ORDER_STATUSES,
    OPEN_ORDER_STATUSES,
    LiabilityStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
)
from stubcollector.models.base import Base, TimestampMixin, one_of
from stubcollector.models.listing import StubListing
from stubcollector.models.user import User

_HOLDING = ", ".join(
    f"'{s.value}'"
    for s in (*OPEN_ORDER_STATUSES, OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED)
)
_RELEASED = ", ".join(f"'{s.value}'" for s in LISTING_RELEASED_ORDER_STATUSES)
# The orders that hold their listing: open or paid, and disputed ones unless the dispute came
# after the order had given the listing up (then the listing may belong to a newer order).
HOLDS_LISTING_SQL = (
    f"order_status IN ({_HOLDING}) OR (order_status = '{OrderStatus.DISPUTED.value}' AND "
    f"(status_before_dispute IS NULL OR status_before_dispute NOT IN ({_RELEASED})))"
)


class StubOrder(TimestampMixin, Base):
    """One buyer's purchase of one listing. Amounts are integer cents, fixed at creation."""

    __tablename__ = "stub_orders"
    __table_args__ = (
        one_of("order_status", OrderStatus, "order_status"),
        one_of("status_before_dispute", OrderStatus, "status_before_dispute"),
        CheckConstraint("total_amount_cents > 0", name="total_positive"),
        CheckConstraint("platform_fee_cents >= 0", name="fee_non_negative"),
        CheckConstraint("seller_amount_cents >= 0", name="seller_amount_non_negative"),
        CheckConstraint(
            "stripe_fee_cents IS NULL OR stripe_fee_cents >= 0", name="stripe_fee_non_negative"
        ),
        CheckConstraint(
            "platform_fee_cents + seller_amount_cents = total_amount_cents", name="split_adds_up"
        ),
        CheckConstraint("buyer_id <> seller_id", name="no_self_purchase"),
        CheckConstraint(f"currency = '{CURRENCY}'", name="currency_usd"),
        # At most one order holds a listing (open or paid); the last guard against double-sell.
        Index(
            "uq_stub_orders_holding_listing",
            "stub_listing_id",
            unique=True,
            sqlite_where=text(HOLDS_LISTING_SQL),
            postgresql_where=text(HOLDS_LISTING_SQL),
        ),
        Index("ix_stub_orders_buyer_created", "buyer_id", "created_at"),
        Index("ix_stub_orders_seller_created", "seller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    stub_listing_id: Mapped[int] = mapped_column(
        ForeignKey("stub_listings.id", ondelete="RESTRICT"), index=True
    )
    buyer: Mapped[User] = relationship(foreign_keys=[buyer_id], lazy="raise")
    seller: Mapped[User] = relationship(foreign_keys=[seller_id], lazy="raise")
    listing: Mapped[StubListing] = relationship(lazy="raise")

    order_status: Mapped[str] = mapped_column(
        String(20), default=OrderStatus.PENDING.value, index=True
    )
    # Where a won dispute returns the order to.
    status_before_dispute: Mapped[str | None] = mapped_column(String(20))
    # Why the order ended as it did, in words shown to the buyer (e.g. reservation expired).
    status_reason: Mapped[str | None] = mapped_column(Text)

    total_amount_cents: Mapped[int]
    platform_fee_cents: Mapped[int]
    seller_amount_cents: Mapped[int]
    # Stripe's processing fee, from the charge's balance transaction once known.
    stripe_fee_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    seller_payout_schedule_days: Mapped[int] = mapped_column(default=7)

    payment_confirmed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<StubOrder {self.id} {self.order_status}>"


class StubPayment(TimestampMixin, Base):
    """The provider side of an order: the direct-charge PaymentIntent on the seller's account."""

    __tablename__ = "stub_payments"
    __table_args__ = (
        one_of("payment_status", PaymentStatus, "payment_status"),
        one_of("liability_shift_status", LiabilityStatus, "liability_shift_status"),
        CheckConstraint("amount_total_cents > 0", name="amount_positive"),
        CheckConstraint("platform_fee_cents >= 0", name="fee_non_negative"),
        CheckConstraint(
            "stripe_processing_fee_cents IS NULL OR stripe_processing_fee_cents >= 0",
            name="processing_fee_non_negative",
        ),
        CheckConstraint(
            "amount_refunded_cents >= 0 AND amount_refunded_cents <= amount_total_cents",
            name="refund_within_amount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("stub_orders.id", ondelete="CASCADE"), unique=True
    )
    order: Mapped[StubOrder] = relationship(lazy="raise")

    # The connected account the charge lives on; every later call needs it (Stripe-Account).
    stripe_account_id: Mapped[str] = mapped_column(String(255))
    payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # The provider's id of the latest refund (every attempt is a StubRefund).
    refund_id: Mapped[str | None] = mapped_column(String(255), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)

    amount_total_cents: Mapped[int]
    platform_fee_cents: Mapped[int]
    stripe_processing_fee_cents: Mapped[int | None]
    # What the provider has confirmed as refunded (succeeded refunds only).
    amount_refunded_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)

    payment_status: Mapped[str] = mapped_column(
        String(30), default=PaymentStatus.REQUIRES_PAYMENT_METHOD.value, index=True
    )
    liability_shift_status: Mapped[str] = mapped_column(
        String(20), default=LiabilityStatus.PENDING.value
    )
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)

    processed_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    # When reconciliation last re-read this PaymentIntent from the provider (it takes turns).
    provider_checked_at: Mapped[datetime | None]
    # The platform's ApplicationFee (fee_...) of the charge, once the provider shows it.
    application_fee_id: Mapped[str | None] = mapped_column(String(255))
    # When the charge's fees were recorded (StubOrderCost); until then reconciliation reads
    # them again (the balance transaction can come up to an hour after the payment).
    costs_recorded_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<StubPayment {self.payment_intent_id} {self.payment_status}>"


class StubDispute(TimestampMixin, Base):
    """A chargeback or inquiry raised by the buyer's bank against an order's charge."""

    __tablename__ = "stub_disputes"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        CheckConstraint("funds_withdrawn_cents >= 0", name="withdrawn_non_negative"),
        CheckConstraint("funds_reinstated_cents >= 0", name="reinstated_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("stub_orders.id", ondelete="CASCADE"), index=True
    )
    order: Mapped[StubOrder] = relationship(lazy="raise")
    dispute_id: Mapped[str] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(255))
    # Stripe's Dispute.status: needs_response, under_review, won, lost, warning_*, ...
    status: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str | None] = mapped_column(String(60))
    amount_cents: Mapped[int]
    funds_withdrawn_cents: Mapped[int] = mapped_column(default=0)
    funds_reinstated_cents: Mapped[int] = mapped_column(default=0)
    evidence_due_by: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The evidence as last sent to the provider (text fields, and file fields' file ids),
    # whether it is only staged there, how many times it was submitted, when and by whom.
    evidence: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    has_evidence: Mapped[bool] = mapped_column(default=False)
    submission_count: Mapped[int] = mapped_column(default=0)
    evidence_submitted_at: Mapped[datetime | None]
    evidence_submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class StubDisputeFile(TimestampMixin, Base):
    """A file uploaded to the provider as evidence for a dispute (the provider keeps it)."""

    __tablename__ = "stub_dispute_files"
    __table_args__ = (
        one_of("field", tuple(FILE_FIELDS), "field"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_row_id: Mapped[int] = mapped_column(
        ForeignKey("stub_disputes.id", ondelete="CASCADE"), index=True
    )
    # The evidence field it answers (receipt, shipping_documentation, ...).
    field: Mapped[str] = mapped_column(String(40))
    file_id: Mapped[str] = mapped_column(String(255), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    file_type: Mapped[str] = mapped_column(String(10))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class StubOrderCost(TimestampMixin, Base):
    """One fee the payment provider took for an order, as its balance transaction shows it:
    Stripe's processing fee on the charge, a dispute's fees. Who paid it is whose balance
    carried the transaction (``payer``): the platform's costs are the ``platform`` rows.
    Recorded once per (kind, balance transaction), however often the fee is read again."""

    __tablename__ = "stub_order_costs"
    __table_args__ = (
        one_of("kind", CostKind, "kind"),
        one_of("payer", FeePayer, "payer"),
        UniqueConstraint("kind", "balance_transaction_id", name="uq_stub_order_costs_transaction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("stub_orders.id", ondelete="CASCADE"), index=True
    )
    order: Mapped[StubOrder] = relationship(lazy="raise")
    # For dispute fees: the dispute (dp_...) they belong to.
    dispute_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    payer: Mapped[str] = mapped_column(String(10))
    # Taken (> 0) or given back (< 0, a won dispute's countered fee), in cents.
    amount_cents: Mapped[int]
    # The provider's balance transaction (txn_...) it was read from.
    balance_transaction_id: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    # When the provider took it (the transaction's own time); the totals count it that day.
    occurred_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<StubOrderCost {self.order_id} {self.kind} {self.payer} {self.amount_cents}>"


class StubRefund(TimestampMixin, Base):
    """One refund of an order's payment: an attempt of ours, or one the provider reported.

    We number our own attempts (``attempt``) and derive each attempt's idempotency key from
    it, so that a retry after a failed refund is a new refund while a repeated request for
    the same attempt can only ever return that attempt's refund. A refund made elsewhere
    (the provider's dashboard) or reported before our own request recorded its answer has
    no attempt number; it is merged into our attempt once the provider's id matches.
    """

    __tablename__ = "stub_refunds"
    __table_args__ = (
        one_of("status", RefundStatus, "status"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("attempt IS NULL OR attempt > 0", name="attempt_positive"),
        CheckConstraint("(attempt IS NULL) = (idempotency_key IS NULL)", name="attempt_has_key"),
        UniqueConstraint("order_id", "attempt", name="uq_stub_refunds_order_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("stub_orders.id", ondelete="CASCADE"), index=True
    )
    order: Mapped[StubOrder] = relationship(lazy="raise")
    attempt: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The provider's refund id (re_...), unknown until the provider answers.
    refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.REQUESTED.value)
    amount_cents: Mapped[int]
    # The provider's failure_reason (lost_or_stolen_card, expired_or_canceled_card, ...) or
    # why the provider refused the request.
    failure_reason: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None]
    # When reconciliation last re-read this refund from the provider (it takes turns).
    provider_checked_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<StubRefund {self.order_id}#{self.attempt} {self.refund_id} {self.status}>"
