"""What the sandbox does beyond the shared contract (``test_payment_gateway_contract.py``):
its checkout page answers a declined test card at once, and its refunds settle at once."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from stubcollector.adapters.payments.ports import CardDeclined, CheckoutRequest, PaymentError
from stubcollector.adapters.payments.sandbox import (
    CARD_DECLINED,
    CARD_INSUFFICIENT_FUNDS,
    CARD_SUCCESS,
)
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent
from stubcollector.models.sandbox import SandboxEvent
from stubcollector.services import webhooks
from tests.payments_support import sandbox, token_of


def _ready_account(app: Flask, user_id: int) -> str:
    gateway = sandbox(app)
    account = gateway.create_seller_account(user_id=user_id, email=f"s{user_id}@example.com")
    link = gateway.onboarding_link(
        account.account_id, refresh_url="http://t/refresh", return_url="http://t/return"
    )
    gateway.complete_onboarding(token_of(link.url), "complete")
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
        gateway.confirm_payment(checkout.payment_intent_id, checkout.client_secret, card)
    assert declined.value.decline_code == code


def test_refunds_succeed_at_once(app: Flask) -> None:
    gateway = sandbox(app)
    account = _ready_account(app, 2)
    checkout = gateway.create_checkout(_request(account, 2))
    gateway.confirm_payment(checkout.payment_intent_id, checkout.client_secret, CARD_SUCCESS)

    refund = gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")

    assert (refund.status, refund.amount_cents) == ("succeeded", 2500)


def test_reusing_a_key_with_other_parameters_says_so(app: Flask) -> None:
    gateway = sandbox(app)
    request = _request(_ready_account(app, 3), 3)
    gateway.create_checkout(request)
    changed = CheckoutRequest(**{**request.__dict__, "amount_cents": 3000})
    with pytest.raises(PaymentError, match="idempotent"):
        gateway.create_checkout(changed)


def test_only_subscribed_event_types_are_sent_to_the_webhook_endpoint(app: Flask) -> None:
    # Stripe sends an endpoint only its enabled event types; the app subscribes the sandbox
    # to the handled ones, so `payment_intent.created` is recorded but never delivered.
    gateway = sandbox(app)
    checkout = gateway.create_checkout(_request(_ready_account(app, 4), 4))
    gateway.confirm_payment(checkout.payment_intent_id, checkout.client_secret, CARD_SUCCESS)

    sent = dict(
        db.session.execute(select(SandboxEvent.type, SandboxEvent.delivered_at.is_not(None))).all()
    )
    received = set(db.session.scalars(select(ProviderEvent.event_type)))
    assert sent["payment_intent.created"] is False
    assert sent["payment_intent.succeeded"] is True
    assert "payment_intent.created" not in received
    assert "payment_intent.succeeded" in received
    assert "payment_intent.created" not in webhooks.SUBSCRIBED_EVENT_TYPES
