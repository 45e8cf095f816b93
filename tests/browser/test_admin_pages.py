"""Admin pages in a real browser: orders (filter, refund), disputes, audit log, totals chart."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.services import checkout
from tests.support.browser import LAPTOP, PHONE, screenshot
from tests.support.journeys import accept_confirmations, create_account, listing_with_photo, log_in
from tests.support.live_server import LiveServer
from tests.support.payments import sandbox_pages, sandbox_seller

pytestmark = pytest.mark.browser


def paid_order(live_server: LiveServer, buyer_id: int, price_cents: int) -> int:
    """A sale made through the services and the sandbox (the buying pages have their tests)."""

    def make() -> int:
        from stubcollector.extensions import db
        from stubcollector.models import User

        seller = sandbox_seller()
        listing_id = listing_with_photo(seller.id, price_cents)
        buyer = db.session.get(User, buyer_id)
        assert buyer is not None
        started = checkout.create_payment_intent(buyer, listing_id)
        sandbox_pages().confirm_payment(
            started.payment_intent_id, started.client_secret, CARD_SUCCESS
        )
        return int(started.order_id)

    return live_server.run(make)


def test_admin_refunds_an_order_and_sees_the_audit_log_and_totals(
    page: Page, live_server: LiveServer
) -> None:
    buyer = create_account(live_server, "buyer")
    order_id = paid_order(live_server, buyer.id, 4200)
    paid_order(live_server, buyer.id, 12550)
    admin = create_account(live_server, "admin", admin=True)
    log_in(page, admin.username)

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Admin", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    expect(page.locator("#chart-sales-title")).to_have_text("Sales")
    expect(page.locator("figure.chart svg rect.chart__bar").first).to_be_attached()
    # Today's bar is the last one and is not empty.
    last_bar = page.locator("figure.chart").first.locator("rect.chart__bar").last
    assert float(last_bar.get_attribute("height") or 0) > 0
    screenshot(page, "admin-dashboard-laptop")
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-dashboard-phone")
    page.set_viewport_size(LAPTOP)

    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Orders").click()
    page.get_by_label("Status").select_option("payment_completed")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f'tr[data-order-id="{order_id}"]')
    expect(row).to_contain_text("$42.00")
    screenshot(page, "admin-orders-laptop")
    accept_confirmations(page)
    row.get_by_role("button", name="Refund").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Order {order_id} is refunded")
    expect(page.locator(f'tr[data-order-id="{order_id}"]')).to_have_count(0)
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-orders-phone")
    page.set_viewport_size(LAPTOP)

    page.goto("/admin/audit")
    page.get_by_label("Object type").select_option("order")
    page.get_by_label("Object id").fill(str(order_id))
    page.get_by_role("button", name="Filter").click()
    table = page.locator("table.audit-table")
    expect(table).to_contain_text("order.refund_requested")
    expect(table).to_contain_text("order.refunded")
    expect(table).to_contain_text(admin.username)
    screenshot(page, "admin-audit-laptop")
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-audit-phone")
    page.set_viewport_size(LAPTOP)

    page.goto("/admin/")
    expect(page.locator("#total-refunds")).not_to_have_text("$0.00")


def test_members_get_a_403_page_on_admin_pages(page: Page, live_server: LiveServer) -> None:
    member = create_account(live_server, "member")
    log_in(page, member.username)
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin", exact=True)
    ).to_have_count(0)
    response = page.goto("/admin/orders")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()
