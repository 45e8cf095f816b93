"""Payments API in sandbox mode: cards, disputes, permissions, repeats, outages, onboarding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.adapters.payments.ports import (
    Checkout,
    CheckoutRequest,
    PaymentGateway,
    PaymentProviderUnavailable,
)
from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_DISPUTE,
    CARD_INSUFFICIENT_FUNDS,
    CARD_SUCCESS,
)
from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.models import StubDispute, StubListing, StubOrder, StubPayment, User
from tests.support.clients import anonymous_client, client_for
from tests.support.database import reloaded
from tests.support.factories import AdminFactory, UserFactory
from tests.support.payments import listing_of, pay, sandbox, sandbox_pages, sandbox_seller


@pytest.fixture
def seller(app: Flask) -> User:
    return sandbox_seller()


@pytest.fixture
def buyer(app: Flask) -> User:
    return UserFactory.create()


def _checkout(client: FlaskClient, listing_id: int) -> Any:
    return client.post("/api/payments/create-payment-intent", json={"listing_id": listing_id})


def _order(client: FlaskClient, order_id: int) -> dict[str, Any]:
    response = client.get(f"/api/payments/orders/{order_id}")
    assert response.status_code == 200, response.json
    return dict(response.json["order"])


# --- cards ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("card", "decline_code", "message"),
    [
        (CARD_DECLINED, "generic_decline", "Your card was declined."),
        (CARD_INSUFFICIENT_FUNDS, "insufficient_funds", "Your card has insufficient funds."),
    ],
)
def test_declined_card_fails_the_order_and_releases_the_listing(
    app: Flask, seller: User, buyer: User, card: str, decline_code: str, message: str
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    checkout = _checkout(as_buyer, listing.id).json

    declined = pay(as_buyer, checkout, card)

    assert declined.status_code == 402
    assert declined.json["decline_code"] == decline_code
    order = _order(as_buyer, checkout["order_id"])
    assert order["order_status"] == "payment_failed"
    assert order["payment_status"] == "failed"
    assert message in order["status_reason"]
    assert reloaded(StubListing, listing.id).status == "active"
    # Someone else may now buy it.
    other = client_for(app, UserFactory.create())
    assert _checkout(other, listing.id).status_code == 200


def test_a_retried_card_on_the_same_payment_intent_can_still_win(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    checkout = _checkout(as_buyer, listing.id).json
    assert pay(as_buyer, checkout, CARD_DECLINED).status_code == 402

    assert pay(as_buyer, checkout, CARD_SUCCESS).status_code == 200

    order = _order(as_buyer, checkout["order_id"])
    assert order["order_status"] == "payment_completed"
    assert order["status_reason"] is None
    assert reloaded(StubListing, listing.id).status == "sold"


def test_checkout_again_after_a_decline_starts_a_new_order(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    first = _checkout(as_buyer, listing.id).json
    pay(as_buyer, first, CARD_INSUFFICIENT_FUNDS)

    second = _checkout(as_buyer, listing.id).json

    assert second["order_id"] != first["order_id"]
    assert second["payment_intent_id"] != first["payment_intent_id"]
    old = _order(as_buyer, first["order_id"])
    assert old["order_status"] == "cancelled"
    assert old["payment_status"] == "canceled"  # its PaymentIntent was cancelled too
    assert pay(as_buyer, first, CARD_SUCCESS).status_code == 409


def test_dispute_card_disputes_the_order_and_a_won_dispute_restores_it(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer, as_seller = client_for(app, buyer), client_for(app, seller)
    checkout = _checkout(as_buyer, listing.id).json

    assert pay(as_buyer, checkout, CARD_DISPUTE).status_code == 200

    order = _order(as_seller, checkout["order_id"])
    assert order["order_status"] == "disputed"
    assert order["dispute_status"] == "needs_response"
    assert order["dispute"]["reason"] == "fraudulent"
    assert order["dispute"]["funds_withdrawn_cents"] == 2500
    assert reloaded(StubListing, listing.id).status == "sold"
    refused = as_buyer.post(f"/api/payments/orders/{checkout['order_id']}/refund", json={})
    assert refused.status_code == 409

    sandbox_pages().close_dispute(order["dispute"]["dispute_id"], won=True)

    order = _order(as_seller, checkout["order_id"])
    assert order["order_status"] == "payment_completed"
    assert order["dispute_status"] == "won"
    assert order["dispute"]["funds_reinstated_cents"] == 2500


def test_a_lost_dispute_keeps_the_order_disputed_with_the_outcome(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    checkout = _checkout(as_buyer, listing.id).json
    pay(as_buyer, checkout, CARD_DISPUTE)
    dispute_id = _order(as_buyer, checkout["order_id"])["dispute"]["dispute_id"]

    sandbox_pages().close_dispute(dispute_id, won=False)

    order = _order(as_buyer, checkout["order_id"])
    assert order["order_status"] == "disputed"
    assert order["dispute_status"] == "lost"
    assert "dispute" in order["status_reason"]
    dispute = db.session.scalars(select(StubDispute)).one()
    assert dispute.closed_at is not None


# --- permissions and transitions --------------------------------------------------------
def test_seller_cannot_buy_their_own_listing(app: Flask, seller: User) -> None:
    listing = listing_of(seller)
    response = _checkout(client_for(app, seller), listing.id)
    assert response.status_code == 403
    assert reloaded(StubListing, listing.id).status == "active"
    assert db.session.scalars(select(StubOrder)).all() == []


def test_only_the_parties_or_an_admin_see_an_order(app: Flask, seller: User, buyer: User) -> None:
    listing = listing_of(seller)
    order_id = _checkout(client_for(app, buyer), listing.id).json["order_id"]
    stranger = client_for(app, UserFactory.create())
    hidden = stranger.get(f"/api/payments/orders/{order_id}")
    missing = stranger.get("/api/payments/orders/999999")
    # To a stranger the order does not exist: nothing tells it apart from a missing id.
    assert (hidden.status_code, hidden.json) == (404, missing.json)
    assert missing.status_code == 404
    assert (
        client_for(app, AdminFactory.create()).get(f"/api/payments/orders/{order_id}").status_code
        == 200
    )
    assert anonymous_client(app).get(f"/api/payments/orders/{order_id}").status_code == 401
    assert client_for(app, buyer).get("/api/payments/orders/999999").status_code == 404


def test_non_owners_cannot_complete_or_refund(app: Flask, seller: User, buyer: User) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    checkout = _checkout(as_buyer, listing.id).json
    order_id = checkout["order_id"]
    pay(as_buyer, checkout, CARD_SUCCESS)
    stranger = client_for(app, UserFactory.create())
    as_seller = client_for(app, seller)

    # The seller is a party: refused, and told so.
    assert as_seller.post(f"/api/payments/orders/{order_id}/complete", json={}).status_code == 403
    assert as_seller.post(f"/api/payments/orders/{order_id}/refund", json={}).status_code == 403
    # A stranger learns nothing: the answer is the one for an id that does not exist.
    for action in ("complete", "refund"):
        hidden = stranger.post(f"/api/payments/orders/{order_id}/{action}", json={})
        missing = stranger.post(f"/api/payments/orders/999999/{action}", json={})
        assert (hidden.status_code, hidden.json) == (404, missing.json), action
        assert missing.status_code == 404
    assert _order(as_buyer, order_id)["order_status"] == "payment_completed"


def test_unpaid_orders_cannot_be_completed_or_refunded(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    order_id = _checkout(as_buyer, listing.id).json["order_id"]
    assert as_buyer.post(f"/api/payments/orders/{order_id}/complete", json={}).status_code == 409
    assert as_buyer.post(f"/api/payments/orders/{order_id}/refund", json={}).status_code == 409
    assert _order(as_buyer, order_id)["order_status"] == "pending"


def test_no_double_refund_and_completed_orders_are_refunded_by_admins_only(
    app: Flask, seller: User, buyer: User
) -> None:
    as_buyer = client_for(app, buyer)
    first = _checkout(as_buyer, listing_of(seller).id).json
    pay(as_buyer, first, CARD_SUCCESS)
    assert (
        as_buyer.post(f"/api/payments/orders/{first['order_id']}/refund", json={}).status_code
        == 200
    )
    again = as_buyer.post(f"/api/payments/orders/{first['order_id']}/refund", json={})
    assert again.status_code == 409
    assert "already been refunded" in again.json["message"]

    second = _checkout(as_buyer, listing_of(seller).id).json
    pay(as_buyer, second, CARD_SUCCESS)
    as_buyer.post(f"/api/payments/orders/{second['order_id']}/complete", json={})
    late = as_buyer.post(f"/api/payments/orders/{second['order_id']}/refund", json={})
    assert late.status_code == 403
    admin = client_for(app, AdminFactory.create())
    by_admin = admin.post(f"/api/payments/orders/{second['order_id']}/refund", json={"reason": "x"})
    assert by_admin.status_code == 200
    assert by_admin.json["order"]["order_status"] == "refunded"
    assert by_admin.json["order"]["amount_refunded_cents"] == 2500
    # Refund of a completed order re-activates its listing too.
    assert by_admin.json["order"]["listing_status"] == "active"


# --- checkout rules ---------------------------------------------------------------------
def test_repeating_checkout_returns_the_same_order_and_payment_intent(
    app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    as_buyer = client_for(app, buyer)
    first = _checkout(as_buyer, listing.id).json
    again = _checkout(as_buyer, listing.id).json
    assert again["order_id"] == first["order_id"]
    assert again["payment_intent_id"] == first["payment_intent_id"]
    assert again["client_secret"] == first["client_secret"]
    assert len(db.session.scalars(select(StubPayment)).all()) == 1
    other = _checkout(client_for(app, UserFactory.create()), listing.id)
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("price", "fee", "seller_amount"),
    # 10 % rounded half-up, at least 50 ¢ (PLATFORM_FEE_MINIMUM_CENTS).
    [(100, 50, 50), (555, 56, 499), (999_999, 100_000, 899_999)],
)
def test_amounts_come_from_the_server_and_add_up(
    app: Flask, seller: User, buyer: User, price: int, fee: int, seller_amount: int
) -> None:
    listing = listing_of(seller, price_cents=price)
    body = _checkout(client_for(app, buyer), listing.id).json
    assert (
        body["total_amount_cents"],
        body["platform_fee_cents"],
        body["seller_amount_cents"],
    ) == (
        price,
        fee,
        seller_amount,
    )
    assert body["platform_fee_cents"] + body["seller_amount_cents"] == body["total_amount_cents"]
    state = sandbox().retrieve_payment(body["stripe_account_id"], body["payment_intent_id"])
    assert state.status == "requires_payment_method"


def test_amounts_sent_by_the_client_are_refused(app: Flask, seller: User, buyer: User) -> None:
    listing = listing_of(seller)
    response = client_for(app, buyer).post(
        "/api/payments/create-payment-intent", json={"listing_id": listing.id, "amount": 1}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"amount": "is not a known field"}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, 422),
        ({"listing_id": "abc"}, 422),
        ({"listing_id": 0}, 422),
        ({"listing_id": 99999}, 404),
    ],
)
def test_bad_checkout_input_is_a_clear_error(
    app: Flask, buyer: User, payload: dict[str, Any], code: int
) -> None:
    response = client_for(app, buyer).post("/api/payments/create-payment-intent", json=payload)
    assert response.status_code == code
    assert response.json["status"] == "error"


def test_checkout_needs_login_and_json(app: Flask, seller: User, buyer: User) -> None:
    listing = listing_of(seller)
    anonymous = anonymous_client(app).post(
        "/api/payments/create-payment-intent", json={"listing_id": listing.id}
    )
    assert anonymous.status_code == 401
    form = client_for(app, buyer).post(
        "/api/payments/create-payment-intent", data={"listing_id": str(listing.id)}
    )
    assert form.status_code == 415


def test_a_seller_who_cannot_take_charges_cannot_be_paid(app: Flask, buyer: User) -> None:
    restricted = sandbox_seller(outcome="requirements_due")
    listing = listing_of(restricted)
    response = _checkout(client_for(app, buyer), listing.id)
    assert response.status_code == 409
    assert reloaded(StubListing, listing.id).status == "active"


class _Outage:
    """The provider is down for PaymentIntent creation (everything else delegates)."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        raise PaymentProviderUnavailable("Could not connect to Stripe (api.stripe.com)")


@pytest.fixture
def outage_app(app: Flask, base_settings: Settings) -> Iterator[Flask]:
    down = create_app(base_settings, payments=_Outage(sandbox(app)))  # type: ignore[arg-type]
    yield down
    with down.app_context():
        db.session.remove()
        db.engine.dispose()


def test_stripe_outage_during_checkout_leaves_no_half_state(
    app: Flask, outage_app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    down = outage_app
    with down.app_context():
        response = client_for(down, buyer).post(
            "/api/payments/create-payment-intent", json={"listing_id": listing.id}
        )
        db.session.remove()
    assert response.status_code == 503
    order = db.session.scalars(select(StubOrder)).one()
    assert order.order_status == "cancelled"
    assert "could not be started" in (order.status_reason or "")
    assert db.session.scalars(select(StubPayment)).all() == []
    assert reloaded(StubListing, listing.id).status == "active"
    # Once the provider is back, the same buyer can check out.
    assert _checkout(client_for(app, buyer), listing.id).status_code == 200


def test_a_repeated_checkout_during_an_outage_keeps_the_existing_order(
    app: Flask, outage_app: Flask, seller: User, buyer: User
) -> None:
    listing = listing_of(seller)
    first = _checkout(client_for(app, buyer), listing.id).json
    with outage_app.app_context():
        again = client_for(outage_app, buyer).post(
            "/api/payments/create-payment-intent", json={"listing_id": listing.id}
        )
        db.session.remove()
    assert again.status_code == 503
    assert _order(client_for(app, buyer), first["order_id"])["order_status"] == "pending"
    assert reloaded(StubListing, listing.id).status == "payment_pending"


def test_provider_refusal_during_checkout_leaves_no_half_state(app: Flask, buyer: User) -> None:
    seller = sandbox_seller()
    # Our copy says the account can take charges; the provider disagrees.
    stale = sandbox_seller(outcome="requirements_due")
    stale.stripe_charges_enabled = True
    db.session.commit()
    listing = listing_of(stale)
    response = _checkout(client_for(app, buyer), listing.id)
    assert response.status_code == 400
    assert "card_payments" in response.json["message"]
    assert reloaded(StubListing, listing.id).status == "active"
    assert db.session.scalars(select(StubOrder)).one().order_status == "cancelled"
    del seller


# --- onboarding -------------------------------------------------------------------------
def test_onboarding_again_returns_a_fresh_link_for_the_same_account(app: Flask) -> None:
    as_user = client_for(app, UserFactory.create())
    first = as_user.post("/api/payments/connect/onboard", json={})
    second = as_user.post("/api/payments/connect/onboard", json={})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["account_id"] == first.json["account_id"]
    assert second.json["onboarding_url"] != first.json["onboarding_url"]


def test_requirements_due_leaves_the_seller_restricted(app: Flask) -> None:
    user = UserFactory.create()
    as_user = client_for(app, user)
    link = as_user.post("/api/payments/connect/onboard", json={}).json["onboarding_url"]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert as_user.post(path, json={"outcome": "requirements_due"}).status_code == 200

    status = as_user.get("/api/payments/connect/status").json["account"]
    assert status["account_status"] == "restricted"
    assert status["can_accept_payments"] is False
    assert "external_account" in status["requirements_due"]
    # The link was single-use: visiting it again sends the browser to refresh_url.
    visited = as_user.get(path)
    assert visited.status_code == 302
    assert visited.headers["Location"].endswith("/api/payments/onboard/refresh")
    assert as_user.post(path, json={"outcome": "complete"}).status_code == 410
    refreshed = as_user.get("/api/payments/onboard/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json["onboarding_url"] != link
    browser = as_user.get("/api/payments/onboard/refresh", headers={"Accept": "text/html"})
    assert browser.status_code == 302


def test_onboarding_form_in_the_browser(app: Flask) -> None:
    as_user = client_for(app, UserFactory.create())
    link = as_user.post("/api/payments/connect/onboard", json={}).json["onboarding_url"]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = as_user.get(path)
    assert page.status_code == 200
    assert b"Complete onboarding" in page.data
    submitted = as_user.post(path, data={"outcome": "complete"})
    assert submitted.status_code == 303
    assert submitted.headers["Location"].endswith("/api/payments/onboard/return")
    assert as_user.get("/api/payments/onboard/return").json["account"]["can_accept_payments"]


def test_seller_pages_need_an_account(app: Flask) -> None:
    as_user = client_for(app, UserFactory.create())
    for path in (
        "/api/payments/connect/status",
        "/api/payments/connect/balance",
        "/api/payments/connect/dashboard",
        "/api/payments/onboard/refresh",
    ):
        assert as_user.get(path).status_code == 404, path


def test_dashboard_link_is_made_on_click(app: Flask, seller: User) -> None:
    as_seller = client_for(app, seller)
    first = as_seller.get("/api/payments/connect/dashboard").json["dashboard_url"]
    second = as_seller.get("/api/payments/connect/dashboard?redirect=true")
    assert second.status_code == 302
    assert second.headers["Location"] != first


def test_sandbox_checkout_page_in_the_browser(app: Flask, seller: User, buyer: User) -> None:
    as_buyer = client_for(app, buyer)
    checkout = _checkout(as_buyer, listing_of(seller).id).json
    path = "/" + checkout["sandbox_checkout_url"].split("://", 1)[1].split("/", 1)[1]
    page = as_buyer.get(path)
    assert page.status_code == 200
    assert b"$25.00" in page.data
    assert CARD_SUCCESS.encode() in page.data
    paid = as_buyer.post(path, data={"card_number": CARD_SUCCESS})
    assert b"Payment succeeded" in paid.data
    wrong_secret = as_buyer.get(path.split("?")[0] + "?client_secret=nope")
    assert wrong_secret.status_code == 404
    assert _order(as_buyer, checkout["order_id"])["order_status"] == "payment_completed"
