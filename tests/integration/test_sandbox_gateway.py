"""What the sandbox does beyond the shared contract (``test_payment_gateway_contract.py``):
its checkout page answers a declined test card at once, its refunds settle at once except
with Stripe's refund test cards (7726: pending until decided on the dashboard; 5126:
succeeded, then failed), and each refund change is an event."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from stubcollector.adapters.payments.ports import CardDeclined, CheckoutRequest, PaymentError
from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_INSUFFICIENT_FUNDS,
    CARD_REFUND_FAILS,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
    TEST_CARDS,
)
from stubcollector.adapters.payments.sandbox.models import SandboxEvent
from stubcollector.domain.errors import NotFound
from stubcollector.domain.statuses import RefundStatus
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent
from stubcollector.services import webhooks
from tests.support.payments import sandbox, token_of


def _ready_account(app: Flask, user_id: int) -> str:
    gateway = sandbox(app)
    account = gateway.create_seller_account(user_id=user_id, email=f"s{user_id}@example.com")
    link = gateway.onboarding_link(
        account.account_id, refresh_url="http://t/refresh", return_url="http://t/return"
    )
    gateway.hosted_pages.complete_onboarding(token_of(link.url), "complete")
    return account.account_id


def _request(account: str, order_id: int) -> CheckoutRequest:
    return CheckoutRequest(
        order_id=order_id,
        account_id=account,
        amount_cents=2500,
        application_fee_cents=250,
        idempotency_key=f"order:{order_id}:payment_intent",
        description=f"sandbox order {order_id}",
    )


@pytest.mark.parametrize(
    ("card", "code"),
    [(CARD_DECLINED, "generic_decline"), (CARD_INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_the_checkout_page_answers_a_declined_card(app: Flask, card: str, code: str) -> None:
    gateway = sandbox(app)
    checkout = gateway.create_checkout(_request(_ready_account(app, 1), 1))
    with pytest.raises(CardDeclined) as declined:
        gateway.hosted_pages.confirm_payment(
            checkout.payment_intent_id, checkout.client_secret, card
        )
    assert declined.value.decline_code == code


def test_refunds_succeed_at_once(app: Flask) -> None:
    gateway = sandbox(app)
    account = _ready_account(app, 2)
    checkout = gateway.create_checkout(_request(account, 2))
    gateway.hosted_pages.confirm_payment(
        checkout.payment_intent_id, checkout.client_secret, CARD_SUCCESS
    )

    refund = gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")

    assert (refund.status, refund.amount_cents) == ("succeeded", 2500)


def test_reusing_a_key_with_other_parameters_says_so(app: Flask) -> None:
    gateway = sandbox(app)
    request = _request(_ready_account(app, 3), 3)
    gateway.create_checkout(request)
    changed = CheckoutRequest(**{**request.__dict__, "amount_cents": 3000})
    with pytest.raises(PaymentError, match="idempotent"):
        gateway.create_checkout(changed)


def _events(account: str) -> list[tuple[str, str | None, str | None]]:
    """(type, refund status, failure_reason) of the account's refund events, in order."""
    rows = db.session.scalars(
        select(SandboxEvent)
        .where(SandboxEvent.account_id == account, SandboxEvent.type.like("%refund%"))
        .order_by(SandboxEvent.created_at, SandboxEvent.id)
    ).all()
    found = []
    for row in rows:
        data = row.payload["data"]["object"]
        refund = data["refunds"]["data"][-1] if data["object"] == "charge" else data
        found.append((row.type, refund["status"], refund.get("failure_reason")))
    return found


def test_the_refund_test_cards_are_offered_on_the_checkout_page() -> None:
    assert CARD_REFUND_PENDING == "4000000000007726"
    assert CARD_REFUND_FAILS == "4000000000005126"
    assert "pending" in TEST_CARDS[CARD_REFUND_PENDING]
    assert "fail" in TEST_CARDS[CARD_REFUND_FAILS]


def test_a_refund_of_the_7726_card_stays_pending_until_it_is_decided(app: Flask) -> None:
    gateway = sandbox(app)
    account = _ready_account(app, 4)
    checkout = gateway.create_checkout(_request(account, 4))
    gateway.hosted_pages.confirm_payment(
        checkout.payment_intent_id, checkout.client_secret, CARD_REFUND_PENDING
    )

    refund = gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")
    balance_while_pending = gateway.balance(account)
    gateway.hosted_pages.settle_refund(refund.refund_id, succeed=False)

    assert refund.status is RefundStatus.PENDING
    assert gateway.retrieve_refund(account, refund.refund_id).status is RefundStatus.FAILED
    assert _events(account) == [
        ("refund.created", "pending", None),
        ("charge.refunded", "pending", None),
        ("refund.updated", "failed", "lost_or_stolen_card"),
        ("charge.refund.updated", "failed", "lost_or_stolen_card"),
        ("refund.failed", "failed", "lost_or_stolen_card"),
    ]
    # The failed refund's money is back with the seller (the platform's fee too).
    assert (balance_while_pending.available_cents, balance_while_pending.pending_cents) == (0, 0)
    after = gateway.balance(account)
    assert (after.available_cents, after.pending_cents) == (0, 2250)
    with pytest.raises(PaymentError, match="already failed"):
        gateway.hosted_pages.settle_refund(refund.refund_id, succeed=True)
    with pytest.raises(NotFound):
        gateway.hosted_pages.settle_refund("re_unknown", succeed=True)


def test_a_refund_of_the_5126_card_succeeds_then_fails(app: Flask) -> None:
    gateway = sandbox(app)
    account = _ready_account(app, 5)
    checkout = gateway.create_checkout(_request(account, 5))
    gateway.hosted_pages.confirm_payment(
        checkout.payment_intent_id, checkout.client_secret, CARD_REFUND_FAILS
    )

    refund = gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")

    assert refund.status is RefundStatus.SUCCEEDED  # it looks fine at first ...
    read = gateway.retrieve_refund(account, refund.refund_id)
    assert (read.status, read.failure_reason) == (RefundStatus.FAILED, "expired_or_canceled_card")
    assert [event[:2] for event in _events(account)] == [
        ("refund.created", "succeeded"),
        ("charge.refunded", "succeeded"),
        ("refund.updated", "failed"),
        ("charge.refund.updated", "failed"),
        ("refund.failed", "failed"),
    ]


def test_the_dashboard_decides_a_pending_refund(app: Flask) -> None:
    gateway = sandbox(app)
    account = _ready_account(app, 6)
    checkout = gateway.create_checkout(_request(account, 6))
    gateway.hosted_pages.confirm_payment(
        checkout.payment_intent_id, checkout.client_secret, CARD_REFUND_PENDING
    )
    refund = gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")
    token = token_of(gateway.dashboard_link(account))
    client = app.test_client()

    page = client.get(f"/sandbox/dashboard/{token}").get_data(as_text=True)
    assert f'data-refund-id="{refund.refund_id}"' in page
    assert "Refund fails" in page
    other = token_of(gateway.dashboard_link(_ready_account(app, 7)))
    stranger = client.post(
        f"/sandbox/dashboard/{other}/refunds/{refund.refund_id}", json={"outcome": "failed"}
    )
    assert stranger.status_code == 404
    bad = client.post(f"/sandbox/dashboard/{token}/refunds/{refund.refund_id}", json={})
    assert bad.status_code == 409
    decided = client.post(
        f"/sandbox/dashboard/{token}/refunds/{refund.refund_id}", data={"outcome": "succeeded"}
    )
    assert decided.status_code == 303
    assert gateway.retrieve_refund(account, refund.refund_id).status is RefundStatus.SUCCEEDED
    assert "Refund fails" not in client.get(f"/sandbox/dashboard/{token}").get_data(as_text=True)


def test_only_subscribed_event_types_are_sent_to_the_webhook_endpoint(app: Flask) -> None:
    # Stripe sends an endpoint only its enabled event types; the app subscribes the sandbox
    # to the handled ones, so `payment_intent.created` is recorded but never delivered.
    gateway = sandbox(app)
    checkout = gateway.create_checkout(_request(_ready_account(app, 4), 4))
    gateway.hosted_pages.confirm_payment(
        checkout.payment_intent_id, checkout.client_secret, CARD_SUCCESS
    )

    sent = dict(
        db.session.execute(select(SandboxEvent.type, SandboxEvent.delivered_at.is_not(None))).all()
    )
    received = set(db.session.scalars(select(ProviderEvent.event_type)))
    assert sent["payment_intent.created"] is False
    assert sent["payment_intent.succeeded"] is True
    assert "payment_intent.created" not in received
    assert "payment_intent.succeeded" in received
    assert "payment_intent.created" not in webhooks.SUBSCRIBED_EVENT_TYPES
