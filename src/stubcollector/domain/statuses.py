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
# Orders that had given their listing up (refunded, or cancelled and their late payment
# refunded) before a dispute came: disputed, they still do not hold the listing, which may
# have been sold to someone else meanwhile (``uq_stub_orders_holding_listing``).
LISTING_RELEASED_ORDER_STATUSES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)

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
    # A payment that succeeds after its reservation was lost is refunded automatically; its
    # charge can still be disputed by the buyer's bank.
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED, OrderStatus.DISPUTED}),
    OrderStatus.REFUNDED: frozenset({OrderStatus.DISPUTED}),
    # A won dispute returns the order to where it was; see Order.status_before_dispute.
    OrderStatus.DISPUTED: frozenset(
        {
            OrderStatus.PAYMENT_COMPLETED,
            OrderStatus.COMPLETED,
            OrderStatus.REFUNDED,
            OrderStatus.CANCELLED,
        }
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


class RefundStatus(StrEnum):
    """Where one refund stands: ours before the provider answers, then the provider's.

    The provider's values are Stripe's ``Refund.status``: a refund may be ``pending`` (e.g.
    the seller's available balance does not cover it yet), ``requires_action`` (the buyer
    must act, for payment methods that need it), then ``succeeded``, ``failed`` (with a
    ``failure_reason``; the money goes back to the seller's balance, even after a refund
    first read ``succeeded``) or ``canceled`` (a ``requires_action`` refund that lapsed).
    """

    REQUESTED = "requested"
    """We asked (or are about to ask) the provider; no answer recorded yet."""
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @classmethod
    def from_provider(cls, value: str | None) -> RefundStatus:
        """The provider's status in our terms; anything unknown is not a success yet."""
        try:
            status = cls(value or "")
        except ValueError:
            return cls.PENDING
        return cls.PENDING if status is cls.REQUESTED else status

    @property
    def is_open(self) -> bool:
        """Not settled yet: the money has not reached the buyer nor come back."""
        return self in OPEN_REFUND_STATUSES

    @property
    def is_unsuccessful(self) -> bool:
        return self in (RefundStatus.FAILED, RefundStatus.CANCELED)


OPEN_REFUND_STATUSES = frozenset(
    {RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION}
)
# Events about one refund arrive in any order, and a refund only moves forward:
# requires_action → pending → succeeded → failed (a card refund can fail after it read
# succeeded). A fact of a lower rank than what we know is an old one and is ignored; failed
# and canceled are both final, so the first one seen stays.
REFUND_STATUS_RANK: dict[RefundStatus, int] = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.REQUIRES_ACTION: 1,
    RefundStatus.PENDING: 2,
    RefundStatus.SUCCEEDED: 3,
    RefundStatus.FAILED: 4,
    RefundStatus.CANCELED: 4,
}


def refund_status_advances(current: RefundStatus, reported: RefundStatus) -> bool:
    """Whether a reported refund status is newer than the one we hold."""
    return REFUND_STATUS_RANK[reported] > REFUND_STATUS_RANK[current]


def order_refund_state(payment_status: str | None, latest_refund: str | None) -> str | None:
    """What an order's refunds mean for it: ``pending`` while a refund is on its way (the
    payment is claimed for it), ``failed`` when the last refund failed or was canceled and
    the money is still the seller's (an admin may retry), else None."""
    if payment_status is None or latest_refund is None:
        return None
    if payment_status == PaymentStatus.REFUND_PENDING:
        return "pending"
    if payment_status == PaymentStatus.SUCCEEDED and RefundStatus(latest_refund).is_unsuccessful:
        return "failed"
    return None


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


class PayoutScheduleStatus(StrEnum):
    """Our step of giving a new seller's account the payout hold (``delay_days``).

    Creating the account and setting its schedule are separate calls: the account id is
    stored as soon as it exists, and the schedule is retried until the provider answers.
    """

    PENDING = "pending"
    """Not set yet (no answer from the provider so far); retried by the account sweep."""
    SET = "set"
    """The provider accepted the hold."""
    SKIPPED = "skipped"
    """The provider refused it (e.g. it keeps the losses of this account and with them the
    payout schedule); the account keeps the provider's own schedule, and the reason is
    stored for the seller to see."""


class PayoutStatus(StrEnum):
    """A seller's payout to their bank, with Stripe's own ``Payout.status`` values."""

    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    """Returned by the bank (possibly after reading ``paid``): the money is back in the
    seller's balance and the bank details need fixing."""
    CANCELED = "canceled"

    @classmethod
    def from_provider(cls, value: str | None) -> PayoutStatus:
        try:
            return cls(value or "")
        except ValueError:
            return cls.PENDING


# A payout only moves forward, and Stripe says one that failed "might initially show as
# paid": a report of a lower rank than the one we hold is an old one and changes nothing.
PAYOUT_STATUS_RANK: dict[PayoutStatus, int] = {
    PayoutStatus.PENDING: 0,
    PayoutStatus.IN_TRANSIT: 1,
    PayoutStatus.PAID: 2,
    PayoutStatus.FAILED: 3,
    PayoutStatus.CANCELED: 3,
}


def payout_status_advances(current: PayoutStatus, reported: PayoutStatus) -> bool:
    """Whether a reported payout status is newer than the one we hold."""
    return PAYOUT_STATUS_RANK[reported] > PAYOUT_STATUS_RANK[current]


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
