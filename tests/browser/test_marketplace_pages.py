"""Selling and buying in a real browser: a seller lists a real stub, a buyer finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import LAPTOP, screenshot_at_both_widths, unique_name
from tests.support.journeys import find_listing, list_stub, make_ready_to_sell, sign_up, upload_stub
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

STUB_PHOTO = Path(__file__).resolve().parents[2] / "bench" / "stubs" / "05-uk-concert.png"


def test_seller_lists_a_stub_and_a_buyer_finds_it(
    page: Page, browser: Browser, live_server: LiveServer, page_problems: list[str]
) -> None:
    seller = sign_up(page, "seller")
    stub_id = upload_stub(page, STUB_PHOTO)
    event = f"Farewell Night {unique_name('x')}"
    page.get_by_label("Event", exact=True).fill(event)
    page.get_by_label("Venue").fill("Brixton Academy")
    page.get_by_label("Date").fill("1996-05-04")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("status")).to_contain_text("Your corrections are saved")

    # Not set up for payouts yet: the page says what is missing, and listing is refused.
    expect(page.locator(".seller-readiness")).to_contain_text("Connect a Stripe account")
    page.get_by_label("Price in US dollars").fill("45")
    page.get_by_role("button", name="List for sale").click()
    expect(page.locator("#asking_price-error")).to_contain_text("cannot take card payments yet")

    make_ready_to_sell(page)
    page.goto(f"/collection/stubs/{stub_id}")
    expect(page.locator(".seller-readiness")).to_have_count(0)
    page.get_by_label("Price in US dollars").fill("45.5x")
    page.get_by_role("button", name="List for sale").click()
    expect(page.locator("#asking_price-error")).to_have_text(
        'Must be a decimal amount such as "12.50"'
    )
    listing_id = list_stub(page, "1234.50", "Clean, no creases.")
    expect(page.locator(".listing-summary__price")).to_have_text("$1,234.50")
    expect(page.get_by_text("This is your listing.")).to_be_visible()

    page.goto("/selling")
    row = page.locator(f'tr[data-listing-id="{listing_id}"]')
    expect(row).to_contain_text(event)
    expect(row).to_contain_text("$1,234.50")
    expect(row).to_contain_text("On sale")
    screenshot_at_both_widths(page, "selling")

    # The buyer, in a browser of their own.
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)  # type: ignore[arg-type]
    buyer_page = context.new_page()
    buyer_page.on("pageerror", lambda error: page_problems.append(f"buyer page error: {error}"))
    try:
        sign_up(buyer_page, "buyer")
        buyer_page.goto("/marketplace")
        expect(buyer_page.locator(".market-card").first).to_be_visible()
        find_listing(buyer_page, event.split()[-1])
        expect(buyer_page).to_have_url(f"{live_server.url}/marketplace/listings/{listing_id}")
        buyer_page.go_back()
        expect(buyer_page.locator(".market-card")).to_have_count(1)
        expect(buyer_page.locator(".market-card")).to_contain_text("$1,234.50")
        expect(buyer_page.locator(".market-card")).to_contain_text(seller.username)
        screenshot_at_both_widths(buyer_page, "marketplace")
        buyer_page.locator(".market-card a").click()

        expect(buyer_page.get_by_role("heading", name=event)).to_be_visible()
        expect(buyer_page.locator(".listing-summary__price")).to_have_text("$1,234.50")
        seller_card = buyer_page.locator(".seller-card")
        expect(seller_card).to_contain_text(seller.username)
        expect(seller_card).to_contain_text("Verified seller")
        expect(seller_card.locator(".stat").first).to_contain_text("1")
        expect(buyer_page.locator(".listing-photo__image")).to_be_visible()
        if "checkout.start" in live_server.app.view_functions:
            expect(buyer_page.get_by_role("button", name=re.compile("Buy now"))).to_be_visible()
        else:
            expect(buyer_page.get_by_text("Checkout opens soon")).to_be_visible()
        screenshot_at_both_widths(buyer_page, "listing")
    finally:
        context.close()

    # The seller's public profile and the start page show the listing too.
    page.goto(f"/users/{seller.id}")
    expect(page.locator(".listing-card")).to_contain_text(event)
    expect(page.locator(".listing-card")).to_contain_text("$1,234.50")
    screenshot_at_both_widths(page, "profile-with-listing")
    page.goto("/")
    expect(page.locator(".listing-card").first).to_be_visible()
    expect(page.locator(".listing-card").filter(has_text=event)).to_contain_text("$1,234.50")
    screenshot_at_both_widths(page, "home-with-listing")
