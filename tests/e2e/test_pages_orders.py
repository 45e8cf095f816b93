"""Buying, order, seller-account and admin pages through the Flask test client.

The sandbox payment backend is real (its pages, its signed events, our webhook handler);
only the browser is missing, so forms are posted as a browser would post them.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
)
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, StubListing, StubOrder, StubPayment, User
from tests.support.clients import anonymous_client, client_for
from tests.support.factories import AdminFactory, UserFactory
from tests.support.pages import HTML
from tests.support.payments import listing_of, sandbox_pages, sandbox_seller


def token(client: FlaskClient, path: str = "/orders/") -> str:
    """The CSRF token of ``client``'s session, read from a page as a browser would."""
    g.pop("csrf_token", None)
    page = client.get(path, headers=HTML).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def start_checkout(client: FlaskClient, listing_id: int) -> object:
    return client.post(
        "/checkout/", data={"csrf_token": token(client), "listing_id": listing_id}, headers=HTML
    )


def order_id_from(response: object) -> int:
    location = response.headers["Location"]  # type: ignore[attr-defined]
    found = re.fullmatch(r"/checkout/(\d+)", location)
    assert found, location
    return int(found.group(1))


def sandbox_link(client: FlaskClient, order_id: int) -> str:
    page = text(client.get(f"/checkout/{order_id}", headers=HTML))
    found = re.search(r'href="(/sandbox/checkout/[^"]+)"', page)
    assert found, "the checkout page links to the sandbox payment page"
    return found.group(1)


def pay_on_sandbox(client: FlaskClient, order_id: int, card: str) -> object:
    return client.post(sandbox_link(client, order_id), data={"card_number": card}, headers=HTML)


@pytest.fixture
def seller(app: Flask) -> User:
    return sandbox_seller()


@pytest.fixture
def listing(seller: User) -> StubListing:
    return listing_of(seller, price_cents=123450)


def paid_order(app: Flask, buyer: User, listing: StubListing) -> tuple[FlaskClient, int]:
    as_buyer = client_for(app, buyer)
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    paid = pay_on_sandbox(as_buyer, order_id, CARD_SUCCESS)
    assert paid.status_code == 303  # type: ignore[attr-defined]
    return as_buyer, order_id


# --- checkout --------------------------------------------------------------------------
def test_buying_shows_the_total_and_returns_to_the_paid_order(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer = client_for(app, UserFactory.create())
    started = start_checkout(as_buyer, listing.id)
    assert started.status_code == 303  # type: ignore[attr-defined]
    order_id = order_id_from(started)

    page = as_buyer.get(f"/checkout/{order_id}", headers=HTML)
    body = text(page)
    assert page.status_code == 200
    assert "Pay $1,234.50" in body
    assert "Reserved for you: <strong data-countdown-text>until " in body
    # The buyer sees what they pay, not the platform's cut.
    assert "$123.45" not in body
    assert "Seller receives" not in body
    link = urlsplit(sandbox_link(as_buyer, order_id))
    assert parse_qs(link.query)["return_url"] == [f"/orders/{order_id}"]

    paid = pay_on_sandbox(as_buyer, order_id, CARD_SUCCESS)
    assert paid.headers["Location"] == f"/orders/{order_id}"  # type: ignore[attr-defined]
    order_page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert 'data-status="payment_completed"' in order_page
    assert "Paid — thank you!" in order_page
    assert "Confirm receipt" in order_page
    assert "Ask for a refund" in order_page
    assert "data-poll-url" not in order_page
    # Once paid, the checkout page hands over to the order page.
    again = as_buyer.get(f"/checkout/{order_id}", headers=HTML)
    assert again.status_code == 302
    assert again.headers["Location"] == f"/orders/{order_id}"


def test_an_unpaid_order_page_polls_its_status(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer = client_for(app, UserFactory.create())
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert f'data-poll-url="/api/payments/orders/{order_id}"' in page
    assert "Waiting for your payment" in page
    assert "/static/orders.js" in page


def test_a_declined_card_says_so_and_the_stub_stays_buyable(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer = client_for(app, UserFactory.create())
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    declined = pay_on_sandbox(as_buyer, order_id, CARD_DECLINED)
    assert declined.status_code == 200  # type: ignore[attr-defined]
    assert "Your card was declined." in text(declined)
    assert "Back to your order" in text(declined)

    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "The payment did not go through." in page
    assert "Your card was declined." in page
    assert "Try again with another card" in page
    db.session.expire_all()
    assert db.session.get(StubListing, listing.id).status == "active"  # type: ignore[union-attr]

    # Another buyer can take it now.
    other = client_for(app, UserFactory.create())
    assert start_checkout(other, listing.id).status_code == 303  # type: ignore[attr-defined]


def test_checkout_refusals_are_explained_on_a_page(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_seller = client_for(app, seller)
    own = start_checkout(as_seller, listing.id)
    assert own.status_code == 403  # type: ignore[attr-defined]
    assert "This stub can't be bought right now" in text(own)
    assert "You cannot buy your own listing" in text(own)

    first = client_for(app, UserFactory.create())
    assert start_checkout(first, listing.id).status_code == 303  # type: ignore[attr-defined]
    second = client_for(app, UserFactory.create())
    taken = start_checkout(second, listing.id)
    assert taken.status_code == 409  # type: ignore[attr-defined]
    assert "reserved by another buyer" in text(taken)
    assert "goes back on sale" in text(taken)

    missing = start_checkout(second, 999999)
    assert missing.status_code == 404  # type: ignore[attr-defined]
    assert "This listing no longer exists." in text(missing)

    not_ready = sandbox_seller(outcome="requirements_due")
    refused = start_checkout(second, listing_of(not_ready).id)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "cannot take payments" in text(refused)

    garbage = second.post(
        "/checkout/", data={"csrf_token": token(second), "listing_id": "x"}, headers=HTML
    )
    assert garbage.status_code == 422
    assert "Choose a listing to buy." in text(garbage)


# --- access ----------------------------------------------------------------------------
def _without_tokens(page: str) -> str:
    """A page without what differs between any two responses (CSRF tokens, request ids)."""
    return re.sub(r'(name="csrf_token" value|content)="[^"]*"', "", page)


def test_parties_refused_an_order_action_are_told_why(
    app: Flask, seller: User, listing: StubListing
) -> None:
    _, order_id = paid_order(app, UserFactory.create(), listing)
    as_seller = client_for(app, seller)
    # The seller knows the order exists: the buyer's checkout page is refused, not hidden.
    checkout_page = as_seller.get(f"/checkout/{order_id}", headers=HTML)
    assert checkout_page.status_code == 403
    assert "You can't open this page" in text(checkout_page)
    admin_checkout = client_for(app, AdminFactory.create()).get(
        f"/checkout/{order_id}", headers=HTML
    )
    assert admin_checkout.status_code == 403
    confirm = as_seller.post(
        f"/orders/{order_id}/confirm-receipt",
        data={"csrf_token": token(as_seller)},
        headers=HTML,
    )
    assert confirm.status_code == 403
    assert "Only the buyer can confirm receipt" in text(confirm)


def test_strangers_get_error_pages_not_orders(
    app: Flask, seller: User, listing: StubListing
) -> None:
    _, order_id = paid_order(app, UserFactory.create(), listing)
    stranger = client_for(app, UserFactory.create())
    order = stranger.get(f"/orders/{order_id}", headers=HTML)
    assert order.status_code == 404
    assert "$1,234.50" not in text(order)
    # Every order page answers a stranger exactly as it answers an id that does not exist.
    csrf = token(stranger)
    for method, path in (
        ("GET", "/orders/{}"),
        ("GET", "/checkout/{}"),
        ("POST", "/orders/{}/confirm-receipt"),
        ("POST", "/orders/{}/refund"),
    ):
        data = {"csrf_token": csrf} if method == "POST" else None
        hidden = stranger.open(path.format(order_id), method=method, data=data, headers=HTML)
        missing = stranger.open(path.format(424242), method=method, data=data, headers=HTML)
        assert hidden.status_code == missing.status_code == 404, path
        assert _without_tokens(text(hidden)) == _without_tokens(text(missing)), path
    db.session.expire_all()
    assert db.session.get(StubOrder, order_id).order_status == "payment_completed"  # type: ignore[union-attr]

    anonymous = anonymous_client(app)
    redirected = anonymous.get(f"/orders/{order_id}", headers=HTML)
    assert redirected.status_code == 302
    assert redirected.headers["Location"].startswith("/login")


def test_seller_and_admin_see_the_fee_split_and_payout_date(
    app: Flask, seller: User, listing: StubListing
) -> None:
    _, order_id = paid_order(app, UserFactory.create(), listing)
    as_seller = client_for(app, seller)
    page = text(as_seller.get(f"/orders/{order_id}", headers=HTML))
    assert "Sold!" in page
    assert "$123.45" in page  # 10 % platform fee
    assert "$1,111.05" in page  # what the seller receives
    assert "Expected payout" in page
    assert "7 days after payment" in page
    assert "PaymentIntent" not in page  # provider ids are for admins

    admin = client_for(app, AdminFactory.create())
    admin_page = text(admin.get(f"/orders/{order_id}", headers=HTML))
    assert "Provider records" in admin_page
    assert re.search(r"pi_\w+", admin_page)
    assert "Refund in full" in admin_page


# --- buyer actions ---------------------------------------------------------------------
def test_confirm_receipt_completes_and_a_second_try_is_refused_with_a_message(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer, order_id = paid_order(app, UserFactory.create(), listing)
    url = f"/orders/{order_id}/confirm-receipt"
    done = as_buyer.post(url, data={"csrf_token": token(as_buyer)}, headers=HTML)
    assert done.status_code == 303
    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "the order is complete" in page
    assert 'data-status="completed"' in page

    again = as_buyer.post(url, data={"csrf_token": token(as_buyer)}, headers=HTML)
    assert again.status_code == 303
    refused = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "Only a paid order can be completed" in refused

    # Once receipt is confirmed, refunding is no longer the buyer's to do (an admin's).
    late_refund = as_buyer.post(
        f"/orders/{order_id}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML
    )
    assert late_refund.status_code == 403
    assert "A completed order can only be refunded by an admin" in text(late_refund)


def test_the_buyer_can_ask_for_a_refund_before_receipt(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer, order_id = paid_order(app, UserFactory.create(), listing)
    refunded = as_buyer.post(
        f"/orders/{order_id}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML
    )
    assert refunded.status_code == 303
    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "refunded in full" in page
    assert 'data-status="refunded"' in page
    assert "$1,234.50 went back" in page


@pytest.mark.parametrize(
    ("actor", "action", "reason"),
    [
        ("seller", "confirm-receipt", "Only the buyer can confirm receipt"),
        ("admin", "confirm-receipt", "Only the buyer can confirm receipt"),
        ("seller", "refund", "Only the buyer or an admin can refund this order"),
    ],
)
def test_a_party_refused_an_action_that_is_not_theirs_gets_the_403_page(
    app: Flask, seller: User, listing: StubListing, actor: str, action: str, reason: str
) -> None:
    _, order_id = paid_order(app, UserFactory.create(), listing)
    client = client_for(app, seller if actor == "seller" else AdminFactory.create())

    response = client.post(
        f"/orders/{order_id}/{action}", data={"csrf_token": token(client)}, headers=HTML
    )

    assert response.status_code == 403
    assert response.mimetype == "text/html"
    page = text(response)
    assert "Error 403" in page
    assert "You can't do that on this order" in page
    assert reason in page
    assert f'href="/orders/{order_id}">Back to the order</a>' in page
    db.session.expire_all()
    assert db.session.get(StubOrder, order_id).order_status == "payment_completed"  # type: ignore[union-attr]
    assert db.session.get(StubPayment, _payment_id(order_id)).payment_status == "succeeded"  # type: ignore[union-attr]
    # Nothing waits in the session to show up on the next page.
    assert reason not in text(client.get(f"/orders/{order_id}", headers=HTML))


def _payment_id(order_id: int) -> int:
    return db.session.scalars(select(StubPayment.id).where(StubPayment.order_id == order_id)).one()


def test_a_refund_under_way_refuses_actions_with_a_message_on_the_order(
    app: Flask, seller: User, listing: StubListing
) -> None:
    """A state conflict is "not now", not "not yours": the order page says why."""
    as_buyer = client_for(app, UserFactory.create())
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    assert pay_on_sandbox(as_buyer, order_id, CARD_REFUND_PENDING).status_code == 303  # type: ignore[attr-defined]
    url = f"/orders/{order_id}"
    first = as_buyer.post(f"{url}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML)
    assert first.status_code == 303

    csrf = token(as_buyer)

    for action, reason in (
        ("refund", "A refund for this order is already in progress"),
        ("confirm-receipt", "This order is being refunded"),
    ):
        refused = as_buyer.post(f"{url}/{action}", data={"csrf_token": csrf}, headers=HTML)
        assert refused.status_code == 303, action
        assert refused.headers["Location"] == url, action
        page = text(as_buyer.get(url, headers=HTML))
        assert reason in page, action
        assert 'data-refund-state="pending"' in page
    db.session.expire_all()
    assert db.session.get(StubOrder, order_id).order_status == "payment_completed"  # type: ignore[union-attr]


def test_after_a_failed_refund_the_buyer_is_refused_a_retry_with_the_403_page(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer = client_for(app, UserFactory.create())
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    assert pay_on_sandbox(as_buyer, order_id, CARD_REFUND_PENDING).status_code == 303  # type: ignore[attr-defined]
    as_buyer.post(f"/orders/{order_id}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML)
    refund = as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]["refund"]
    sandbox_pages().settle_refund(refund["refund_id"], succeed=False)

    retry = as_buyer.post(
        f"/orders/{order_id}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML
    )

    assert retry.status_code == 403
    assert "our team will retry it" in text(retry)
    order = as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]
    assert [attempt["status"] for attempt in order["refunds"]] == ["failed"]  # no new attempt
    assert order["refund_state"] == "failed"


# --- CSRF ------------------------------------------------------------------------------
def test_every_post_needs_the_csrf_token(app: Flask, seller: User, listing: StubListing) -> None:
    as_buyer, order_id = paid_order(app, UserFactory.create(), listing)
    admin = client_for(app, AdminFactory.create())
    attempts = [
        (as_buyer, "/checkout/", {"listing_id": str(listing.id)}),
        (as_buyer, f"/orders/{order_id}/confirm-receipt", {}),
        (as_buyer, f"/orders/{order_id}/refund", {}),
        (as_buyer, "/seller/onboarding", {}),
        (client_for(app, seller), "/seller/dashboard", {}),
        (admin, f"/admin/orders/{order_id}/refund", {}),
    ]
    for client, path, form in attempts:
        response = client.post(path, data=form, headers=HTML)
        assert response.status_code == 400, path
        assert "could not be verified" in text(response), path
    db.session.expire_all()
    assert db.session.get(StubOrder, order_id).order_status == "payment_completed"  # type: ignore[union-attr]
    assert db.session.get(User, as_buyer_id(as_buyer)).stripe_account_id is None  # type: ignore[union-attr]


def as_buyer_id(client: FlaskClient) -> int:
    g.pop("_login_user", None)
    return int(client.get("/auth/me").json["user"]["id"])  # type: ignore[index]


# --- lists -----------------------------------------------------------------------------
def test_orders_list_has_purchases_and_sales_tabs(
    app: Flask, seller: User, listing: StubListing
) -> None:
    as_buyer, order_id = paid_order(app, UserFactory.create(), listing)
    purchases = text(as_buyer.get("/orders/", headers=HTML))
    assert f"#{order_id}" in purchases
    assert "$1,234.50" in purchases
    assert "No sales yet" in text(as_buyer.get("/orders/?tab=sales", headers=HTML))
    as_seller = client_for(app, seller)
    sales = text(as_seller.get("/orders/?tab=sales", headers=HTML))
    assert f"#{order_id}" in sales
    assert "$1,111.05" in sales
    assert "No purchases yet" in text(as_seller.get("/orders/?tab=purchases", headers=HTML))
    # A seller who never bought opens the page on their sales.
    opened = text(as_seller.get("/orders/", headers=HTML))
    assert 'aria-current="page">Sales (1)</a>' in opened
    assert f"#{order_id}" in opened


# --- seller account --------------------------------------------------------------------
def test_onboarding_through_the_pages(app: Flask) -> None:
    user = UserFactory.create()
    client = client_for(app, user)
    start_page = text(client.get("/seller/", headers=HTML))
    assert "Set up payments" in start_page
    started = client.post(
        "/seller/onboarding", data={"csrf_token": token(client, "/seller/")}, headers=HTML
    )
    assert started.status_code == 303
    onboarding_url = urlsplit(started.headers["Location"])
    assert onboarding_url.path.startswith("/sandbox/onboarding/")

    left = client.post(onboarding_url.path, data={"outcome": "requirements_due"}, headers=HTML)
    assert urlsplit(left.headers["Location"]).path == "/seller/onboarding/return"
    back = client.get("/seller/onboarding/return", headers=HTML)
    assert back.headers["Location"] == "/seller/"
    page = text(client.get("/seller/", headers=HTML))
    assert "Onboarding is not finished yet" in page
    assert "A bank account for payouts" in page
    assert "A photo of your ID document" in page
    assert "Stripe needs more information" in page

    # The used link is dead: the refresh page makes a new one.
    again = client.get("/seller/onboarding/refresh", headers=HTML)
    fresh = urlsplit(again.headers["Location"]).path
    assert fresh.startswith("/sandbox/onboarding/")
    assert fresh != onboarding_url.path
    client.post(fresh, data={"outcome": "complete"}, headers=HTML)
    client.get("/seller/onboarding/return", headers=HTML)
    done = text(client.get("/seller/", headers=HTML))
    assert "Your seller account is ready" in done
    assert "You can take card payments and receive payouts." in done
    assert 'id="balance-available">$0.00' in done

    dashboard = client.post(
        "/seller/dashboard", data={"csrf_token": token(client, "/seller/")}, headers=HTML
    )
    assert dashboard.status_code == 303
    assert urlsplit(dashboard.headers["Location"]).path.startswith("/sandbox/dashboard/")


def test_seller_page_shows_balance_and_sales_with_payout_dates(
    app: Flask, seller: User, listing: StubListing
) -> None:
    _, order_id = paid_order(app, UserFactory.create(), listing)
    page = text(client_for(app, seller).get("/seller/", headers=HTML))
    assert 'id="balance-pending">$1,111.05' in page
    assert f"#{order_id}" in page
    paid_at = db.session.scalar(
        select(StubOrder.payment_confirmed_at).where(StubOrder.id == order_id)
    )
    assert paid_at is not None
    from datetime import timedelta

    payout = (paid_at + timedelta(days=7)).date()
    assert f"{payout:%b} {payout.day}, {payout.year}" in page


# --- admin -----------------------------------------------------------------------------
def test_admin_pages_are_for_admins_only(app: Flask) -> None:
    member = client_for(app, UserFactory.create())
    for path in ("/admin/", "/admin/orders", "/admin/disputes", "/admin/audit"):
        response = member.get(path, headers=HTML)
        assert response.status_code == 403, path
        assert "You can't open this page" in text(response)
    refused = member.post(
        "/admin/orders/1/refund", data={"csrf_token": token(member)}, headers=HTML
    )
    assert refused.status_code == 403
    assert anonymous_client(app).get("/admin/", headers=HTML).status_code == 302


def test_admin_lists_filters_and_refunds_orders(
    app: Flask, seller: User, listing: StubListing
) -> None:
    buyer = UserFactory.create()
    as_buyer, order_id = paid_order(app, buyer, listing)
    as_buyer.post(
        f"/orders/{order_id}/confirm-receipt", data={"csrf_token": token(as_buyer)}, headers=HTML
    )
    admin_user = AdminFactory.create()
    admin = client_for(app, admin_user)
    listed = text(admin.get("/admin/orders", headers=HTML))
    assert f"#{order_id}" in listed
    assert "$1,234.50" in listed
    assert "$123.45" in listed
    assert f"#{order_id}" not in text(admin.get("/admin/orders?status=refunded", headers=HTML))

    refunded = admin.post(
        f"/admin/orders/{order_id}/refund",
        data={
            "csrf_token": token(admin, "/admin/orders"),
            "back": "/admin/orders?status=completed",
        },
        headers=HTML,
    )
    assert refunded.status_code == 303
    assert refunded.headers["Location"] == "/admin/orders?status=completed"
    assert f"Order {order_id} is refunded in full." in text(
        admin.get("/admin/orders?status=refunded", headers=HTML)
    )
    again = admin.post(
        f"/admin/orders/{order_id}/refund",
        data={"csrf_token": token(admin, "/admin/orders")},
        headers=HTML,
    )
    assert again.status_code == 303
    assert "already been refunded" in text(admin.get("/admin/orders", headers=HTML))

    audit = text(admin.get(f"/admin/audit?object_type=order&object_id={order_id}", headers=HTML))
    assert "<code>order.refund_requested</code>" in audit
    assert "<code>order.refunded</code>" in audit
    assert admin_user.username in audit
    by_actor = text(admin.get(f"/admin/audit?actor={buyer.username}", headers=HTML))
    assert "<code>order.completed</code>" in by_actor
    assert "<code>order.refunded</code>" not in by_actor
    bad_range = admin.get("/admin/audit?since=2026-05-02&until=2026-05-01", headers=HTML)
    assert bad_range.status_code == 200
    assert "the start date is after the end date" in text(bad_range)

    dashboard = text(admin.get("/admin/", headers=HTML))
    assert 'id="total-sales">$1,234.50' in dashboard
    assert 'id="total-refunds">$1,234.50' in dashboard
    assert 'id="total-fees">$0.00' in dashboard  # the fee went back with the refund
    assert "<svg" in dashboard
    assert 'class="chart__bar"' in dashboard
    entries = db.session.scalars(
        select(AuditLogEntry.action).where(AuditLogEntry.actor_user_id == admin_user.id)
    ).all()
    assert "order.refund_requested" in entries


def test_admin_disputes_page_lists_disputes(app: Flask, seller: User, listing: StubListing) -> None:
    from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE

    as_buyer = client_for(app, UserFactory.create())
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    pay_on_sandbox(as_buyer, order_id, CARD_DISPUTE)
    admin = client_for(app, AdminFactory.create())
    page = text(admin.get("/admin/disputes", headers=HTML))
    assert f"#{order_id}" in page
    assert "$1,234.50" in page
    assert "No open disputes" not in text(admin.get("/admin/", headers=HTML))
    order_page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "dispute" in order_page.lower()


def test_stripe_mode_lets_seller_forms_redirect_to_stripe_connect(make_app: object) -> None:
    stripe_app: Flask = make_app(  # type: ignore[operator]
        payments_backend="stripe",
        stripe_secret_key="sk_test_page_csp",
        stripe_webhook_secret="whsec_page_platform",
        stripe_connect_webhook_secret="whsec_page_connect",
    )
    policy = stripe_app.test_client().get("/", headers=HTML).headers["Content-Security-Policy"]
    assert "form-action 'self' https://connect.stripe.com;" in policy


def test_stripe_mode_checkout_renders_the_payment_element_for_the_connected_account(
    make_app: object,
) -> None:
    stripe_app: Flask = make_app(  # type: ignore[operator]
        payments_backend="stripe",
        stripe_secret_key="sk_test_page_checkout",
        stripe_webhook_secret="whsec_page_platform",
        stripe_connect_webhook_secret="whsec_page_connect",
        stripe_public_key="pk_test_page_checkout",
        public_base_url="https://stubs.example.com",
    )
    with stripe_app.app_context():
        seller = UserFactory.create(
            stripe_account_id="acct_pagecheckout1",
            stripe_charges_enabled=True,
            stripe_payouts_enabled=True,
            stripe_details_submitted=True,
        )
        buyer = UserFactory.create()
        listing = listing_of(seller, price_cents=4200)
        order = StubOrder(
            buyer_id=buyer.id,
            seller_id=seller.id,
            stub_listing_id=listing.id,
            total_amount_cents=4200,
            platform_fee_cents=420,
            seller_amount_cents=3780,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(
            StubPayment(
                order_id=order.id,
                stripe_account_id="acct_pagecheckout1",
                payment_intent_id="pi_pagecheckout1",
                client_secret="pi_pagecheckout1_secret_abc",
                idempotency_key=f"order:{order.id}:payment_intent",
                amount_total_cents=4200,
                platform_fee_cents=420,
            )
        )
        db.session.commit()
        order_id = order.id
        client = client_for(stripe_app, buyer)
        page = text(client.get(f"/checkout/{order_id}", headers=HTML))
    assert '<script src="https://js.stripe.com/v3/" defer></script>' in page
    assert 'data-stripe-key="pk_test_page_checkout"' in page
    assert 'data-stripe-account="acct_pagecheckout1"' in page
    assert 'data-client-secret="pi_pagecheckout1_secret_abc"' in page
    # Stripe sends the buyer back to the order page, on our public address (PUBLIC_BASE_URL
    # when set, whatever host the request named).
    assert f'data-return-url="https://stubs.example.com/orders/{order_id}"' in page
    assert "/sandbox/checkout" not in page
    assert "Pay $42.00" in page


def test_checkout_takes_the_listing_from_the_form_action_url(
    app: Flask, seller: User, listing: StubListing
) -> None:
    # The listing page's Buy button: url_for("checkout.start", listing_id=...) as action.
    as_buyer = client_for(app, UserFactory.create())
    response = as_buyer.post(
        f"/checkout/?listing_id={listing.id}", data={"csrf_token": token(as_buyer)}, headers=HTML
    )
    assert response.status_code == 303
    assert re.fullmatch(r"/checkout/\d+", response.headers["Location"])


def test_a_pending_refund_shows_until_it_fails_and_an_admin_retries_it(
    app: Flask, seller: User, listing: StubListing
) -> None:
    buyer = UserFactory.create()
    as_buyer = client_for(app, buyer)
    order_id = order_id_from(start_checkout(as_buyer, listing.id))
    assert pay_on_sandbox(as_buyer, order_id, CARD_REFUND_PENDING).status_code == 303  # type: ignore[attr-defined]
    as_seller = client_for(app, seller)
    admin = client_for(app, AdminFactory.create())

    asked = as_buyer.post(
        f"/orders/{order_id}/refund", data={"csrf_token": token(as_buyer)}, headers=HTML
    )

    assert asked.status_code == 303
    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert "The refund is on its way" in page  # the flash
    assert 'data-status="payment_completed"' in page  # not refunded yet
    assert 'data-refund-state="pending"' in page
    assert "is on its way back to your card" in page
    assert "Ask for a refund" not in page
    assert 'data-poll-status="payment_completed/pending"' in page
    for viewer, path in (
        (as_seller, f"/orders/{order_id}"),
        (admin, f"/orders/{order_id}"),
        (as_buyer, "/orders/?tab=purchases"),
        (as_seller, "/orders/?tab=sales"),
        (admin, "/admin/orders?refund=pending"),
    ):
        assert "Refund pending" in text(viewer.get(path, headers=HTML)), path
    assert f"#{order_id}" not in text(admin.get("/admin/orders?refund=failed", headers=HTML))

    refund = as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]["refund"]
    sandbox_pages().settle_refund(refund["refund_id"], succeed=False)

    page = text(as_buyer.get(f"/orders/{order_id}", headers=HTML))
    assert 'data-refund-state="failed"' in page
    assert "The refund did not go through:</strong> the card was reported lost or stolen" in page
    assert "Our team will retry the refund." in page
    assert "Retry the refund" not in page
    admin_page = text(admin.get(f"/orders/{order_id}", headers=HTML))
    assert "Retry the refund" in admin_page
    assert "<code>lost_or_stolen_card</code>" in admin_page
    listed = text(admin.get("/admin/orders?refund=failed", headers=HTML))
    assert f"#{order_id}" in listed
    assert "Retry refund" in listed

    retried = admin.post(
        f"/admin/orders/{order_id}/refund",
        data={"csrf_token": token(admin, "/admin/orders"), "back": f"/orders/{order_id}"},
        headers=HTML,
    )

    assert retried.status_code == 303
    admin_page = text(admin.get(f"/orders/{order_id}", headers=HTML))
    assert f"Order {order_id}: The refund is on its way" in admin_page
    assert 'data-refund-state="pending"' in admin_page
    assert "attempt 2" in admin_page
    audit = text(admin.get(f"/admin/audit?object_type=order&object_id={order_id}", headers=HTML))
    assert "<code>order.refund_failed</code>" in audit
    assert "<code>order.refund_pending</code>" in audit
