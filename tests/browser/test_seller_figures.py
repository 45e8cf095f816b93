"""What a seller is shown about their money, in a real browser (issue 22, item 2).

One seller, three checkouts of their stubs: a declined card on a $45.00 stub, then a paid
sale of it, and a paid $30.00 sale the buyer has refunded. The seller must see the sale
and what it brings ($40.50, with its payout date), the refunded one as refunded (nothing
to receive, no payout date, no "Seller receives"), the declined attempt apart from the
sales, and no "Stripe processing fee" row: under the default STRIPE_ACCOUNT_LIABILITY the
platform pays it. The Orders page opens on Sales for a seller who never bought.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.payments.ports import CardDeclined
from stubcollector.adapters.payments.sandbox.cards import CARD_DECLINED, CARD_SUCCESS
from tests.support.browser import screenshot_at_both_widths
from tests.support.journeys import (
    Account,
    accept_confirmations,
    create_account,
    listing_with_photo,
    log_in,
    log_out,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser
MINUS = "\u2212"  # the pages' minus sign before an amount taken off


def _onboard(user_id: int) -> None:
    from stubcollector.extensions import db
    from stubcollector.models import User
    from stubcollector.services import onboarding
    from tests.support.payments import sandbox_pages, token_of

    user = db.session.get(User, user_id)
    assert user is not None
    started = onboarding.start_onboarding(
        user, return_url="http://test/return", refresh_url="http://test/refresh"
    )
    sandbox_pages().complete_onboarding(token_of(started.url), "complete")


def _checkout(buyer_id: int, listing_id: int, card: str) -> int:
    from stubcollector.extensions import db
    from stubcollector.models import User
    from stubcollector.services import checkout
    from tests.support.payments import sandbox_pages

    buyer = db.session.get(User, buyer_id)
    assert buyer is not None
    started = checkout.create_payment_intent(buyer, listing_id)
    with contextlib.suppress(CardDeclined):  # a declined card is one of the checkouts
        sandbox_pages().confirm_payment(started.payment_intent_id, started.client_secret, card)
    return int(started.order_id)


def _three_checkouts(live_server: LiveServer) -> tuple[Account, Account, dict[str, int]]:
    seller = create_account(live_server, "seller")
    declined_buyer = create_account(live_server, "declined")
    paying_buyer = create_account(live_server, "payer")
    refunding_buyer = create_account(live_server, "refunder")

    def make() -> dict[str, int]:
        _onboard(seller.id)
        expensive = listing_with_photo(seller.id, 4500)
        cheap = listing_with_photo(seller.id, 3000)
        return {
            "declined": _checkout(declined_buyer.id, expensive, CARD_DECLINED),
            "sale": _checkout(paying_buyer.id, expensive, CARD_SUCCESS),
            "refunded": _checkout(refunding_buyer.id, cheap, CARD_SUCCESS),
        }

    return seller, refunding_buyer, live_server.run(make)


def test_a_seller_sees_what_each_order_brought_them(page: Page, live_server: LiveServer) -> None:
    seller, refunding_buyer, orders = _three_checkouts(live_server)

    # The buyer refunds from their order page, which speaks to them about their card.
    log_in(page, refunding_buyer.username)
    page.goto(f"/orders/{orders['refunded']}")
    accept_confirmations(page)
    page.get_by_role("button", name="Ask for a refund").click()
    expect(page.get_by_role("status").filter(has_text="Refunded.")).to_contain_text(
        "$30.00 went back to your card."
    )
    expect(page.locator("main")).not_to_contain_text("the buyer's card")
    screenshot_at_both_widths(page, "seller-figures-buyer-refunded-order")
    log_out(page)

    log_in(page, seller.username)
    page.goto("/orders/")
    # Never bought anything: the page opens on the sales.
    expect(page.locator(".tabs .is-active")).to_have_text("Sales (2)")
    sales = page.locator("table.orders-table")
    sale = sales.locator(f'tr[data-order-id="{orders["sale"]}"]')
    expect(sale.locator('td[data-label="You receive"]')).to_have_text("$40.50")
    expect(sale.locator('td[data-label="Payout"]')).to_have_text(re.compile(r"\w{3} \d+, \d{4}"))
    refunded = sales.locator(f'tr[data-order-id="{orders["refunded"]}"]')
    expect(refunded.locator('td[data-label="You receive"]')).to_have_text(
        re.compile(r"^\$0\.00\s*\$30\.00 refunded$")
    )
    expect(refunded.locator('td[data-label="Payout"]')).to_have_text("None: refunded")
    # The declined attempt is no sale.
    expect(sales.locator(f'tr[data-order-id="{orders["declined"]}"]')).to_have_count(0)
    screenshot_at_both_widths(page, "seller-figures-orders-sales")

    page.get_by_role("link", name="Unpaid checkouts (1)").click()
    attempts = page.locator("table.orders-table")
    declined = attempts.locator(f'tr[data-order-id="{orders["declined"]}"]')
    expect(declined).to_contain_text("Payment failed")
    expect(declined.locator('td[data-label="Price"]')).to_have_text("$45.00")
    expect(attempts).not_to_contain_text("You receive")
    expect(page.locator("main")).to_contain_text("Nothing from these reached your balance")
    screenshot_at_both_widths(page, "seller-figures-orders-unpaid")

    page.goto(f"/orders/{orders['refunded']}")
    amounts = page.locator("section[aria-labelledby=amounts-heading]")
    expect(amounts.locator("#order-refunded")).to_contain_text(f"{MINUS} $30.00")
    expect(amounts).not_to_contain_text("Seller receives")
    expect(amounts).not_to_contain_text("You receive")
    expect(page.locator("main")).not_to_contain_text("Expected payout")
    expect(page.locator("main")).not_to_contain_text("Stripe processing fee")
    expect(page.locator("#order-refunded-note")).to_contain_text(
        "went back to the buyer's card. No payout comes from this order."
    )
    screenshot_at_both_widths(page, "seller-figures-refunded-order")

    page.goto(f"/orders/{orders['sale']}")
    expect(page.locator("#order-seller-amount")).to_contain_text("You receive$40.50")
    expect(page.locator("#order-payout")).to_be_visible()
    # The platform pays Stripe's fee under the default settings: not the seller's row.
    expect(page.locator("main")).not_to_contain_text("Stripe processing fee")

    page.goto(f"/orders/{orders['declined']}")
    expect(page.locator("#order-seller-amount")).to_contain_text("Nothing: not paid")
    expect(page.locator("main")).not_to_contain_text("$40.50")

    page.goto("/seller/")
    recent = page.locator("table.seller-sales__table")
    expect(recent.locator("tbody tr")).to_have_count(2)
    expect(
        recent.locator(f'tr[data-order-id="{orders["refunded"]}"] td[data-label="Payout date"]')
    ).to_have_text("None: refunded")
    expect(
        recent.locator(f'tr[data-order-id="{orders["sale"]}"] td[data-label="You receive"]')
    ).to_have_text("$40.50")
    expect(page.locator(".seller-sales__unpaid")).to_contain_text("1 unpaid checkout")
    # The balance agrees with the sales: $40.50 waiting, nothing from the refunded one.
    expect(page.locator("#balance-pending")).to_have_text("$40.50")
    screenshot_at_both_widths(page, "seller-figures-seller-account")
