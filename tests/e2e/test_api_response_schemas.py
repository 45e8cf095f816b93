"""What the API really returns is what ``/openapi.json`` declares, field for field.

Response schemas are closed (``additionalProperties: false``) so clients can generate
types from them; a field the service adds without a schema change would break those
clients silently. Each test here builds the richest objects the sandbox can make (an order
that was paid, disputed, won and refunded; a sold listing; a read stub) and holds every
response about them against the document.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE
from stubcollector.models import StubListing, User
from tests.support.api_schema import assert_documented, field_drift, openapi_document
from tests.support.clients import anonymous_client, client_for
from tests.support.factories import AdminFactory, StubFactory, UserFactory
from tests.support.payments import listing_of, pay, sandbox_pages, sandbox_seller

ORDER = "/api/payments/orders/{order_id}"


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return openapi_document(client)


@pytest.fixture
def seller(app: Flask) -> User:
    return sandbox_seller()


@pytest.fixture
def listing(seller: User) -> StubListing:
    return listing_of(seller, price_cents=4250)


def _disputed_won_and_refunded_order(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> tuple[int, dict[str, FlaskClient]]:
    """An order with every part the order schema has: a reservation while paying, a
    payment, a dispute (won), then an admin's refund."""
    buyer = UserFactory.create()
    parties = {
        "buyer": client_for(app, buyer),
        "seller": client_for(app, seller),
        "admin": client_for(app, AdminFactory.create()),
    }
    as_buyer = parties["buyer"]
    started = as_buyer.post("/api/payments/create-payment-intent", json={"listing_id": listing.id})
    checkout = assert_documented(spec, "post", "/api/payments/create-payment-intent", started)
    order_id = int(checkout["order_id"])
    pending = assert_documented(
        spec, "get", ORDER, as_buyer.get(f"/api/payments/orders/{order_id}")
    )
    assert pending["order"]["reserved_until"] is not None

    assert pay(as_buyer, checkout, CARD_DISPUTE).status_code == 200
    disputed = as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]
    sandbox_pages().close_dispute(disputed["dispute"]["dispute_id"], won=True)
    refunded = parties["admin"].post(f"/api/payments/orders/{order_id}/refund", json={})
    assert refunded.status_code == 200, refunded.json
    assert_documented(spec, "post", f"{ORDER}/refund", refunded)
    return order_id, parties


def test_an_order_returns_exactly_the_fields_its_schema_declares(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> None:
    order_id, parties = _disputed_won_and_refunded_order(app, spec, seller, listing)

    for role, client in parties.items():
        response = client.get(f"/api/payments/orders/{order_id}")
        order = assert_documented(spec, "get", ORDER, response)["order"]
        # The nested objects were really there to compare, not null.
        assert order["order_status"] == "refunded", role
        assert order["dispute"]["status"] == "won", role
        assert order["refund"]["status"] == "succeeded", role
        assert len(order["refunds"]) == 1, role
        assert order["payment_confirmed_at"] is not None, role


def test_the_order_schema_describes_every_field_of_an_order(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> None:
    """The properties of ``OrderOut`` are exactly the keys of an order, both ways."""
    order_id, parties = _disputed_won_and_refunded_order(app, spec, seller, listing)
    order = parties["buyer"].get(f"/api/payments/orders/{order_id}").json["order"]
    declared = spec["components"]["schemas"]["OrderOut"]

    assert set(declared["properties"]) == set(order)
    assert set(declared["required"]) == set(order)
    # Every field says what it is: a type, or a reference to a schema that has one.
    untyped = [
        name
        for name, prop in declared["properties"].items()
        if not ({"type", "anyOf", "$ref", "enum", "const"} & set(prop))
    ]
    assert not untyped


def test_a_completed_order_matches_its_schema(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> None:
    as_buyer = client_for(app, UserFactory.create())
    checkout = as_buyer.post(
        "/api/payments/create-payment-intent", json={"listing_id": listing.id}
    ).json
    assert pay(as_buyer, checkout, "4242424242424242").status_code == 200

    completed = as_buyer.post(f"/api/payments/orders/{checkout['order_id']}/complete", json={})

    assert completed.status_code == 200, completed.json
    order = assert_documented(spec, "post", f"{ORDER}/complete", completed)["order"]
    assert order["completed_at"] is not None
    assert order["expected_payout_date"] is not None


def test_listings_and_order_lists_match_their_schemas(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> None:
    anonymous = anonymous_client(app)
    on_sale = assert_documented(
        spec, "get", "/api/marketplace/listings", anonymous.get("/api/marketplace/listings")
    )
    assert [found["id"] for found in on_sale["listings"]] == [listing.id]
    assert_documented(
        spec,
        "get",
        "/api/marketplace/listings/{listing_id}",
        anonymous.get(f"/api/marketplace/listings/{listing.id}"),
    )
    order_id, parties = _disputed_won_and_refunded_order(app, spec, seller, listing)

    for role in ("buyer", "seller"):
        client = parties[role]
        mine = client.get("/api/marketplace/my-orders")
        orders = assert_documented(spec, "get", "/api/marketplace/my-orders", mine)["orders"]
        assert [order["id"] for order in orders] == [order_id], role
        compatibility = client.get("/api/marketplace/payment-compatibility")
        assert_documented(spec, "get", "/api/marketplace/payment-compatibility", compatibility)
    as_seller = parties["seller"]
    own = as_seller.get("/api/marketplace/my-listings")
    assert assert_documented(spec, "get", "/api/marketplace/my-listings", own)["listings"]
    assert_documented(
        spec,
        "get",
        "/api/marketplace/listings/{listing_id}",
        as_seller.get(f"/api/marketplace/listings/{listing.id}"),
    )
    fresh = StubFactory.create(owner=seller, face_value_cents=4500, currency="USD")
    created = as_seller.post(
        "/api/marketplace/listings", json={"stub_id": fresh.id, "asking_price": "12.50"}
    )
    assert created.status_code == 201, created.json
    assert_documented(spec, "post", "/api/marketplace/listings", created)


def test_users_stubs_and_accounts_match_their_schemas(
    app: Flask, spec: dict[str, Any], seller: User, listing: StubListing
) -> None:
    as_seller = client_for(app, seller)
    profile = anonymous_client(app).get(f"/api/users/{seller.id}")
    user = assert_documented(spec, "get", "/api/users/{user_id}", profile)["user"]
    assert user["stats"] is not None
    assert_documented(spec, "get", "/auth/me", as_seller.get("/auth/me"))
    stubs = assert_documented(spec, "get", "/api/stubs", as_seller.get("/api/stubs"))["stubs"]
    assert stubs
    assert_documented(
        spec, "get", "/api/stubs/{stub_id}", as_seller.get(f"/api/stubs/{listing.stub_id}")
    )
    for path in ("/api/payments/connect/status", "/api/payments/connect/balance"):
        assert_documented(spec, "get", path, as_seller.get(path))
    admin = client_for(app, AdminFactory.create())
    assert_documented(spec, "get", "/api/admin/audit-log", admin.get("/api/admin/audit-log"))


def test_field_drift_reports_both_directions() -> None:
    spec = {
        "components": {
            "schemas": {
                "Inner": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "required": ["a"],
                }
            }
        }
    }
    schema = {
        "type": "object",
        "properties": {
            "inner": {"anyOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}},
        },
        "required": ["inner", "items"],
    }

    assert field_drift(spec, schema, {"inner": {"a": 1}, "items": [{"a": 2}]}, "") == []
    assert field_drift(spec, schema, {"inner": None, "items": []}, "") == []
    assert field_drift(spec, schema, {"inner": {"a": 1, "b": 2}, "items": [{}]}, "") == [
        ".inner returns undeclared ['b']",
        ".items[0] declares as required but does not return ['a']",
    ]
    assert field_drift(spec, schema, {"inner": None}, "") == [
        "<body> declares as required but does not return ['items']"
    ]
