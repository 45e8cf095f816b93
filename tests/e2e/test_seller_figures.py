"""What the seller is told about their money, through the API and the pages (issue 22,
item 2): what each order brings them as things stand, no payout from a refunded or unpaid
order, Stripe's fee only where the seller pays it. The sandbox keeps real balances, so the
figures are checked against the seller's balance too.

(The same in a real browser, with the tabs of the Orders page: tests/browser/
test_seller_figures.py.)
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_DISPUTE,
    CARD_SUCCESS,
)
from stubcollector.models import User
from stubcollector.services import onboarding
from tests.support.clients import client_for
from tests.support.factories import UserFactory
from tests.support.pages import HTML
from tests.support.payments import listing_of, pay, sandbox_pages, token_of

JSON = {"X-Requested-With": "XMLHttpRequest"}
MINUS = "\u2212"  # the pages' minus sign before an amount taken off


def _seller(app: Flask) -> User:
    """A seller onboarded on ``app``'s sandbox (its STRIPE_ACCOUNT_LIABILITY decides who pays
    Stripe's fee on the account it creates)."""
    user = UserFactory.create()
    started = onboarding.start_onboarding(
        user, return_url="http://test/return", refresh_url="http://test/refresh"
    )
    sandbox_pages(app).complete_onboarding(token_of(started.url), "complete")
    return user


def _buy(app: Flask, listing_id: int, card: str) -> tuple[FlaskClient, int]:
    buyer = client_for(app, UserFactory.create())
    started = buyer.post(
        "/api/payments/create-payment-intent", json={"listing_id": listing_id}, headers=JSON
    )
    assert started.status_code == 200, started.json
    body: dict[str, Any] = started.json  # type: ignore[assignment]
    pay(buyer, body, card)
    return buyer, int(body["order_id"])


def _order(client: FlaskClient, order_id: int) -> dict[str, Any]:
    response = client.get(f"/api/payments/orders/{order_id}")
    assert response.status_code == 200, response.json
    return response.json["order"]  # type: ignore[no-any-return,index]


def _rows(client: FlaskClient, role: str) -> dict[int, dict[str, Any]]:
    response = client.get(f"/api/marketplace/my-orders?role={role}")
    assert response.status_code == 200, response.json
    return {row["id"]: row for row in response.json["orders"]}  # type: ignore[index]


def test_the_api_tells_the_seller_what_each_order_brings(app: Flask) -> None:
    seller = _seller(app)
    expensive, cheap = listing_of(seller, 4500), listing_of(seller, 3000)
    _, declined = _buy(app, expensive.id, CARD_DECLINED)
    _, sold = _buy(app, expensive.id, CARD_SUCCESS)
    refunding_buyer, refunded = _buy(app, cheap.id, CARD_SUCCESS)
    refund = refunding_buyer.post(f"/api/payments/orders/{refunded}/refund", json={}, headers=JSON)
    assert refund.status_code == 200, refund.json

    as_seller = client_for(app, seller)
    rows = _rows(as_seller, "sales")
    assert rows[sold]["seller_receives_cents"] == 4050
    assert rows[sold]["seller_receives_display"] == "$40.50"
    assert rows[sold]["expected_payout_date"] is not None
    assert rows[refunded]["seller_receives_cents"] == 0
    assert rows[refunded]["amount_refunded_cents"] == 3000
    assert rows[refunded]["expected_payout_date"] is None
    # The declined attempt was never a sale: nothing is due from it.
    assert rows[declined]["order_status"] == "payment_failed"
    assert rows[declined]["seller_receives_cents"] is None
    assert rows[declined]["expected_payout_date"] is None
    # Contract fields are unchanged: the split made at checkout is still there.
    assert rows[declined]["seller_amount_cents"] == 4050
    assert rows[refunded]["seller_amount_cents"] == 2700

    order = _order(as_seller, refunded)
    assert order["order_status"] == "refunded"
    assert order["seller_receives_cents"] == 0
    assert order["expected_payout_date"] is None
    assert order["stripe_fee_paid_by"] == "platform"
    assert _order(as_seller, sold)["expected_payout_date"] is not None
    assert _order(as_seller, declined)["seller_receives_cents"] is None

    # The buyer's rows say nothing of the seller's money, and show their refund.
    buyer_rows = _rows(refunding_buyer, "purchases")
    assert buyer_rows[refunded]["seller_receives_cents"] is None
    assert buyer_rows[refunded]["amount_refunded_cents"] == 3000

    balance = as_seller.get("/api/payments/connect/balance").json["balance"]  # type: ignore[index]
    assert balance["pending_cents"] + balance["available_cents"] == 4050


def test_where_the_seller_pays_stripes_fee_it_is_shown_and_taken_off(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    seller_pays = make_app(stripe_account_liability="stripe")
    with seller_pays.app_context():
        seller = _seller(seller_pays)
        listing = listing_of(seller, 4500)
        buyer, order_id = _buy(seller_pays, listing.id, CARD_SUCCESS)
        as_seller = client_for(seller_pays, seller)

        order = _order(as_seller, order_id)
        stripe_fee = order["stripe_fee_cents"]
        assert stripe_fee > 0
        assert order["stripe_fee_paid_by"] == "seller"
        assert order["seller_receives_cents"] == 4050 - stripe_fee
        # What the seller is told is what their balance holds.
        balance = as_seller.get("/api/payments/connect/balance").json["balance"]  # type: ignore[index]
        assert balance["pending_cents"] == 4050 - stripe_fee
        page = html.unescape(as_seller.get(f"/orders/{order_id}", headers=HTML).get_data(True))
        assert "Stripe processing fee" in page
        assert f"{MINUS} ${stripe_fee // 100}.{stripe_fee % 100:02d}" in page

        refund = buyer.post(f"/api/payments/orders/{order_id}/refund", json={}, headers=JSON)
        assert refund.status_code == 200, refund.json
        # Stripe keeps its fee after a refund: the sale cost the seller that much.
        assert _order(as_seller, order_id)["seller_receives_cents"] == -stripe_fee
        assert _rows(as_seller, "sales")[order_id]["seller_receives_cents"] == -stripe_fee


def test_a_disputed_sale_shows_the_withdrawal_and_no_payout(app: Flask) -> None:
    seller = _seller(app)
    _, order_id = _buy(app, listing_of(seller, 4500).id, CARD_DISPUTE)
    as_seller = client_for(app, seller)
    order = _order(as_seller, order_id)
    assert order["order_status"] == "disputed"
    assert order["dispute"]["funds_withdrawn_cents"] == 4500
    # The price went back to the bank; the platform's fee is not returned on a dispute.
    assert order["seller_receives_cents"] == 4050 - 4500
    assert order["expected_payout_date"] is None
    assert _rows(as_seller, "sales")[order_id]["expected_payout_date"] is None
    page = html.unescape(as_seller.get(f"/orders/{order_id}", headers=HTML).get_data(True))
    assert f"Withdrawn by the dispute</dt><dd>{MINUS} $45.00" in page
    assert "Expected payout" not in page
    assert "comes back to the seller if the dispute is won" in page


def test_dispute_fees_are_the_sellers_only_where_their_account_carries_losses(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    # Default (the platform carries losses): the $15 fee is the platform's, not on the page.
    seller = _seller(app)
    _, order_id = _buy(app, listing_of(seller, 4500).id, CARD_DISPUTE)
    as_seller = client_for(app, seller)
    assert _order(as_seller, order_id)["seller_receives_cents"] == 4050 - 4500
    balance = as_seller.get("/api/payments/connect/balance").json["balance"]  # type: ignore[index]
    assert balance["pending_cents"] + balance["available_cents"] == 4050 - 4500
    page = as_seller.get(f"/orders/{order_id}", headers=HTML).get_data(as_text=True)
    assert "dispute fees" not in page

    # Stripe carries the losses and the seller's account pays Stripe's fees: both come off.
    seller_liable = make_app(stripe_account_liability="stripe")
    with seller_liable.app_context():
        seller = _seller(seller_liable)
        _, order_id = _buy(seller_liable, listing_of(seller, 4500).id, CARD_DISPUTE)
        as_seller = client_for(seller_liable, seller)
        order = _order(as_seller, order_id)
        stripe_fee = order["stripe_fee_cents"]
        assert stripe_fee > 0
        expected = 4050 - stripe_fee - 4500 - 1500
        assert order["seller_receives_cents"] == expected
        assert _rows(as_seller, "sales")[order_id]["seller_receives_cents"] == expected
        # What the seller is told is what their balance holds.
        balance = as_seller.get("/api/payments/connect/balance").json["balance"]  # type: ignore[index]
        assert balance["pending_cents"] + balance["available_cents"] == expected
        page = html.unescape(as_seller.get(f"/orders/{order_id}", headers=HTML).get_data(True))
        assert f"Stripe's dispute fees</dt><dd>{MINUS} $15.00" in page


def test_the_orders_page_opens_on_the_tab_with_the_newest_order(app: Flask) -> None:
    seller = _seller(app)
    listing = listing_of(seller, 2500)
    as_seller = client_for(app, seller)
    assert 'aria-current="page">Purchases (0)' in as_seller.get("/orders/", headers=HTML).text
    _, declined = _buy(app, listing.id, CARD_DECLINED)
    # Only an unpaid checkout: that is what there is to see.
    opened = as_seller.get("/orders/", headers=HTML).text
    assert 'aria-current="page">Unpaid checkouts (1)' in opened
    assert f'data-order-id="{declined}"' in opened
    _, sold = _buy(app, listing.id, CARD_SUCCESS)
    opened = as_seller.get("/orders/", headers=HTML).text
    assert 'aria-current="page">Sales (1)' in opened
    assert f'data-order-id="{sold}"' in opened
    assert f'data-order-id="{declined}"' not in opened

    # Once they buy something after their last sale, purchases come first.
    other = _seller(app)
    bought_listing = listing_of(other, 1500)
    started = as_seller.post(
        "/api/payments/create-payment-intent", json={"listing_id": bought_listing.id}, headers=JSON
    )
    pay(as_seller, started.json, CARD_SUCCESS)  # type: ignore[arg-type]
    assert 'aria-current="page">Purchases (1)' in as_seller.get("/orders/", headers=HTML).text
