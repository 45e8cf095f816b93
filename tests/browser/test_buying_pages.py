"""Buying, orders and the seller account in a real browser, on the sandbox payment backend."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
)
from stubcollector.extensions import db
from stubcollector.models import User
from stubcollector.services import checkout
from stubcollector.services.orders import views
from tests.support.browser import LAPTOP, PHONE, screenshot, unique_name
from tests.support.journeys import (
    PASSWORD,
    STOCK_PHOTO,
    accept_confirmations,
    confirm_receipt,
    create_account,
    find_listing,
    list_stub,
    listing_with_photo,
    log_in,
    log_out,
    onboard_seller,
    pay_on_checkout_page,
    sign_up,
    upload_stub,
)
from tests.support.live_server import LiveServer
from tests.support.payments import sandbox_pages, sandbox_seller

pytestmark = pytest.mark.browser


def both_widths(page: Page, name: str) -> None:
    screenshot(page, f"{name}-laptop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(LAPTOP)


def listed_stub(live_server: LiveServer, price_cents: int) -> tuple[str, int]:
    """An onboarded seller's listing, made through the services; (seller username, id)."""

    def make() -> tuple[str, int]:
        seller = sandbox_seller()
        return seller.username, listing_with_photo(seller.id, price_cents)

    return live_server.run(make)


def reserve(live_server: LiveServer, buyer_id: int, listing_id: int) -> int:
    """What the listing page's Buy button does (``checkout.start``), for tests about payment."""

    def make() -> int:
        buyer = db.session.get(User, buyer_id)
        assert buyer is not None
        return int(checkout.create_payment_intent(buyer, listing_id).order_id)

    return live_server.run(make)


def test_seller_onboards_from_the_seller_account_page(page: Page, live_server: LiveServer) -> None:
    sign_up(page, "seller")
    # Account → Seller account.
    page.locator(".account-link").click()
    page.get_by_role("link", name="Seller account").click()
    expect(page.get_by_role("heading", name="Start selling in a few minutes")).to_be_visible()
    both_widths(page, "seller-account-new")

    onboard_seller(page, complete=False)
    requirements = page.locator("#seller-requirements")
    expect(requirements).to_contain_text("A bank account for payouts")
    expect(requirements).to_contain_text("A photo of your ID document")
    expect(page.locator("#seller-charges")).to_contain_text("Not yet")
    expect(page.locator("#seller-status")).to_have_text("Action needed")
    both_widths(page, "seller-account-requirements")

    onboard_seller(page)
    expect(page.locator("#seller-charges")).to_contain_text("Enabled")
    expect(page.locator("#seller-status")).to_have_text("Active")
    expect(page.locator("#seller-payouts")).to_contain_text("Enabled")
    expect(page.locator("#seller-requirements")).to_have_count(0)
    expect(page.locator("#balance-available")).to_have_text("$0.00")

    page.get_by_role("button", name="Open Stripe dashboard").click()
    expect(page).to_have_url(re.compile(r"/sandbox/dashboard/"))


def test_buyer_pays_sees_the_order_paid_and_confirms_receipt(
    page: Page, live_server: LiveServer
) -> None:
    seller_name, listing_id = listed_stub(live_server, 123450)
    buyer = create_account(live_server, "buyer")
    order_id = reserve(live_server, buyer.id, listing_id)
    log_in(page, buyer.username)

    page.goto(f"/checkout/{order_id}")
    expect(page.locator("#checkout-total")).to_contain_text("$1,234.50")
    expect(page.locator("[data-countdown-text]")).to_have_text(re.compile(r"^\d+:\d\d min left$"))
    expect(page.get_by_text("Stub Collector fee")).to_have_count(0)
    both_widths(page, "checkout")

    pay_on_checkout_page(page, "4242 4242 4242 4242")
    expect(page).to_have_url(f"{live_server.url}/orders/{order_id}")
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "payment_completed"
    )
    expect(page.get_by_role("status").filter(has_text="Paid — thank you!")).to_be_visible()
    both_widths(page, "order-buyer-paid")

    confirm_receipt(page)
    expect(page.get_by_role("status").first).to_contain_text("the order is complete")

    page.goto("/orders/")
    expect(page.locator("table.orders-table")).to_contain_text(f"#{order_id}")
    both_widths(page, "orders-purchases")
    log_out(page)

    log_in(page, seller_name, "correct-horse-battery")
    page.goto(f"/orders/{order_id}")
    expect(page.locator("#order-fee")).to_contain_text("$123.45")
    expect(page.locator("#order-seller-amount")).to_contain_text("$1,111.05")
    expect(page.locator("#order-payout")).to_be_visible()
    both_widths(page, "order-seller")
    page.goto("/seller/")
    expect(page.locator("#balance-pending")).to_have_text("$1,111.05")
    expect(page.locator(".seller-sales")).to_contain_text(f"#{order_id}")
    both_widths(page, "seller-account-with-sale")


def test_declined_card_is_explained_and_the_stub_can_be_bought_again(
    page: Page, live_server: LiveServer
) -> None:
    _, listing_id = listed_stub(live_server, 2500)
    buyer = create_account(live_server, "buyer")
    order_id = reserve(live_server, buyer.id, listing_id)
    log_in(page, buyer.username)
    page.goto(f"/checkout/{order_id}")

    pay_on_checkout_page(page, CARD_DECLINED)
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    page.get_by_role("link", name="Back to your order on Stub Collector").click()
    expect(page.get_by_role("alert")).to_contain_text("The payment did not go through.")
    expect(page.get_by_role("alert")).to_contain_text("The stub is still on sale")
    both_widths(page, "order-buyer-declined")

    page.get_by_role("button", name="Try again with another card").click()
    expect(page).to_have_url(re.compile(r"/checkout/\d+$"))
    retry_id = int(page.url.rsplit("/", 1)[1])
    assert retry_id != order_id
    pay_on_checkout_page(page, CARD_SUCCESS)
    expect(page).to_have_url(f"{live_server.url}/orders/{retry_id}")
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "payment_completed"
    )


def test_buyer_asks_for_a_refund(page: Page, live_server: LiveServer) -> None:
    _, listing_id = listed_stub(live_server, 3000)
    buyer = create_account(live_server, "buyer")
    order_id = reserve(live_server, buyer.id, listing_id)
    log_in(page, buyer.username)
    page.goto(f"/checkout/{order_id}")
    pay_on_checkout_page(page, CARD_SUCCESS)
    accept_confirmations(page)
    page.get_by_role("button", name="Ask for a refund").click()
    expect(page.get_by_role("status").first).to_contain_text("refunded in full")
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "refunded"
    )


def test_a_refund_that_stays_pending_then_fails_is_retried_by_an_admin(
    page: Page, live_server: LiveServer
) -> None:
    _, listing_id = listed_stub(live_server, 3000)
    buyer = create_account(live_server, "buyer")
    order_id = reserve(live_server, buyer.id, listing_id)
    log_in(page, buyer.username)
    page.goto(f"/checkout/{order_id}")
    pay_on_checkout_page(page, CARD_REFUND_PENDING)  # its refunds stay pending
    accept_confirmations(page)
    page.get_by_role("button", name="Ask for a refund").click()

    expect(page.get_by_role("status").first).to_contain_text("The refund is on its way")
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "payment_completed"
    )
    expect(page.locator("[data-refund-state]")).to_have_text("Refund pending")
    both_widths(page, "order-refund-pending")

    def provider_fails_the_refund() -> None:
        buyer_user = db.session.get(User, buyer.id)
        assert buyer_user is not None
        refund = views.get_order(buyer_user, order_id).refund
        sandbox_pages().settle_refund(refund.refund_id, succeed=False)

    live_server.run(provider_fails_the_refund)
    # The page waits for the refund's outcome as for a payment's, and reloads with it.
    expect(page.locator("[data-refund-state]")).to_have_attribute(
        "data-refund-state", "failed", timeout=15000
    )
    expect(page.locator("#order-refund-state")).to_contain_text("The refund did not go through")
    expect(page.get_by_role("button", name="Ask for a refund")).to_have_count(0)
    both_widths(page, "order-refund-failed")

    log_out(page)
    admin = create_account(live_server, "admin", admin=True)
    log_in(page, admin.username)
    page.goto(f"/orders/{order_id}")
    expect(page.locator("#order-refunds")).to_contain_text("lost_or_stolen_card")
    page.get_by_role("button", name="Retry the refund").click()
    expect(page.get_by_role("status").first).to_contain_text("The refund is on its way")
    expect(page.locator("[data-refund-state]")).to_have_attribute("data-refund-state", "pending")
    expect(page.locator("#order-refunds li")).to_have_count(2)
    both_widths(page, "order-refund-retried-admin")


def test_the_order_page_updates_itself_when_the_payment_arrives(
    page: Page, live_server: LiveServer
) -> None:
    _, listing_id = listed_stub(live_server, 1500)
    buyer = create_account(live_server, "buyer")
    order_id = reserve(live_server, buyer.id, listing_id)
    log_in(page, buyer.username)
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_role("status").filter(has_text="Waiting for your payment")).to_be_visible()
    expect(page.locator("[data-countdown-text]")).to_have_text(re.compile(r"min left$"))

    def pay_elsewhere() -> None:
        # As if the buyer paid in another tab: the webhook marks the order paid.
        found = checkout.checkout_session(db.session.get(User, buyer.id), order_id)  # type: ignore[arg-type]
        sandbox_pages().confirm_payment(found.payment_intent_id, found.client_secret, CARD_SUCCESS)

    live_server.run(pay_elsewhere)
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "payment_completed", timeout=15000
    )
    expect(page.get_by_role("button", name="Confirm receipt")).to_be_visible()


def test_photo_to_completed_order_the_whole_journey(page: Page, live_server: LiveServer) -> None:
    """The issue's journey, through the pages only: a seller signs up, uploads a photo,
    corrects a field, onboards, lists; a buyer finds it, has a card declined (the stub stays
    buyable), pays, sees the order paid and confirms receipt; the seller sees the sale."""
    seller = sign_up(page, "seller")
    upload_stub(page, STOCK_PHOTO)
    stub_url = page.url
    event = f"Journey Night {unique_name('j')}"
    page.get_by_label("Event", exact=True).fill(event)
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("status").first).to_contain_text("Your corrections are saved")
    onboard_seller(page)
    page.goto(stub_url)
    listing_id = list_stub(page, "48.50")
    log_out(page)

    sign_up(page, "buyer")
    find_listing(page, event)
    expect(page).to_have_url(f"{live_server.url}/marketplace/listings/{listing_id}")
    page.get_by_role("button", name=re.compile(r"^Buy now")).click()
    expect(page).to_have_url(re.compile(r"/checkout/\d+$"))
    expect(page.locator("#checkout-total")).to_contain_text("$48.50")

    pay_on_checkout_page(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    page.get_by_role("link", name="Back to your order on Stub Collector").click()
    expect(page.get_by_role("alert")).to_contain_text("The payment did not go through.")
    # The stub stays buyable for anyone, this buyer included.
    page.goto(f"/marketplace/listings/{listing_id}")
    page.get_by_role("button", name=re.compile(r"^Buy now")).click()
    expect(page).to_have_url(re.compile(r"/checkout/\d+$"))
    order_id = int(page.url.rsplit("/", 1)[1])

    pay_on_checkout_page(page, "4242 4242 4242 4242")
    expect(page).to_have_url(f"{live_server.url}/orders/{order_id}")
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "payment_completed"
    )
    confirm_receipt(page)
    log_out(page)

    log_in(page, seller.username, PASSWORD)
    page.goto("/orders/?tab=sales")
    sale = page.locator("table.orders-table tr", has_text=f"#{order_id}")
    expect(sale).to_contain_text("$43.65")  # $48.50 less the 10 % fee
    expect(sale.locator("[data-status]")).to_have_attribute("data-status", "completed")
    page.get_by_role("link", name="Seller account & payouts").click()
    expect(page.locator("#balance-pending")).to_have_text("$43.65")
    expect(page.locator(".seller-sales")).to_contain_text(f"#{order_id}")
