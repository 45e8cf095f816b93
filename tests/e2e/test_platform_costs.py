"""What each order cost the platform, recorded from Stripe's own objects (issue 16 points 1
and 2), through the whole app: webhook deliveries, the fee reader, reconciliation, the
admin totals.

The first tests run the app on the Stripe backend against the fake Stripe API, with events
in Stripe's real shapes: ``payment_intent.succeeded`` carries ``latest_charge`` as an id
(never the expanded charge), the charge's balance transaction comes later (asynchronous
capture), the platform pays Stripe's fee (``controller.fees.payer=application``). The last
runs the same story on the sandbox.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE, CARD_SUCCESS
from stubcollector.container import container
from stubcollector.domain.economics import STRIPE_US_CARD
from stubcollector.extensions import db
from stubcollector.models import (
    ProviderEvent,
    StubDispute,
    StubOrder,
    StubOrderCost,
    StubPayment,
    User,
    utcnow,
)
from stubcollector.services import admin, checkout, reconcile
from tests.support.clients import anonymous_client, client_for
from tests.support.factories import AdminFactory, SellerFactory, UserFactory
from tests.support.pages import HTML
from tests.support.payments import listing_of, sandbox_pages, sandbox_seller
from tests.support.stripe_fake import FakeStripe, sign_webhook

PLATFORM_SECRET = "whsec_costs_platform"
CONNECT_SECRET = "whsec_costs_connect"
STRIPE_FEE = STRIPE_US_CARD.fee_for(2500)  # 103 ¢ on $25.00


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_app(
    make_app: Any, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    monkeypatch.setattr(stripe_gateway.stripe.HTTPClient, "_sleep_time_seconds", lambda *_: 0.0)
    app: Flask = make_app(
        payments_backend="stripe",
        stripe_secret_key="sk_test_costs",
        stripe_public_key="pk_test_costs",
        stripe_api_base=fake_stripe.url,
        stripe_webhook_secret=PLATFORM_SECRET,
        stripe_connect_webhook_secret=CONNECT_SECRET,
    )
    with app.app_context():
        yield app
        db.session.remove()


@dataclass
class StripeSale:
    order_id: int
    account: str
    pi_id: str
    charge: dict[str, Any]


def _stripe_seller(fake: FakeStripe) -> User:
    account = container().payments.create_seller_account(user_id=1, email="s@example.com")
    fake.complete_onboarding(account.account_id)
    seller: User = SellerFactory.create(stripe_account_id=account.account_id)
    return seller


def _paid_on_stripe(fake: FakeStripe, seller: User, *, settled: bool) -> StripeSale:
    started = checkout.create_payment_intent(UserFactory.create(), listing_of(seller).id)
    charge = fake.pay(
        started.stripe_account_id,
        started.payment_intent_id,
        stripe_fee=STRIPE_FEE,
        fee_payer="application",
        settled=settled,
    )
    return StripeSale(
        started.order_id, started.stripe_account_id, started.payment_intent_id, charge
    )


def _deliver(
    client: FlaskClient,
    fake: FakeStripe,
    event_type: str,
    data_object: dict[str, Any],
    *,
    account: str | None,
) -> dict[str, Any]:
    event = fake.add_event(event_type, copy.deepcopy(data_object), account=account)
    body = json.dumps(event).encode()
    secret, path = (
        (CONNECT_SECRET, "/api/payments/webhook/connect")
        if account
        else (PLATFORM_SECRET, "/api/payments/webhook")
    )
    response = client.post(
        path,
        data=body,
        headers={
            "Stripe-Signature": sign_webhook(body, secret),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.json
    stored = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == event["id"])
    ).one()
    db.session.refresh(stored)
    assert stored.last_error is None, stored.last_error
    return event


def _costs(order_id: int) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return [
        (c.kind, c.payer, c.amount_cents)
        for c in db.session.scalars(
            select(StubOrderCost)
            .where(StubOrderCost.order_id == order_id)
            .order_by(StubOrderCost.id)
        )
    ]


def _payment(order_id: int) -> StubPayment:
    db.session.expire_all()
    return db.session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).one()


def test_success_event_with_latest_charge_as_an_id_records_the_fee_once_it_exists(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    seller = _stripe_seller(fake_stripe)
    sale = _paid_on_stripe(fake_stripe, seller, settled=False)
    client = anonymous_client(stripe_app)
    intent = fake_stripe.payment_intents[(sale.account, sale.pi_id)]
    assert intent["latest_charge"] == sale.charge["id"]  # an id, as Stripe sends it

    _deliver(client, fake_stripe, "payment_intent.succeeded", intent, account=sale.account)

    order = db.session.get(StubOrder, sale.order_id)
    assert order is not None
    assert order.order_status == "payment_completed"
    # Not yet: the charge has no balance transaction (never recorded as a zero fee).
    assert (order.stripe_fee_cents, _costs(sale.order_id)) == (None, [])
    assert _payment(sale.order_id).costs_recorded_at is None

    charge = fake_stripe.settle_charge(sale.account, sale.charge["id"])
    _deliver(client, fake_stripe, "charge.updated", charge, account=sale.account)

    # Stripe's fee, billed to the platform: not our application fee (500 ¢ of it on the
    # seller's balance transaction is ours).
    assert _costs(sale.order_id) == [("processing_fee", "platform", STRIPE_FEE)]
    db.session.refresh(order)
    assert order.stripe_fee_cents == STRIPE_FEE
    payment = _payment(sale.order_id)
    assert payment.application_fee_id == sale.charge["application_fee"]
    assert payment.costs_recorded_at is not None

    # Another charge.updated (Stripe sends one for any change of the charge) records
    # nothing twice, and does not even ask Stripe again.
    reads = len(fake_stripe.requests_to("GET", f"/v1/payment_intents/{sale.pi_id}"))
    _deliver(client, fake_stripe, "charge.updated", charge, account=sale.account)
    assert _costs(sale.order_id) == [("processing_fee", "platform", STRIPE_FEE)]
    assert len(fake_stripe.requests_to("GET", f"/v1/payment_intents/{sale.pi_id}")) == reads


def test_reconciliation_reads_the_fee_when_no_event_brings_it(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    seller = _stripe_seller(fake_stripe)
    sale = _paid_on_stripe(fake_stripe, seller, settled=False)
    intent = fake_stripe.payment_intents[(sale.account, sale.pi_id)]
    _deliver(
        anonymous_client(stripe_app),
        fake_stripe,
        "payment_intent.succeeded",
        intent,
        account=sale.account,
    )
    first = reconcile.reconcile()
    assert (first.costs_checked, first.costs_recorded) == (1, 0)  # still not there

    fake_stripe.settle_charge(sale.account, sale.charge["id"])  # charge.updated is lost
    second = reconcile.reconcile()

    assert (second.costs_checked, second.costs_recorded) == (1, 1)
    assert _costs(sale.order_id) == [("processing_fee", "platform", STRIPE_FEE)]
    assert reconcile.reconcile().costs_checked == 0  # done with it


def test_application_fee_created_on_the_platform_endpoint_reads_the_charges_fees(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    seller = _stripe_seller(fake_stripe)
    sale = _paid_on_stripe(fake_stripe, seller, settled=False)
    client = anonymous_client(stripe_app)
    intent = fake_stripe.payment_intents[(sale.account, sale.pi_id)]
    _deliver(client, fake_stripe, "payment_intent.succeeded", intent, account=sale.account)
    fake_stripe.settle_charge(sale.account, sale.charge["id"])

    fee = fake_stripe.application_fees[sale.charge["application_fee"]]
    _deliver(client, fake_stripe, "application_fee.created", fee, account=None)

    assert _costs(sale.order_id) == [("processing_fee", "platform", STRIPE_FEE)]


def test_a_disputes_fee_billed_to_the_platform_is_recorded(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    seller = _stripe_seller(fake_stripe)
    sale = _paid_on_stripe(fake_stripe, seller, settled=True)
    client = anonymous_client(stripe_app)
    intent = fake_stripe.payment_intents[(sale.account, sale.pi_id)]
    _deliver(client, fake_stripe, "payment_intent.succeeded", intent, account=sale.account)

    dispute = fake_stripe.open_dispute(sale.account, sale.pi_id, fee_payer="application")
    _deliver(client, fake_stripe, "charge.dispute.created", dispute, account=sale.account)

    assert _costs(sale.order_id) == [
        ("processing_fee", "platform", STRIPE_FEE),
        ("dispute_fee", "platform", 1500),
    ]
    recorded = db.session.scalars(select(StubDispute)).one()
    assert (recorded.dispute_id, recorded.status) == (dispute["id"], "needs_response")
    total = admin.totals_over(admin.platform_totals(utcnow().date(), utcnow().date()))
    assert (total.fees_cents, total.stripe_fees_cents, total.dispute_fees_cents) == (
        250,
        STRIPE_FEE,
        1500,
    )
    assert total.net_revenue_cents == 250 - STRIPE_FEE - 1500


# --- the sandbox, where Stripe would put it ---------------------------------------------


def test_on_the_sandbox_the_admin_sees_what_sales_and_disputes_cost(app: Flask) -> None:
    seller = sandbox_seller()
    for card in (CARD_SUCCESS, CARD_DISPUTE):
        started = checkout.create_payment_intent(UserFactory.create(), listing_of(seller).id)
        sandbox_pages().confirm_payment(started.payment_intent_id, started.client_secret, card)

    total = admin.totals_over(admin.platform_totals(utcnow().date(), utcnow().date()))
    # Two $25.00 sales: 2 x $2.50 earned, 2 x $1.03 to Stripe, $15 for the dispute.
    assert (total.charges_count, total.fees_cents) == (2, 500)
    assert (total.stripe_fees_cents, total.dispute_fees_cents) == (2 * STRIPE_FEE, 1500)
    assert total.costs_unknown_count == 0
    assert total.net_revenue_cents == 500 - 2 * STRIPE_FEE - 1500

    page = client_for(app, AdminFactory.create()).get("/admin/", headers=HTML)
    html = page.get_data(as_text=True)
    assert 'id="total-fees-gross">$5.00<' in html
    assert 'id="total-stripe-fees">-$2.06<' in html
    assert 'id="total-dispute-fees">-$15.00<' in html
    assert 'id="total-net-revenue">-$12.06<' in html
