"""What an order means for its seller's money, as it stands (pure; the pages and the API
show these figures to the seller instead of the price split made at checkout).

A direct charge puts the price into the seller's Stripe balance, and Stripe takes the
platform's application fee out of it at once. Stripe's own processing fee comes out of the
seller's balance only where the seller's account pays it (``fees.payer = account``:
``STRIPE_ACCOUNT_LIABILITY=stripe``); under the default (``application``) the platform
pays it and the seller never sees it (docs/STRIPE.md). A refund takes the refunded amount
back out of the seller's balance as soon as it is made (a pending refund included; a
failed one gives it back) and, with ``refund_application_fee``, returns the matching part
of the application fee; Stripe keeps its processing fee. A dispute withdraws the disputed
amount until the dispute is won. Its fees (for receiving it, and for countering it, which a
win gives back) follow who carries the account's losses, not who pays Stripe's processing
fee: they come out of the seller's balance only where the seller's account carries them
(``losses.payments = stripe``: ``STRIPE_ACCOUNT_LIABILITY=stripe``); under the default the
platform pays them. They count as Stripe's balance transactions recorded them
(``stub_order_costs`` rows paid by the seller, ``services.orders.costs``).

Nothing is due to the seller from an order that was never paid (still open, declined,
abandoned), and no payout is to come from one that was refunded, is being refunded or is
disputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from stubcollector.domain.statuses import OrderStatus

# The buyer paid: the order is a sale (even if it was refunded or disputed since).
SALE_STATUSES = (
    OrderStatus.PAYMENT_COMPLETED,
    OrderStatus.COMPLETED,
    OrderStatus.DISPUTED,
    OrderStatus.REFUNDED,
)
# Checkouts that did not (or not yet) become a sale: nothing is in the seller's balance.
UNPAID_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.PAYMENT_PROCESSING,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.CANCELLED,
)
# A payout follows only from these, and only while no refund is under way.
PAYOUT_STATUSES = (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class OrderMoney:
    """The amounts of one order that decide what its seller gets, in cents."""

    status: OrderStatus
    paid: bool
    """The charge succeeded (``payment_confirmed_at`` is set), whatever happened since."""
    total_cents: int
    platform_fee_cents: int
    stripe_fee_cents: int | None
    """Stripe's processing fee as its balance transaction reported it (None until then)."""
    seller_pays_stripe_fee: bool
    refunded_cents: int
    """Refunds out of the seller's balance: succeeded, and still on their way."""
    dispute_withdrawn_cents: int = 0
    """Withdrawn by disputes and not reinstated."""
    dispute_fees_cents: int = 0
    """Dispute fees taken from the seller's own balance (less any given back on a win); 0
    where the platform carries the account's losses."""


def fee_returned_cents(platform_fee_cents: int, total_cents: int, refunded_cents: int) -> int:
    """The part of the application fee a refund returns (``refund_application_fee``): all of
    it for a full refund, else in proportion to the amount refunded, half-up to the cent
    (Stripe does not document its rounding; at most a cent apart)."""
    if total_cents <= 0 or refunded_cents <= 0:
        return 0
    if refunded_cents >= total_cents:
        return platform_fee_cents
    return (platform_fee_cents * refunded_cents * 2 + total_cents) // (2 * total_cents)


def seller_receives_cents(money: OrderMoney) -> int | None:
    """What the seller gets from the order as things stand (negative: it cost them, e.g.
    Stripe's kept fee after a refund); None while nothing is paid."""
    if not money.paid:
        return None
    refunded = min(money.refunded_cents, money.total_cents)
    kept_fee = money.platform_fee_cents - fee_returned_cents(
        money.platform_fee_cents, money.total_cents, refunded
    )
    stripe_fee = (money.stripe_fee_cents or 0) if money.seller_pays_stripe_fee else 0
    return (
        money.total_cents
        - refunded
        - kept_fee
        - stripe_fee
        - money.dispute_withdrawn_cents
        - money.dispute_fees_cents
    )


def payout_expected(money: OrderMoney) -> bool:
    """Whether a payout is still to come from this order: paid, neither refunded in full
    (or on the way to it) nor disputed, and something left for the seller."""
    receives = seller_receives_cents(money)
    return money.status in PAYOUT_STATUSES and receives is not None and receives > 0
