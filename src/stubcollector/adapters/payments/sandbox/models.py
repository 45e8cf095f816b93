"""The sandbox payment backend's own state: a local look-alike of Stripe's objects.

These tables belong to the sandbox adapter (``adapters/payments/sandbox``), not to the
marketplace: services never read them. They persist in the app's database so the sandbox
survives restarts and serves several workers, like a remote provider would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.models.base import Base, utcnow


class SandboxAccount(Base):
    """A connected account (``acct_...``) with its onboarding state and payout schedule."""

    __tablename__ = "sandbox_accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2), default="US")
    # controller.fees.payer / controller.losses.payments, as the account was created.
    fees_payer: Mapped[str] = mapped_column(String(20), default="application")
    losses_payer: Mapped[str] = mapped_column(String(20), default="application")
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    requirements_due: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled_reason: Mapped[str | None] = mapped_column(String(100))
    # settings.payouts.schedule: Stripe's US "minimum" is 2 days until the platform sets one.
    payout_delay_days: Mapped[int] = mapped_column(default=2)
    payout_interval: Mapped[str] = mapped_column(String(20), default="daily")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The seller disconnected the platform (``account.application.deauthorized``): the
    # platform's key has no access to the account any more.
    deauthorized_at: Mapped[datetime | None]


class SandboxLink(Base):
    """A single-use account link (onboarding) or login link (dashboard)."""

    __tablename__ = "sandbox_links"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # account_onboarding | login
    return_url: Mapped[str | None] = mapped_column(Text)
    refresh_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SandboxPaymentIntent(Base):
    """A direct-charge PaymentIntent with its (single) charge, refunds and dispute folded in."""

    __tablename__ = "sandbox_payment_intents"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "application_fee_amount >= 0 AND application_fee_amount < amount", name="fee_below"
        ),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refund_cap"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_accounts.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int]
    application_fee_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(30))
    client_secret: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    canceled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str | None] = mapped_column(String(40))
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    charge_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    charge_created_at: Mapped[datetime | None]
    card_last4: Mapped[str | None] = mapped_column(String(4))
    processing_fee: Mapped[int | None]
    balance_transaction_id: Mapped[str | None] = mapped_column(String(40))

    amount_refunded: Mapped[int] = mapped_column(default=0)
    # The latest refund (all of them are SandboxRefund rows).
    refund_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    refund_reason: Mapped[str | None] = mapped_column(String(40))
    refunded_at: Mapped[datetime | None]

    dispute_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    dispute_status: Mapped[str | None] = mapped_column(String(40))
    dispute_reason: Mapped[str | None] = mapped_column(String(40))
    dispute_created_at: Mapped[datetime | None]
    dispute_closed_at: Mapped[datetime | None]
    # Dispute.evidence as staged or submitted, and evidence_details.submission_count.
    dispute_evidence: Mapped[dict[str, str] | None] = mapped_column(JSON)
    dispute_submission_count: Mapped[int] = mapped_column(default=0)


class SandboxRefund(Base):
    """A refund (``re_...``) of a PaymentIntent's charge, with Stripe's status life.

    ``amount_refunded`` on the PaymentIntent counts the refunds that are not failed or
    canceled (pending ones included, as Stripe's ``Charge.amount_refunded`` does).
    """

    __tablename__ = "sandbox_refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_accounts.id", ondelete="CASCADE"))
    payment_intent_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_payment_intents.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxBalanceTransaction(Base):
    """A movement of a balance (``txn_...``); available from ``available_on``.

    A seller's (``account_id`` set) or the platform's own (``account_id`` NULL: application
    fees earned, and the fees Stripe bills the platform when it pays them).
    """

    __tablename__ = "sandbox_balance_transactions"
    __table_args__ = (
        Index("ix_sandbox_balance_transactions_account", "account_id", "created_at"),
        Index("ix_sandbox_balance_transactions_source", "source"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("sandbox_accounts.id", ondelete="CASCADE")
    )
    # charge, refund, refund_failure, adjustment, application_fee, application_fee_refund,
    # stripe_fee (Stripe billing the platform)
    type: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int]
    # What was taken besides the amount: the application fee on a charge, and Stripe's
    # processing or dispute fee when this balance pays it.
    fee: Mapped[int] = mapped_column(default=0)
    # The application fee's part of ``fee`` (fee_details of type application_fee).
    application_fee: Mapped[int] = mapped_column(default=0)
    net: Mapped[int]
    description: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_on: Mapped[datetime]


class SandboxApplicationFee(Base):
    """The platform's application fee (``fee_...``) of a direct charge, with what went back."""

    __tablename__ = "sandbox_application_fees"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_accounts.id", ondelete="CASCADE"))
    charge_id: Mapped[str] = mapped_column(String(40), unique=True)
    payment_intent_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int]
    amount_refunded: Mapped[int] = mapped_column(default=0)
    balance_transaction_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxFile(Base):
    """An uploaded file (``file_...``); the sandbox keeps what Stripe shows of it, not the bytes."""

    __tablename__ = "sandbox_files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("sandbox_accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    type: Mapped[str] = mapped_column(String(10))  # pdf, png, jpg
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxPayout(Base):
    """A payout (``po_...``) of a connected account's available balance to its bank.

    The sandbox dashboard makes one (``in_transit``), then lets it arrive (``paid``) or
    fail, before or after reading paid, as Stripe's payouts may.
    """

    __tablename__ = "sandbox_payouts"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_accounts.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(20))
    arrival_date: Mapped[datetime]
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(Text)
    balance_transaction_id: Mapped[str] = mapped_column(String(40))
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxIdempotencyKey(Base):
    """Stripe's idempotency rule: the first response for a key is the response for that key."""

    __tablename__ = "sandbox_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_sandbox_idempotency_keys_scope_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Stripe-Account the request was made for ("platform" without one).
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    # Operation and parameters; a different fingerprint under the same key is an error.
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxEvent(Base):
    """An event the sandbox emitted (``evt_...``) and its delivery to our webhook endpoint."""

    __tablename__ = "sandbox_events"
    __table_args__ = (Index("ix_sandbox_events_undelivered", "delivered_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    last_delivery_error: Mapped[str | None] = mapped_column(Text)
