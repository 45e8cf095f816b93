"""Overview pages: my orders, my listings, payment compatibility."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from stubcollector.extensions import db
from stubcollector.models import User, utcnow
from stubcollector.services.marketplace import browsing, listing_status
from stubcollector.services.transaction import transaction
from tests.support.clients import AuthActions
from tests.support.factories import (
    ListingFactory,
    OrderFactory,
    SellerFactory,
    StubFactory,
    UserFactory,
)

ORDERS = "/api/marketplace/my-orders"
MINE = "/api/marketplace/my-listings"
COMPAT = "/api/marketplace/payment-compatibility"


@pytest.fixture(autouse=True)
def _fresh_totals() -> Iterator[None]:
    browsing.totals.clear()
    yield
    browsing.totals.clear()


def _order(seller: User, buyer: User, price: int, **fields: Any) -> Any:
    stub = StubFactory.create(owner=seller, event_name=f"Show {price}")
    listing = ListingFactory.create(seller=seller, stub=stub, asking_price_cents=price)
    return OrderFactory.create(listing=listing, buyer=buyer, **fields)


class TestMyOrders:
    def test_purchases_and_sales_with_amounts_and_counterpart(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        me = SellerFactory.create(display_name="Me Myself")
        other_seller = SellerFactory.create(display_name="Otto")
        other_buyer = UserFactory.create()
        bought = _order(other_seller, me, 1999, order_status="pending")
        sold = _order(me, other_buyer, 5000, order_status="payment_completed")
        _order(other_seller, other_buyer, 700)  # not mine
        auth.login(me.username)

        response = client.get(ORDERS)
        assert response.status_code == 200
        body = response.json
        assert (body["page"], body["per_page"], body["total"]) == (1, 24, 2)
        orders = {order["id"]: order for order in body["orders"]}
        assert set(orders) == {bought.id, sold.id}

        purchase = orders[bought.id]
        assert purchase["role"] == "buyer"
        assert purchase["order_status"] == "pending"
        assert purchase["stub"]["event_name"] == "Show 1999"
        assert purchase["counterpart"]["display_name"] == "Otto"
        assert (purchase["total_amount_cents"], purchase["total_amount_display"]) == (
            1999,
            "$19.99",
        )
        assert purchase["platform_fee_cents"] is None  # the seller's business

        sale = orders[sold.id]
        assert sale["role"] == "seller"
        assert sale["counterpart"]["username"] == other_buyer.username
        assert (sale["platform_fee_cents"], sale["seller_amount_cents"]) == (500, 4500)
        assert (sale["platform_fee_display"], sale["seller_amount_display"]) == (
            "$5.00",
            "$45.00",
        )

        purchases = client.get(ORDERS, query_string={"role": "purchases"}).json["orders"]
        assert [o["id"] for o in purchases] == [bought.id]
        sales = client.get(ORDERS, query_string={"role": "sales"}).json["orders"]
        assert [o["id"] for o in sales] == [sold.id]

    def test_pages_and_a_fixed_number_of_queries(
        self, app: Flask, client: FlaskClient, auth: AuthActions
    ) -> None:
        me = UserFactory.create()
        sellers = [SellerFactory.create() for _ in range(3)]
        for number in range(12):
            _order(sellers[number % 3], me, 100 + number, order_status="completed")
        auth.login(me.username)
        counts = []
        for per_page in (2, 5, 10):
            statements: list[str] = []

            def count(*args: Any, sink: list[str] = statements) -> None:
                sink.append(str(args[2]))

            event.listen(db.engine, "before_cursor_execute", count)
            try:
                response = client.get(ORDERS, query_string={"per_page": per_page})
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            assert len(response.json["orders"]) == per_page
            assert response.json["total"] == 12
            counts.append(len([s for s in statements if "session_token" not in s]))
        assert counts == [2, 2, 2]  # the page and its count

    def test_invalid_role_is_422(self, logged_in_client: FlaskClient) -> None:
        response = logged_in_client.get(ORDERS, query_string={"role": "everything"})
        assert response.status_code == 422
        assert "role" in response.json["errors"]

    def test_anonymous_is_401(self, client: FlaskClient) -> None:
        assert client.get(ORDERS).status_code == 401


class TestMyListings:
    def test_every_state_of_my_listings(self, client: FlaskClient, auth: AuthActions) -> None:
        me = SellerFactory.create()
        active = ListingFactory.create(seller=me)
        held = ListingFactory.create(seller=me)
        lapsed = ListingFactory.create(seller=me)
        sold = ListingFactory.create(seller=me, status="sold")
        cancelled = ListingFactory.create(seller=me, status="cancelled")
        ListingFactory.create()  # someone else's
        buyer = UserFactory.create()
        with transaction() as session:
            listing_status.reserve(session, held.id, buyer.id, minutes=15)
            listing_status.reserve(
                session, lapsed.id, buyer.id, minutes=15, now=utcnow() - timedelta(hours=1)
            )
        auth.login(me.username)

        everything = client.get(MINE).json
        assert everything["total"] == 5
        states = {item["id"]: item["status"] for item in everything["listings"]}
        assert states == {
            active.id: "active",
            held.id: "payment_pending",
            lapsed.id: "active",
            sold.id: "sold",
            cancelled.id: "cancelled",
        }
        by_status = {
            status: sorted(
                item["id"]
                for item in client.get(MINE, query_string={"status": status}).json["listings"]
            )
            for status in ("active", "payment_pending", "sold", "cancelled")
        }
        assert by_status == {
            "active": sorted([active.id, lapsed.id]),
            "payment_pending": [held.id],
            "sold": [sold.id],
            "cancelled": [cancelled.id],
        }

    def test_unknown_status_is_422(self, logged_in_client: FlaskClient) -> None:
        response = logged_in_client.get(MINE, query_string={"status": "lost"})
        assert response.status_code == 422
        assert "status" in response.json["errors"]

    def test_anonymous_is_401(self, client: FlaskClient) -> None:
        assert client.get(MINE).status_code == 401


class TestPaymentCompatibility:
    def test_ready_seller(self, client: FlaskClient, auth: AuthActions) -> None:
        seller = SellerFactory.create()
        auth.login(seller.username)
        body = client.get(COMPAT).json["payment_compatibility"]
        assert (body["can_buy"], body["can_sell"], body["missing"]) == (True, True, [])
        assert body["stripe_account_status"] == "active"
        assert body["charges_enabled"] is True

    def test_plain_user_must_connect_an_account(self, logged_in_client: FlaskClient) -> None:
        body = logged_in_client.get(COMPAT).json["payment_compatibility"]
        assert (body["can_buy"], body["can_sell"]) == (True, False)
        assert body["missing"] == ["connect a Stripe account (start seller onboarding)"]
        assert body["stripe_account_id"] is None

    def test_restricted_account_lists_stripe_requirements(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        user = UserFactory.create(
            stripe_account_id="acct_restricted0042",
            stripe_account_status="restricted",
            stripe_details_submitted=True,
            stripe_requirements_due=["external_account", "individual.dob.day"],
        )
        auth.login(user.username)
        body = client.get(COMPAT).json["payment_compatibility"]
        assert body["can_sell"] is False
        assert body["missing"] == [
            "Stripe needs: external_account",
            "Stripe needs: individual.dob.day",
        ]
        assert body["requirements_due"] == ["external_account", "individual.dob.day"]
        assert body["stripe_account_status"] == "restricted"

    def test_anonymous_is_401(self, client: FlaskClient) -> None:
        response = client.get(COMPAT)
        assert response.status_code == 401
        assert response.json["status"] == "error"
