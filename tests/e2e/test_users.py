"""Public seller profiles with counts computed in one query."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.domain.statuses import ListingStatus, OrderStatus
from stubcollector.extensions import db
from stubcollector.models import StubListing, StubOrder
from tests.support.database import counting_queries
from tests.support.factories import SellerFactory, StubFactory, UserFactory


def _listing(seller: object, status: ListingStatus, price: int = 1000) -> StubListing:
    stub = StubFactory.create(owner=seller)
    listing = StubListing(
        stub_id=stub.id, seller_id=seller.id, asking_price_cents=price, status=status.value
    )  # type: ignore[attr-defined]
    db.session.add(listing)
    db.session.commit()
    return listing


def test_public_profile_counts_listings_and_sales_in_one_query(
    app: Flask, client: FlaskClient
) -> None:
    seller = SellerFactory.create(display_name="Vintage Vera")
    buyer = UserFactory.create()
    _listing(seller, ListingStatus.ACTIVE)
    _listing(seller, ListingStatus.ACTIVE)
    _listing(seller, ListingStatus.CANCELLED)
    sold = _listing(seller, ListingStatus.SOLD)
    db.session.add(
        StubOrder(
            buyer_id=buyer.id,
            seller_id=seller.id,
            stub_listing_id=sold.id,
            order_status=OrderStatus.COMPLETED.value,
            total_amount_cents=1000,
            platform_fee_cents=100,
            seller_amount_cents=900,
        )
    )
    db.session.commit()
    seller_id = seller.id
    db.session.remove()

    with counting_queries(app) as statements:
        response = client.get(f"/api/users/{seller_id}")

    assert response.status_code == 200
    profile = response.json["user"]
    assert profile["display_name"] == "Vintage Vera"
    assert profile["is_verified_seller"] is True
    assert profile["stats"] == {"active_listings": 2, "total_listings": 4, "completed_sales": 1}
    assert "email" not in profile
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects


def test_unknown_user_is_404(client: FlaskClient) -> None:
    response = client.get("/api/users/999999")
    assert response.status_code == 404
    assert response.json == {"status": "error", "message": "user not found"}
