"""The sandbox behaves like Stripe for sellers' accounts and payouts (issue 16 point 10):
payouts that arrive or fail (even after reading paid), a seller disconnecting the
platform, a card-payments restriction, refusals replayed for a reused idempotency key, a
refused payout hold, a zero application fee. Each is driven from the sandbox's own
dashboard or port and reaches the app through its signed events and real handlers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, update

from stubcollector.adapters.payments.ports import CheckoutRequest, PaymentError
from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE, CARD_SUCCESS
from stubcollector.adapters.payments.sandbox.models import (
    SandboxBalanceTransaction,
    SandboxEvent,
)
from stubcollector.extensions import db
from stubcollector.models import SellerPayout, User
from stubcollector.services import checkout, onboarding
from stubcollector.services.marketplace.views import REASON_SELLER_DISCONNECTED
from tests.support.clients import anonymous_client, client_for
from tests.support.database import reloaded
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, pay, sandbox, sandbox_seller, token_of


def _dashboard(seller: User) -> str:
    return token_of(sandbox().dashboard_link(str(seller.stripe_account_id)))


def _sold(app: Flask, seller: User, card: str = CARD_SUCCESS, price: int = 2500) -> str:
    listing = listing_of(seller, price_cents=price)
    buyer = UserFactory.create()
    started = checkout.create_payment_intent(buyer, listing.id)
    response = pay(
        client_for(app, buyer), {"sandbox_checkout_url": started.sandbox_checkout_url}, card
    )
    assert response.status_code == 200, response.json
    return started.payment_intent_id


def _hold_has_passed() -> None:
    """The payout hold's days go by: every pending sandbox balance becomes available."""
    db.session.execute(
        update(SandboxBalanceTransaction).values(available_on=SandboxBalanceTransaction.created_at)
    )
    db.session.commit()


def test_a_payout_made_on_the_dashboard_arrives_then_is_returned_by_the_bank(app: Flask) -> None:
    seller = sandbox_seller()
    _sold(app, seller)
    _hold_has_passed()
    token = _dashboard(seller)
    client = anonymous_client(app)
    account = str(seller.stripe_account_id)
    assert sandbox().balance(account).available_cents == 2250

    made = client.post(f"/sandbox/dashboard/{token}/payouts", json={})

    assert made.status_code == 200, made.json
    payout = made.json["payout"]
    assert (payout["object"], payout["status"], payout["amount"]) == ("payout", "in_transit", 2250)
    assert sandbox().balance(account).available_cents == 0
    # payout.created is recorded, as Stripe would, but the app is not subscribed to it.
    created = db.session.scalars(
        select(SandboxEvent).where(SandboxEvent.type == "payout.created")
    ).one()
    assert created.delivered_at is None
    assert db.session.scalars(select(SellerPayout)).all() == []

    arrived = client.post(
        f"/sandbox/dashboard/{token}/payouts/{payout['id']}", json={"outcome": "paid"}
    )
    assert arrived.status_code == 200
    row = db.session.scalars(select(SellerPayout)).one()
    assert (row.payout_id, row.status, row.amount_cents) == (payout["id"], "paid", 2250)

    returned = client.post(
        f"/sandbox/dashboard/{token}/payouts/{payout['id']}", data={"outcome": "failed"}
    )
    assert returned.status_code == 303
    db.session.expire_all()
    row = db.session.scalars(select(SellerPayout)).one()
    assert (row.status, row.failure_code) == ("failed", "account_closed")
    assert sandbox().balance(account).available_cents == 2250  # back in the balance
    page = client.get(f"/sandbox/dashboard/{token}").get_data(as_text=True)
    assert f'data-payout-id="{payout["id"]}"' in page
    seller_page = client_for(app, seller).get("/seller/", headers={"Accept": "text/html"})
    assert "A payout to your bank failed" in seller_page.get_data(as_text=True)

    again = client.post(
        f"/sandbox/dashboard/{token}/payouts/{payout['id']}", json={"outcome": "paid"}
    )
    assert again.status_code == 409  # a failed payout stays failed
    empty = client.post(f"/sandbox/dashboard/{token}/payouts", json={})
    assert empty.status_code == 200  # the returned money can be paid out again


def test_nothing_available_means_no_payout(app: Flask) -> None:
    seller = sandbox_seller()
    _sold(app, seller)  # still within the hold
    refused = anonymous_client(app).post(
        f"/sandbox/dashboard/{_dashboard(seller)}/payouts", json={}
    )
    assert refused.status_code == 409
    assert "no available balance" in refused.json["message"]


def test_a_seller_disconnecting_on_the_dashboard_stops_their_sales(app: Flask) -> None:
    seller = sandbox_seller()
    listing = listing_of(seller)
    token = _dashboard(seller)
    client = anonymous_client(app)

    left = client.post(f"/sandbox/dashboard/{token}/disconnect", json={})

    assert left.status_code == 200
    assert left.json["application"]["object"] == "application"
    fresh = reloaded(User, seller.id)
    assert fresh.stripe_account_deauthorized_at is not None
    shown = client_for(app, UserFactory.create()).get(f"/api/marketplace/listings/{listing.id}")
    assert shown.json["listing"]["purchase_status_reason"] == REASON_SELLER_DISCONNECTED
    # Stripe no longer lets the platform reach the account.
    with pytest.raises(PaymentError, match="does not have access to account"):
        sandbox().retrieve_account(str(seller.stripe_account_id))
    with pytest.raises(PaymentError):
        sandbox().balance(str(seller.stripe_account_id))
    # The seller's own dashboard still opens and says so; leaving twice is refused.
    assert "disconnected" in client.get(f"/sandbox/dashboard/{token}").get_data(as_text=True)
    assert client.post(f"/sandbox/dashboard/{token}/disconnect", json={}).status_code == 409
    # The sweep leaves it alone; the seller page shows what we know without asking Stripe.
    assert str(seller.stripe_account_id) not in onboarding.accounts_due_for_refresh()
    page = client_for(app, fresh).get("/seller/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "We could not reach the payment provider" not in page.get_data(as_text=True)


def test_a_card_payments_restriction_on_the_dashboard_reaches_the_seller(app: Flask) -> None:
    seller = sandbox_seller()
    token = _dashboard(seller)
    client = anonymous_client(app)

    client.post(f"/sandbox/dashboard/{token}/card-payments", json={"outcome": "restrict"})

    types = set(db.session.scalars(select(SandboxEvent.type)))
    assert {"account.updated", "capability.updated"} <= types
    assert not reloaded(User, seller.id).can_accept_payments

    client.post(f"/sandbox/dashboard/{token}/card-payments", data={"outcome": "restore"})
    assert reloaded(User, seller.id).can_accept_payments
    bad = client.post(f"/sandbox/dashboard/{token}/card-payments", json={"outcome": "maybe"})
    assert bad.status_code == 409


def test_a_refusal_is_replayed_for_its_key_and_a_new_key_is_a_new_attempt(app: Flask) -> None:
    seller = sandbox_seller()
    account = str(seller.stripe_account_id)
    pi_id = _sold(app, seller, card=CARD_DISPUTE)
    gateway = sandbox()
    with pytest.raises(PaymentError, match="disputed") as first:
        gateway.refund(account, pi_id, idempotency_key="k:refund:1")
    assert gateway.retrieve_payment(account, pi_id).disputed
    dispute = db.session.scalar(
        select(SandboxEvent.payload).where(SandboxEvent.type == "charge.dispute.created")
    )
    gateway.hosted_pages.close_dispute(dispute["data"]["object"]["id"], won=True)

    # Stripe answers a reused key with its first answer, the refusal included...
    with pytest.raises(PaymentError) as replayed:
        gateway.refund(account, pi_id, idempotency_key="k:refund:1")
    assert replayed.value.message == first.value.message
    # ...and a new attempt, with its own key, is carried out.
    refund = gateway.refund(account, pi_id, idempotency_key="k:refund:2")
    assert refund.status == "succeeded"


def test_a_zero_application_fee_is_accepted_and_shown_as_none(app: Flask) -> None:
    seller = sandbox_seller()
    account = str(seller.stripe_account_id)
    gateway = sandbox()
    made = gateway.create_checkout(
        CheckoutRequest(
            order_id=77,
            account_id=account,
            amount_cents=2500,
            application_fee_cents=0,
            idempotency_key="k:order:77",
            description="no fee",
        )
    )
    assert made.application_fee_cents == 0
    created = db.session.scalar(
        select(SandboxEvent.payload).where(SandboxEvent.type == "payment_intent.created")
    )
    assert created["data"]["object"]["application_fee_amount"] is None
    gateway.hosted_pages.confirm_payment(made.payment_intent_id, made.client_secret, CARD_SUCCESS)
    assert gateway.balance(account).pending_cents == 2500  # all the seller's


def test_the_sandbox_refuses_a_payout_hold_where_stripe_carries_the_losses(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(stripe_account_liability="stripe")
    with app.app_context():
        seller = UserFactory.create()
        onboarding.start_onboarding(seller, return_url="http://t/r", refresh_url="http://t/f")
        fresh = reloaded(User, seller.id)
        assert fresh.stripe_payout_schedule_status == "skipped"
        assert "Stripe manages the payout schedule" in (fresh.stripe_payout_schedule_note or "")
        account = sandbox(app).retrieve_account(str(fresh.stripe_account_id))
        assert account.payout_delay_days == 2  # Stripe's minimum, not our 7
        db.session.remove()


def test_the_sandbox_refuses_a_hold_below_the_minimum(app: Flask) -> None:
    seller = sandbox_seller()
    with pytest.raises(PaymentError, match="minimum"):
        sandbox().set_payout_delay(str(seller.stripe_account_id), days=1, idempotency_key="k:1")
