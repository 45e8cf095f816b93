"""Statuses and the transitions allowed between them.

The database enforces the set of values (CHECK constraints built from these enums); the
services enforce the transitions with :func:`ensure_transition`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from stubcollector.domain.errors import InvalidTransition


class ListingStatus(StrEnum):
    ACTIVE = "active"
    """On sale; any buyer may reserve it."""
    PAYMENT_PENDING = "payment_pending"
    """Reserved for one buyer until ``reserved_until`` while they pay."""
    SOLD = "sold"
    CANCELLED = "cancelled"
    """Withdrawn by the seller (or an admin); kept for history."""


LIVE_LISTING_STATUSES = (ListingStatus.ACTIVE, ListingStatus.PAYMENT_PENDING, ListingStatus.SOLD)

LISTING_TRANSITIONS: dict[ListingStatus, frozenset[ListingStatus]] = {
    ListingStatus.ACTIVE: frozenset({ListingStatus.PAYMENT_PENDING, ListingStatus.CANCELLED}),
    ListingStatus.PAYMENT_PENDING: frozenset(
        {ListingStatus.ACTIVE, ListingStatus.SOLD, ListingStatus.CANCELLED}
    ),
    # A refunded sale puts the stub back on sale.
    ListingStatus.SOLD: frozenset({ListingStatus.ACTIVE, ListingStatus.CANCELLED}),
    ListingStatus.CANCELLED: frozenset(),
}


class OrderStatus(StrEnum):
    PENDING = "pending"
    """Created, PaymentIntent made, buyer has not paid yet."""
    PAYMENT_PROCESSING = "payment_processing"
    """The provider is processing the payment (async methods, 3DS)."""
    PAYMENT_COMPLETED = "payment_completed"
    """Paid; the stub is on its way to the buyer."""
    PAYMENT_FAILED = "payment_failed"
    """The card was declined; the listing is released."""
    COMPLETED = "completed"
    """The buyer confirmed receipt."""
    CANCELLED = "cancelled"
    """Abandoned or expired before payment."""
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    """The buyer's bank opened a dispute; funds may be withdrawn from the seller."""


OPEN_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING)
PAID_ORDER_STATUSES = (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED, OrderStatus.DISPUTED)

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {
            OrderStatus.PAYMENT_PROCESSING,
            OrderStatus.PAYMENT_COMPLETED,
            OrderStatus.PAYMENT_FAILED,
            OrderStatus.CANCELLED,
            # Out-of-order delivery: a dispute or refund event may arrive before success.
            OrderStatus.DISPUTED,
            OrderStatus.REFUNDED,
        }
    ),
    OrderStatus.PAYMENT_PROCESSING: frozenset(
        {
            OrderStatus.PAYMENT_COMPLETED,
            OrderStatus.PAYMENT_FAILED,
            OrderStatus.CANCELLED,
            OrderStatus.DISPUTED,
            OrderStatus.REFUNDED,
        }
    ),
    OrderStatus.PAYMENT_FAILED: frozenset(
        # A retried card on the same PaymentIntent may still succeed.
        {OrderStatus.PAYMENT_PROCESSING, OrderStatus.PAYMENT_COMPLETED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAYMENT_COMPLETED: frozenset(
        {OrderStatus.COMPLETED, OrderStatus.REFUNDED, OrderStatus.DISPUTED}
    ),
    OrderStatus.COMPLETED: frozenset({OrderStatus.REFUNDED, OrderStatus.DISPUTED}),
    # A payment that succeeds after its reservation was lost is refunded automatically.
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset({OrderStatus.DISPUTED}),
    # A won dispute returns the order to where it was; see Order.status_before_dispute.
    OrderStatus.DISPUTED: frozenset(
        {OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED, OrderStatus.REFUNDED}
    ),
}


class PaymentStatus(StrEnum):
    """Mirrors the PaymentIntent's life, plus our refund and dispute outcomes."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class LiabilityStatus(StrEnum):
    """Who carries chargeback losses for this payment (direct charges: the seller first)."""

    PENDING = "pending"
    SELLER = "seller"
    PLATFORM = "platform"


class StripeAccountStatus(StrEnum):
    PENDING = "pending"
    """Account created, onboarding not finished."""
    ACTIVE = "active"
    """Charges and payouts enabled."""
    RESTRICTED = "restricted"
    """Stripe needs more information before charges or payouts are enabled."""
    DISABLED = "disabled"
    """Stripe has disabled the account (``requirements.disabled_reason``)."""


class ReadingStatus(StrEnum):
    """Where the automatic reading of a stub photo stands."""

    PENDING = "pending"
    READING = "reading"
    DONE = "done"
    FAILED = "failed"


class EventStatus(StrEnum):
    """Processing state of a stored provider (webhook) event."""

    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


S = TypeVar("S", bound=StrEnum)


def ensure_transition(current: S, target: S, allowed: dict[S, frozenset[S]], what: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is allowed."""
    if target not in allowed.get(current, frozenset()):
        raise InvalidTransition(f"{what} cannot go from {current.value} to {target.value}")
