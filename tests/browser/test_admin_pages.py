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


# An entry with what makes details long: a provider id without spaces, a long sentence, an
# IPv6 address, a URL (webhook rejections and refund reports look like this).
LONG_DETAILS = {
    "refund_id": "re_" + "3QxYzAbCdEfGhIjKlMnOpQrStUvWxYz0123456789" * 2,
    "reason": "the provider refused the refund because the card was reported lost or "
    "stolen after the purchase, so an admin must retry it by hand",
    "endpoint": "https://stubs.example.com/api/payments/webhook/connect?attempt=3&ref=abc",
    "amount_cents": 123456,
}

# Every .kv of the details and every cell ends inside the table's box: nothing is cut off
# (the wrap clips with overflow: hidden) and nothing scrolls sideways.
OVERFLOWING = """() => {
  const wrap = document.querySelector('.audit-table').closest('.table-wrap');
  const box = wrap.getBoundingClientRect();
  const out = [];
  if (wrap.scrollWidth > wrap.clientWidth + 1) {
    out.push('the table scrolls: ' + wrap.scrollWidth + ' > ' + wrap.clientWidth);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    out.push('the page scrolls sideways');
  }
  for (const el of wrap.querySelectorAll('td, .kv')) {
    const r = el.getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1) {
      out.push(el.textContent.trim().slice(0, 40) + ': ' + r.right + ' past ' + box.right);
    }
  }
  return out;
}"""


def test_audit_details_stay_inside_the_table_at_both_widths(
    page: Page, live_server: LiveServer
) -> None:
    admin = create_account(live_server, "auditor", admin=True)

    def record_long_entry() -> None:
        from stubcollector.services import audit
        from stubcollector.services.transaction import transaction

        with transaction() as session:
            audit.record(
                session,
                action="order.refund_failed",
                object_type="order",
                object_id=987654,
                actor_kind="webhook",
                before="refund_pending",
                after="payment_completed",
                ip_address="2001:db8:85a3:0000:0000:8a2e:0370:7334",
                **LONG_DETAILS,
            )

    live_server.run(record_long_entry)
    log_in(page, admin.username)
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto("/admin/audit?object_id=987654")
        details = page.locator("table.audit-table td.audit-details").first
        expect(details).to_contain_text("re_3QxYz")
        expect(details).to_contain_text("2001:db8:85a3")
        assert page.evaluate(OVERFLOWING) == [], name
        screenshot(page, f"admin-audit-long-details-{name}")
