"""Issue 16 in a real browser, at phone (390 px) and laptop (1366 px) widths: a seller
answers a dispute (the banner, the list, the evidence form, a file, save, submit once, the
sandbox dashboard deciding it), the listing forms' "you will receive", and the admin's
totals of what the platform earned and paid."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE
from stubcollector.services import checkout
from tests.support.browser import LAPTOP, PHONE, screenshot
from tests.support.journeys import (
    accept_confirmations,
    create_account,
    listing_with_photo,
    log_in,
    make_ready_to_sell,
)
from tests.support.live_server import LiveServer
from tests.support.payments import sandbox_pages

pytestmark = pytest.mark.browser

SIZES = [("phone", PHONE), ("laptop", LAPTOP)]
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _fits(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def _disputed_sale(live_server: LiveServer, seller_id: int) -> tuple[int, str]:
    """A buyer pays the seller's listing with the sandbox's dispute card: (order, dispute)."""

    def make() -> tuple[int, str]:
        from sqlalchemy import select

        from stubcollector.extensions import db
        from stubcollector.models import StubDispute
        from tests.support.factories import UserFactory

        listing_id = listing_with_photo(seller_id, 2500)
        started = checkout.create_payment_intent(UserFactory.create(), listing_id)
        sandbox_pages().confirm_payment(
            started.payment_intent_id, started.client_secret, CARD_DISPUTE
        )
        db.session.expire_all()
        dispute_id = db.session.scalars(
            select(StubDispute.dispute_id).where(StubDispute.order_id == started.order_id)
        ).one()
        return int(started.order_id), str(dispute_id)

    return live_server.run(make)


@pytest.mark.parametrize(("size_name", "size"), SIZES)
def test_a_seller_answers_a_dispute_and_the_sandbox_decides_it(
    page: Page, live_server: LiveServer, size_name: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    seller = create_account(live_server, "seller")
    log_in(page, seller.username)
    make_ready_to_sell(page)
    order_id, dispute_id = _disputed_sale(live_server, seller.id)

    # Told on every page, with the deadline, and led to the dispute.
    page.goto("/selling")
    banner = page.locator("#dispute-banner")
    expect(banner).to_contain_text("1 dispute needs your response")
    expect(banner).to_contain_text("the first deadline is")
    _fits(page)
    banner.get_by_role("link", name="Answer it").click()
    expect(page.get_by_role("heading", name="Disputes", exact=True)).to_be_visible()
    row = page.locator(f'tr[data-dispute-id="{dispute_id}"]')
    expect(row).to_contain_text("Needs response")
    expect(row).to_contain_text("$25.00")
    _fits(page)
    screenshot(page, f"disputes-list-{size_name}")
    row.get_by_role("link", name="Respond").click()

    expect(page.get_by_role("heading", name=f"Dispute on order #{order_id}")).to_be_visible()
    expect(page.locator("#dispute-deadline")).to_contain_text("Respond by")
    description = page.get_by_label("What was sold")
    expect(description).to_have_value(re.compile("ticket stub"))
    _fits(page)
    screenshot(page, f"dispute-evidence-form-{size_name}")

    # A file for one evidence field, uploaded to the provider.
    page.get_by_label("What the file shows").select_option("shipping_documentation")
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "tracking.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("status").first).to_contain_text("tracking.pdf was added")
    expect(page.locator("#evidence-files")).to_contain_text("Proof of shipping or delivery")

    page.get_by_label("Anything else").fill("Shipped by USPS; the buyer thanked me by message.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved")
    expect(page.get_by_label("Anything else")).to_have_value(re.compile("Shipped by USPS"))

    accept_confirmations(page)  # "Send this evidence to the buyer's bank? ..."
    page.get_by_role("button", name="Submit to the bank").click()
    expect(page.get_by_role("status").first).to_contain_text("sent to the buyer's bank")
    expect(page.locator("#dispute-status")).to_contain_text("Under review")
    expect(page.locator("#evidence-sent")).to_contain_text("Shipped by USPS")
    expect(page.get_by_role("button", name="Submit to the bank")).to_have_count(0)
    _fits(page)
    screenshot(page, f"dispute-submitted-{size_name}")

    page.goto("/selling")
    expect(page.locator("#dispute-banner")).to_have_count(0)

    # The bank decides: on the sandbox's dashboard (Stripe's Express dashboard look-alike).
    page.goto("/seller/")
    page.get_by_role("button", name="Open Stripe dashboard").click()
    expect(page.get_by_role("heading", name="Payment sandbox: seller dashboard")).to_be_visible()
    dispute_cell = page.locator("td", has=page.locator("[data-dispute-status]"))
    expect(dispute_cell).to_contain_text("evidence submitted")
    # The dashboard in the app's styles, with its payouts and the dispute's evidence state.
    expect(page.get_by_role("heading", name="Payouts")).to_be_visible()
    _fits(page)
    # The table clips what overflows a cell: the buttons must be inside the page.
    for name in ("Win", "Lose"):
        box = dispute_cell.get_by_role("button", name=name).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= size["width"], (name, box, size_name)
    screenshot(page, f"sandbox-dashboard-dispute-{size_name}")
    dispute_cell.get_by_role("button", name="Win").click()
    expect(page.locator("[data-dispute-status]")).to_have_text("won")

    page.goto(f"/disputes/{dispute_id}")
    expect(page.locator("#dispute-status")).to_contain_text("Won")
    expect(page.locator("#dispute-closed")).to_contain_text("closed")


@pytest.mark.parametrize(("size_name", "size"), SIZES)
def test_the_listing_forms_say_what_the_seller_will_receive(
    page: Page, live_server: LiveServer, size_name: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    seller = create_account(live_server, "lister")
    log_in(page, seller.username)
    make_ready_to_sell(page)
    listing_id = live_server.run(lambda: listing_with_photo(seller.id, 2500))

    page.goto(f"/selling/listings/{listing_id}")
    preview = page.locator(".fee-preview__result")
    # The server's figure for the current price, then the page's as the seller types.
    expect(preview).to_have_text("You will receive $22.50 (our fee $2.50).")
    price = page.get_by_label("Price in US dollars")
    for typed, shown in (
        ("1", "You will receive $0.50 (our fee $0.50)."),
        ("5.55", "You will receive $4.99 (our fee $0.56)."),
        ("50", "You will receive $45.00 (our fee $5.00)."),
        ("1234.5", "You will receive $1,111.05 (our fee $123.45)."),
        ("0.99", "The lowest price is $1.00."),
        ("abc", "Enter a price to see what you will receive."),
    ):
        price.fill(typed)
        expect(preview).to_have_text(shown)
    expect(page.locator(".fee-preview__terms")).to_contain_text(
        "Our fee is 10% of the price, at least $0.50; the lowest price is $1.00."
    )
    _fits(page)
    screenshot(page, f"listing-fee-preview-{size_name}")

    # A refused price comes back with the form; the figure follows what was typed.
    price.fill("0.75")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#asking_price-error")).to_have_text("Must be at least $1.00")


def test_the_admin_sees_what_the_platform_earned_and_paid(
    page: Page, live_server: LiveServer
) -> None:
    seller = create_account(live_server, "costly")
    log_in(page, seller.username)
    make_ready_to_sell(page)
    _disputed_sale(live_server, seller.id)
    admin = create_account(live_server, "boss", admin=True)
    page.context.clear_cookies()
    log_in(page, admin.username)
    for size_name, size in SIZES:
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.goto("/admin/")
        economics = page.locator("section.economics")
        expect(economics).to_contain_text("Stripe processing fees paid by the platform")
        expect(page.locator("#total-dispute-fees")).not_to_have_text("$0.00")
        expect(page.locator("#total-stripe-fees")).not_to_have_text("$0.00")
        expect(page.locator("#total-net-revenue")).to_be_visible()
        expect(page.locator("#chart-costs-title")).to_have_text("Stripe costs")
        _fits(page)
        screenshot(page, f"admin-economics-{size_name}")
