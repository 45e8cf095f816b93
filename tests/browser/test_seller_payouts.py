"""A seller's payouts and leaving the platform, in a real browser on the sandbox backend
(issue 16 points 7 and 10): the seller sells, pays out from the sandbox's Stripe dashboard,
the payout arrives, then the bank returns it (flagged on the seller page); the seller then
disconnects Stub Collector and their listing says it cannot be bought, and why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.adapters.payments.sandbox.models import SandboxBalanceTransaction
from stubcollector.extensions import db
from stubcollector.services import checkout
from tests.support.browser import LAPTOP, PHONE, screenshot
from tests.support.factories import UserFactory
from tests.support.journeys import (
    create_account,
    listing_with_photo,
    log_in,
    log_out,
    onboard_seller,
    sign_up,
)
from tests.support.live_server import LiveServer
from tests.support.payments import sandbox_pages

pytestmark = pytest.mark.browser


def _fits_both_widths(page: Page, name: str) -> None:
    for size_name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {size_name}"
        screenshot(page, f"{name}-{size_name}")


def _sold_and_past_the_hold(live_server: LiveServer, seller_id: int) -> int:
    """A buyer pays one of the seller's listings; then the payout hold's days go by."""

    def make() -> int:
        listing_id = listing_with_photo(seller_id, 4000)
        buyer = UserFactory.create()
        started = checkout.create_payment_intent(buyer, listing_id)
        sandbox_pages().confirm_payment(
            started.payment_intent_id, str(started.client_secret), CARD_SUCCESS
        )
        db.session.execute(
            SandboxBalanceTransaction.__table__.update().values(
                available_on=SandboxBalanceTransaction.created_at
            )
        )
        db.session.commit()
        return listing_with_photo(seller_id, 2500)

    return live_server.run(make)


def test_a_seller_pays_out_sees_the_bank_return_it_then_disconnects(
    page: Page, live_server: LiveServer
) -> None:
    seller = sign_up(page, "payee")
    onboard_seller(page)
    still_listed = _sold_and_past_the_hold(live_server, seller.id)

    # On the (sandbox) Stripe dashboard: pay the available balance out.
    page.goto("/seller/")
    page.get_by_role("button", name="Open Stripe dashboard").click()
    expect(page).to_have_url(re.compile(r"/sandbox/dashboard/"))
    dashboard = page.url
    page.get_by_role("button", name="Pay out the available balance").click()
    payout_row = page.locator("tr[data-payout-id]")
    expect(payout_row).to_contain_text("in_transit")
    page.get_by_role("button", name="Payout arrives").click()
    expect(payout_row).to_contain_text("paid")

    page.goto("/seller/")
    ours = page.locator("#seller-payouts-table tr[data-payout-id]")
    expect(ours).to_have_attribute("data-status", "paid")
    expect(ours).to_contain_text("$36.00")  # $40.00 less the 10 % fee
    expect(page.locator("#payout-failed")).to_have_count(0)

    # The bank sends it back after all.
    page.goto(dashboard)
    page.get_by_role("button", name="Bank returns it").click()
    expect(page.locator("tr[data-payout-id]")).to_contain_text("failed")
    page.goto("/seller/")
    expect(page.locator("#payout-failed")).to_contain_text("Your bank account is closed.")
    expect(ours).to_have_attribute("data-status", "failed")
    _fits_both_widths(page, "seller-payout-failed")

    # The seller disconnects the platform on their Stripe dashboard.
    page.goto(dashboard)
    page.get_by_role("button", name="Disconnect Stub Collector").click()
    expect(page.locator("#sandbox-disconnected")).to_be_visible()
    page.goto("/seller/")
    expect(page.get_by_role("heading", name="Your Stripe account is disconnected")).to_be_visible()
    expect(page.get_by_role("button", name="Connect a Stripe account")).to_be_visible()
    expect(page.locator("#payout-failed")).to_have_count(0)  # one call to act at a time
    _fits_both_widths(page, "seller-disconnected")

    # A buyer sees the listing, and why it cannot be bought.
    log_out(page)
    buyer = create_account(live_server, "buyer")
    log_in(page, buyer.username)
    page.goto(f"/marketplace/listings/{still_listed}")
    expect(page.locator(".buy-box__reason")).to_contain_text("the seller can no longer be paid")
    expect(page.get_by_role("button", name=re.compile("^Buy"))).to_have_count(0)
    _fits_both_widths(page, "listing-seller-disconnected")
