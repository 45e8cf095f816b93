"""What an order means for its seller's money (domain/seller_money.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stubcollector.domain.seller_money import (
    OrderMoney,
    fee_returned_cents,
    payout_expected,
    seller_receives_cents,
)
from stubcollector.domain.statuses import OrderStatus

# $30.00 at 10 %: fee $3.00, Stripe's card fee on $30.00 is 2.9 % + 30 ¢ = $1.17.
PAID = OrderMoney(
    status=OrderStatus.PAYMENT_COMPLETED,
    paid=True,
    total_cents=3000,
    platform_fee_cents=300,
    stripe_fee_cents=117,
    seller_pays_stripe_fee=False,
    refunded_cents=0,
)


def test_a_paid_order_gives_the_price_minus_the_platform_fee() -> None:
    assert seller_receives_cents(PAID) == 2700
    assert payout_expected(PAID)


def test_stripe_fee_comes_off_only_where_the_seller_pays_it() -> None:
    seller_pays = replace(PAID, seller_pays_stripe_fee=True)
    assert seller_receives_cents(seller_pays) == 2700 - 117
    # Not reported yet: nothing to take off yet.
    assert seller_receives_cents(replace(seller_pays, stripe_fee_cents=None)) == 2700


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING, OrderStatus.PAYMENT_FAILED]
)
def test_nothing_is_due_from_an_unpaid_order(status: OrderStatus) -> None:
    unpaid = replace(PAID, status=status, paid=False, stripe_fee_cents=None)
    assert seller_receives_cents(unpaid) is None
    assert not payout_expected(unpaid)


def test_a_refunded_order_gives_nothing_and_no_payout() -> None:
    refunded = replace(PAID, status=OrderStatus.REFUNDED, refunded_cents=3000)
    assert seller_receives_cents(refunded) == 0
    assert not payout_expected(refunded)
    # Where the seller pays Stripe's fee, Stripe keeps it: the refund cost them $1.17.
    assert seller_receives_cents(replace(refunded, seller_pays_stripe_fee=True)) == -117


def test_a_refund_on_its_way_already_counts() -> None:
    pending = replace(PAID, refunded_cents=3000)
    assert seller_receives_cents(pending) == 0
    assert not payout_expected(pending)


def test_a_partial_refund_returns_its_share_of_the_fee() -> None:
    partial = replace(PAID, refunded_cents=1000)
    assert fee_returned_cents(300, 3000, 1000) == 100
    assert seller_receives_cents(partial) == 2000 - 200
    assert payout_expected(partial)
    # Half-up to the cent: 333 * 1/3 = 111; 5 * 1/2 = 2.5, so 3.
    assert fee_returned_cents(333, 3000, 1000) == 111
    assert fee_returned_cents(5, 50, 25) == 3
    assert fee_returned_cents(300, 3000, 5000) == 300


def test_a_dispute_withdraws_its_amount_and_holds_the_payout() -> None:
    disputed = replace(PAID, status=OrderStatus.DISPUTED, dispute_withdrawn_cents=3000)
    assert seller_receives_cents(disputed) == -300
    assert not payout_expected(disputed)
    won = replace(disputed, status=OrderStatus.PAYMENT_COMPLETED, dispute_withdrawn_cents=0)
    assert seller_receives_cents(won) == 2700


def test_dispute_fees_come_off_only_as_the_sellers_own() -> None:
    # Where the seller's account carries losses (STRIPE_ACCOUNT_LIABILITY=stripe), Stripe's
    # $15 dispute fee is on the seller's withdrawal; otherwise the platform pays it and the
    # order carries no seller dispute fee (services.orders.views sums the seller's rows).
    disputed = replace(PAID, status=OrderStatus.DISPUTED, dispute_withdrawn_cents=3000)
    assert seller_receives_cents(replace(disputed, dispute_fees_cents=1500)) == -300 - 1500
    # Countered and won: the amount and the countered fee come back, the received fee stays.
    won = replace(PAID, status=OrderStatus.PAYMENT_COMPLETED, dispute_fees_cents=1500)
    assert seller_receives_cents(won) == 2700 - 1500
    assert payout_expected(won)
