"""Stripe's test cards (docs.stripe.com/testing) and what the sandbox does with each.

Both faces of the sandbox read them: the hosted checkout page (``hosted.py``) charges or
declines a card, and the port's refunds (``gateway.py``) behave as Stripe's refund test
cards do.
"""

from __future__ import annotations

CARD_SUCCESS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_DISPUTE = "4000000000000259"
# Refund behaviour is Stripe's for these two cards, except that 7726's refunds wait for a
# decision on the sandbox dashboard (or ``settle_refund``) instead of a timer.
CARD_REFUND_PENDING = "4000000000007726"
CARD_REFUND_FAILS = "4000000000005126"
TEST_CARDS = {
    CARD_SUCCESS: "Succeeds",
    CARD_DECLINED: "Declined (generic_decline)",
    CARD_INSUFFICIENT_FUNDS: "Declined (insufficient_funds)",
    CARD_DISPUTE: "Succeeds, then the buyer's bank opens a fraud dispute",
    CARD_REFUND_PENDING: "Succeeds; its refunds stay pending until you make them succeed or "
    "fail on the sandbox dashboard",
    CARD_REFUND_FAILS: "Succeeds; its refunds succeed, then fail (expired_or_canceled_card)",
}
# The declining cards: card number → (decline_code, message).
DECLINES = {
    CARD_DECLINED: ("generic_decline", "Your card was declined."),
    CARD_INSUFFICIENT_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
}
