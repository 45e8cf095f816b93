"""The fee floor and the minimum price (PRODUCT.md, "Fee floor"; issue 16 point 1).

fee = max(10 % of the item price rounded half-up, PLATFORM_FEE_MINIMUM_CENTS = 50 ¢); a
stub is listed at LISTING_MIN_PRICE_CENTS = $1.00 or more; a listing priced below the
minimum (listed before it was raised) cannot be bought until its seller raises the price;
the listing forms say what the seller will receive.
"""

from __future__ import annotations

import pytest
from flask import Flask

from stubcollector.domain.errors import Conflict
from stubcollector.extensions import db
from stubcollector.models import StubOrder, User
from stubcollector.services import checkout
from tests.support.clients import client_for
from tests.support.factories import StubFactory, UserFactory
from tests.support.pages import HTML, csrf_token
from tests.support.payments import listing_of, sandbox_seller


@pytest.mark.parametrize(
    ("price", "fee", "seller_amount"),
    [(100, 50, 50), (500, 50, 450), (505, 51, 454), (5000, 500, 4500)],
)
def test_checkout_takes_the_rate_or_the_floor(
    app: Flask, price: int, fee: int, seller_amount: int
) -> None:
    listing = listing_of(sandbox_seller(), price)
    started = checkout.create_payment_intent(UserFactory.create(), listing.id)
    assert (started.platform_fee_cents, started.seller_amount_cents) == (fee, seller_amount)
    order = db.session.get(StubOrder, started.order_id)
    assert order is not None
    assert (order.platform_fee_cents, order.seller_amount_cents) == (fee, seller_amount)


def test_a_listing_below_the_minimum_waits_for_its_seller_to_raise_the_price(
    app: Flask,
) -> None:
    seller = sandbox_seller()
    # Listed at 75 ¢ when the minimum was Stripe's 50 ¢; the database still holds it.
    legacy = listing_of(seller, 75)
    buyer = UserFactory.create()
    buyer_client = client_for(app, buyer)

    shown = buyer_client.get(f"/api/marketplace/listings/{legacy.id}").json["listing"]
    assert shown["can_purchase"] is False
    assert shown["purchase_status_reason"] == (
        "this listing's price is below the $1.00 minimum; the seller has to raise it before "
        "it can be bought"
    )
    refused = buyer_client.post(
        "/api/payments/create-payment-intent", json={"listing_id": legacy.id}
    )
    assert refused.status_code == 409
    assert "below the $1.00 minimum" in refused.json["message"]
    assert db.session.query(StubOrder).count() == 0
    with pytest.raises(Conflict, match="below the"):
        checkout.create_payment_intent(buyer, legacy.id)

    seller_client = client_for(app, seller)
    selling_page = seller_client.get("/selling", headers=HTML).get_data(as_text=True)
    assert "Below the $1.00 minimum: raise the price to sell" in selling_page
    raised = seller_client.patch(
        f"/api/marketplace/listings/{legacy.id}", json={"asking_price": "1.00"}
    )
    assert raised.status_code == 200, raised.json
    started = checkout.create_payment_intent(buyer, legacy.id)
    assert (started.total_amount_cents, started.platform_fee_cents) == (100, 50)


def test_listing_forms_say_what_the_seller_will_receive(app: Flask) -> None:
    seller = sandbox_seller()
    client = client_for(app, seller)
    stub = StubFactory.create(owner=seller)
    page = client.get(f"/collection/stubs/{stub.id}", headers=HTML).get_data(as_text=True)
    assert "Enter a price to see what you will receive." in page
    assert "Our fee is 10% of the price, at least $0.50; the lowest price is $1.00." in page
    assert 'data-fee-bp="1000" data-fee-min="50" data-min-price="100"' in page
    assert "We pay Stripe's card processing fee." in page

    # A refused price re-renders the form with the figure for what was typed.
    url = f"/selling/stubs/{stub.id}"
    refused = client.post(
        url,
        data={"csrf_token": csrf_token(client, f"/collection/stubs/{stub.id}"),
              "asking_price": "0.99"},
        headers=HTML,
    )  # fmt: skip
    assert refused.status_code == 422
    assert "Enter a price to see what you will receive." in refused.get_data(as_text=True)

    listing = listing_of(seller, 2500)
    edit = client.get(f"/selling/listings/{listing.id}", headers=HTML).get_data(as_text=True)
    assert 'You will receive <strong class="money" data-fee-preview-seller>$22.50</strong>' in edit
    assert "(our fee <span data-fee-preview-fee>$2.50</span>)" in edit


def test_sellers_who_pay_stripe_themselves_are_told(make_app: object) -> None:
    app: Flask = make_app(stripe_account_liability="stripe")  # type: ignore[operator]
    with app.app_context():
        seller = sandbox_seller()
        user: User = seller
        listing = listing_of(user, 500)
        client = client_for(app, user)
        page = client.get(f"/selling/listings/{listing.id}", headers=HTML).get_data(as_text=True)
        assert "Stripe also takes its card processing fee from your balance." in page
        assert "data-fee-preview-seller>$4.50</strong>" in page
        db.session.remove()
