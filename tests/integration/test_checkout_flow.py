"""Checkout under concurrency, reservation expiry, late payments and reconciliation."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from stubcollector.adapters.payments.ports import (
    CheckoutRequest,
    CheckoutStatus,
    PaymentError,
    PaymentProviderUnavailable,
    WebhookEndpoint,
)
from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.adapters.payments.sandbox.models import SandboxEvent, SandboxPaymentIntent
from stubcollector.container import container
from stubcollector.domain.errors import Conflict
from stubcollector.extensions import db
from stubcollector.models import (
    ProviderEvent,
    StubDispute,
    StubListing,
    StubOrder,
    StubPayment,
    User,
    utcnow,
)
from stubcollector.services import checkout, reconcile, webhooks
from stubcollector.services.transaction import transaction
from tests.support.database import reloaded
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, sandbox, sandbox_pages, sandbox_seller
from tests.support.stripe_events import (
    dispute_payload,
    payment_intent_payload,
    signed,
    stripe_event,
)

BUYERS = 8


def _expire_hold(listing_id: int) -> None:
    db.session.execute(
        update(StubListing)
        .where(StubListing.id == listing_id)
        .values(reserved_until=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def test_many_buyers_check_out_one_listing_at_once_exactly_one_proceeds(app: Flask) -> None:
    listing_id = listing_of(sandbox_seller()).id
    buyer_ids = [UserFactory.create().id for _ in range(BUYERS)]
    db.session.remove()
    start = threading.Barrier(BUYERS)
    outcomes: dict[int, Any] = {}

    def attempt(buyer_id: int) -> None:
        with app.app_context():
            buyer = db.session.get(User, buyer_id)
            assert buyer is not None
            start.wait()
            try:
                outcomes[buyer_id] = checkout.create_payment_intent(buyer, listing_id)
            except Conflict:
                outcomes[buyer_id] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(b,)) for b in buyer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    winners = {b: o for b, o in outcomes.items() if o != "conflict"}
    assert len(outcomes) == BUYERS
    assert len(winners) == 1
    ((winner, result),) = winners.items()
    orders = db.session.scalars(select(StubOrder)).all()
    assert [(o.id, o.buyer_id) for o in orders] == [(result.order_id, winner)]
    assert db.session.scalar(select(func.count()).select_from(StubPayment)) == 1
    assert db.session.scalar(select(func.count()).select_from(SandboxPaymentIntent)) == 1
    assert reloaded(StubListing, listing_id).reserved_by_user_id == winner


def test_a_repeated_checkout_racing_the_first_stores_one_payment(app: Flask) -> None:
    # Two calls of one buyer can both see "no payment yet"; the provider's idempotency key
    # gives both the same PaymentIntent and the second insert meets the unique order_id.
    listing = listing_of(sandbox_seller())
    buyer = UserFactory.create()
    first = checkout.create_payment_intent(buyer, listing.id)
    repeat = checkout._reserve_and_create_order(buyer, listing.id, None)
    assert repeat.payment_exists
    made = sandbox().create_checkout(
        CheckoutRequest(
            order_id=repeat.order_id,
            account_id=repeat.account_id,
            amount_cents=repeat.split.total_cents,
            application_fee_cents=repeat.split.platform_fee_cents,
            idempotency_key=checkout.payment_intent_key(repeat.order_id),
            description=repeat.description,
            metadata=repeat.metadata,
        )
    )

    checkout._store_payment(dataclasses.replace(repeat, payment_key=None), made)

    payments = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == first.order_id)
    ).all()
    assert [p.payment_intent_id for p in payments] == [first.payment_intent_id]
    assert made.payment_intent_id == first.payment_intent_id


def test_expiry_cancels_the_order_and_its_payment_intent(app: Flask) -> None:
    listing = listing_of(sandbox_seller())
    buyer = UserFactory.create()
    result = checkout.create_payment_intent(buyer, listing.id)
    _expire_hold(listing.id)

    expired = checkout.release_expired()

    assert [(e.listing_id, e.cancelled_order_ids) for e in expired] == [
        (listing.id, (result.order_id,))
    ]
    assert reloaded(StubOrder, result.order_id).order_status == "cancelled"
    assert reloaded(StubListing, listing.id).status == "active"
    state = sandbox().retrieve_payment(result.stripe_account_id, result.payment_intent_id)
    assert state.status is CheckoutStatus.CANCELED
    payment = db.session.scalars(select(StubPayment)).one()
    assert payment.payment_status == "canceled"
    # The buyer can no longer pay the cancelled PaymentIntent.
    with pytest.raises(PaymentError):
        sandbox_pages().confirm_payment(
            result.payment_intent_id, result.client_secret, CARD_SUCCESS
        )
    assert checkout.release_expired() == []


def test_payment_after_a_lost_reservation_is_refunded_and_never_sells_twice(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = listing_of(sandbox_seller())
    late_buyer, new_buyer = UserFactory.create(), UserFactory.create()
    late = checkout.create_payment_intent(late_buyer, listing.id)
    _expire_hold(listing.id)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise PaymentProviderUnavailable("timed out")

    # The hold lapsed and someone else took the listing before any sweep ran; cancelling
    # the late buyer's PaymentIntent failed, so they can still pay it.
    monkeypatch.setattr(sandbox(), "cancel_checkout", unreachable)
    taken = checkout.create_payment_intent(new_buyer, listing.id)
    monkeypatch.undo()
    assert taken.order_id != late.order_id
    assert reloaded(StubOrder, late.order_id).order_status == "cancelled"

    sandbox_pages().confirm_payment(late.payment_intent_id, late.client_secret, CARD_SUCCESS)

    order = reloaded(StubOrder, late.order_id)
    assert order.order_status == "refunded"
    assert "refunded in full" in (order.status_reason or "")
    payment = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == late.order_id)
    ).one()
    assert (payment.payment_status, payment.amount_refunded_cents) == ("refunded", 2500)
    assert payment.refund_id is not None
    held = reloaded(StubListing, listing.id)
    assert (held.status, held.reserved_by_user_id) == ("payment_pending", new_buyer.id)

    sandbox_pages().confirm_payment(taken.payment_intent_id, taken.client_secret, CARD_SUCCESS)
    assert reloaded(StubOrder, taken.order_id).order_status == "payment_completed"
    assert reloaded(StubListing, listing.id).status == "sold"


@pytest.fixture
def endpoint_down(app: Flask) -> Iterator[list[str]]:
    """From now on the sandbox cannot reach our webhook endpoint; yields the failures."""
    gateway = sandbox(app)
    failures: list[str] = []

    def down(endpoint: WebhookEndpoint, payload: bytes, header: str) -> None:
        failures.append(endpoint.value)
        raise ConnectionError("webhook endpoint unreachable")

    gateway.connect_receiver(down)
    yield failures
    gateway.connect_receiver(webhooks.receive)


@pytest.fixture
def seller(app: Flask) -> User:
    return sandbox_seller()


def test_reconcile_recovers_missed_webhooks_and_is_safe_to_repeat(
    app: Flask, seller: User, endpoint_down: list[str]
) -> None:
    listing = listing_of(seller)
    result = checkout.create_payment_intent(UserFactory.create(), listing.id)
    sandbox_pages().confirm_payment(result.payment_intent_id, result.client_secret, CARD_SUCCESS)
    assert endpoint_down  # the success event could not be delivered
    assert reloaded(StubOrder, result.order_id).order_status == "pending"
    undelivered = db.session.scalars(
        select(SandboxEvent).where(SandboxEvent.type == "payment_intent.succeeded")
    ).one()
    assert undelivered.delivered_at is None
    assert "unreachable" in (undelivered.last_delivery_error or "")

    report = reconcile.reconcile()

    assert report.events_recovered >= 1
    assert report.errors == []
    assert reloaded(StubOrder, result.order_id).order_status == "payment_completed"
    assert reloaded(StubListing, listing.id).status == "sold"
    second = reconcile.reconcile()
    assert (second.events_recovered, second.payments_changed, second.refunds_settled) == (0, 0, 0)
    assert reloaded(StubOrder, result.order_id).order_status == "payment_completed"


def test_reconcile_re_reads_payment_intents_when_events_are_lost(
    app: Flask, seller: User, endpoint_down: list[str]
) -> None:
    listing = listing_of(seller)
    result = checkout.create_payment_intent(UserFactory.create(), listing.id)
    sandbox_pages().confirm_payment(result.payment_intent_id, result.client_secret, CARD_SUCCESS)
    # The provider has no record of the failed deliveries (older than its window).
    db.session.execute(update(SandboxEvent).values(created_at=utcnow() - timedelta(days=40)))
    db.session.commit()

    runner = app.test_cli_runner()
    outcome = runner.invoke(args=["payments", "reconcile"])

    assert outcome.exit_code == 0, outcome.output
    assert "changed: 1" in outcome.output
    order = reloaded(StubOrder, result.order_id)
    assert order.order_status == "payment_completed"
    assert order.stripe_fee_cents == 103
    # Recovered by re-reading the PaymentIntent, not from an event.
    stored = db.session.scalars(select(ProviderEvent.event_type)).all()
    assert "payment_intent.succeeded" not in stored


def test_failed_refund_stays_pending_and_reconcile_settles_it(app: Flask) -> None:
    listing = listing_of(sandbox_seller())
    buyer = UserFactory.create()
    result = checkout.create_payment_intent(buyer, listing.id)
    sandbox_pages().confirm_payment(result.payment_intent_id, result.client_secret, CARD_SUCCESS)
    with transaction() as session:
        session.execute(
            update(StubPayment)
            .where(StubPayment.order_id == result.order_id)
            .values(payment_status="refund_pending")
        )

    report = reconcile.reconcile()

    assert report.refunds_settled == 1
    assert reloaded(StubOrder, result.order_id).order_status == "refunded"
    assert reloaded(StubListing, listing.id).status == "active"
    assert reconcile.reconcile().refunds_settled == 0


def test_marketplace_sweep_command_cancels_the_payment_intent_too(app: Flask) -> None:
    listing = listing_of(sandbox_seller())
    sale = checkout.create_payment_intent(UserFactory.create(), listing.id)
    _expire_hold(listing.id)
    outcome = app.test_cli_runner().invoke(args=["marketplace", "release-expired"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 expired reservation(s) released" in outcome.output
    assert reloaded(StubListing, listing.id).status == "active"
    assert reloaded(StubOrder, sale.order_id).order_status == "cancelled"
    state = container().payments.retrieve_payment(sale.stripe_account_id, sale.payment_intent_id)
    assert state.status == "canceled"


def test_events_of_one_order_processed_at_the_same_time_reach_the_same_end_state(
    app: Flask, seller: User
) -> None:
    secret = container().settings.stripe_connect_webhook_secret
    seller_id = seller.id
    for _ in range(3):
        owner = db.session.get(User, seller_id)
        assert owner is not None
        listing_id = listing_of(owner).id
        sale = checkout.create_payment_intent(UserFactory.create(), listing_id)
        pi_id, account, charge_id = sale.payment_intent_id, sale.stripe_account_id, "ch_1"
        dispute = dispute_payload(
            dispute_id=f"dp_{pi_id}",
            charge_id=charge_id,
            pi_id=pi_id,
            amount=2500,
            status="needs_response",
        )
        events = [
            stripe_event(
                "payment_intent.succeeded",
                payment_intent_payload(
                    pi_id=pi_id,
                    amount=2500,
                    fee=250,
                    order_id=sale.order_id,
                    status="succeeded",
                    charge_id=charge_id,
                ),
                account=account,
                event_id=f"evt_s_{pi_id}",
            ),
            stripe_event(
                "charge.dispute.created", dispute, account=account, event_id=f"evt_c_{pi_id}"
            ),
            stripe_event(
                "charge.dispute.funds_withdrawn",
                dispute,
                account=account,
                event_id=f"evt_w_{pi_id}",
            ),
        ]
        db.session.remove()
        start = threading.Barrier(len(events))

        def deliver(event: dict[str, Any], start: threading.Barrier = start) -> None:
            body, headers = signed(event, secret)
            with app.app_context():
                start.wait()
                webhooks.receive(WebhookEndpoint.CONNECT, body, headers["Stripe-Signature"])
                db.session.remove()

        threads = [threading.Thread(target=deliver, args=(e,)) for e in events]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert reloaded(StubOrder, sale.order_id).order_status == "disputed"
        assert reloaded(StubListing, listing_id).status == "sold"
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(StubDispute)
                .where(StubDispute.dispute_id == f"dp_{pi_id}")
            )
            == 1
        )
        statuses = db.session.scalars(
            select(ProviderEvent.processing_status).where(
                ProviderEvent.event_id.like(f"evt_%_{pi_id}")
            )
        ).all()
        assert sorted(statuses) == ["processed"] * 3
