"""One behaviour suite for every PaymentGateway implementation.

The ``harness`` fixture is parametrized over the implementations; each parameter supplies
the gateway plus the few things only a test can do with that backend (make an account
that can take charges, pay with a test card, sign a webhook). The Stripe adapter joins by
adding a parameter that points the SDK at a fake Stripe server.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask

from stubcollector.adapters.payments.ports import (
    CardDeclined,
    Checkout,
    CheckoutRequest,
    CheckoutStatus,
    InvalidWebhookSignature,
    PaymentError,
    PaymentGateway,
    WebhookEndpoint,
)
from stubcollector.adapters.payments.sandbox import (
    CARD_DECLINED,
    CARD_INSUFFICIENT_FUNDS,
    CARD_SUCCESS,
)
from stubcollector.adapters.payments.sandbox.signing import signature_header
from stubcollector.container import container
from stubcollector.models import utcnow
from tests.payments_support import sandbox, token_of

_user_ids = itertools.count(10_000)


@dataclass
class GatewayHarness:
    gateway: PaymentGateway
    # A connected account that has finished onboarding (charges enabled).
    ready_account: Callable[[], str]
    # Confirm a checkout with one of Stripe's test card numbers.
    pay: Callable[[Checkout, str], None]
    # A valid Stripe-Signature header for ``payload`` on ``endpoint`` at ``timestamp``.
    sign: Callable[[bytes, WebhookEndpoint, int | None], str]


def _sandbox_harness(app: Flask) -> GatewayHarness:
    gateway = sandbox(app)
    settings = container(app).settings

    def ready_account() -> str:
        user_id = next(_user_ids)
        account = gateway.create_seller_account(user_id=user_id, email=f"s{user_id}@example.com")
        link = gateway.onboarding_link(
            account.account_id, refresh_url="http://t/refresh", return_url="http://t/return"
        )
        gateway.complete_onboarding(token_of(link.url), "complete")
        return account.account_id

    def pay(checkout: Checkout, card: str) -> None:
        gateway.confirm_payment(checkout.payment_intent_id, checkout.client_secret, card)

    def sign(payload: bytes, endpoint: WebhookEndpoint, timestamp: int | None) -> str:
        secret = (
            settings.stripe_connect_webhook_secret
            if endpoint is WebhookEndpoint.CONNECT
            else settings.stripe_webhook_secret
        )
        return signature_header(payload, secret, timestamp)

    return GatewayHarness(gateway, ready_account, pay, sign)


@pytest.fixture(params=["sandbox"])
def harness(request: pytest.FixtureRequest, app: Flask) -> Iterator[GatewayHarness]:
    if request.param == "sandbox":
        yield _sandbox_harness(app)


_keys = itertools.count(1)


def _request(
    account: str, amount: int = 2500, fee: int = 250, key: str | None = None
) -> CheckoutRequest:
    order_id = next(_keys)
    return CheckoutRequest(
        order_id=order_id,
        account_id=account,
        amount_cents=amount,
        application_fee_cents=fee,
        idempotency_key=key or f"order:{order_id}:payment_intent:{time.time_ns()}",
        description=f"contract order {order_id}",
        metadata={"order_id": str(order_id)},
    )


def test_gateway_satisfies_the_protocol(harness: GatewayHarness) -> None:
    assert isinstance(harness.gateway, PaymentGateway)
    assert harness.gateway.name
    assert harness.gateway.publishable_key


def test_seller_account_is_created_once_per_user(harness: GatewayHarness) -> None:
    user_id = next(_user_ids)
    first = harness.gateway.create_seller_account(user_id=user_id, email="a@example.com")
    again = harness.gateway.create_seller_account(user_id=user_id, email="a@example.com")
    assert first.account_id == again.account_id
    assert first.account_id.startswith("acct_")
    assert not first.charges_enabled
    read = harness.gateway.retrieve_account(first.account_id)
    assert read.account_id == first.account_id
    assert read.requirements_due


def test_onboarding_link_expires_and_onboarding_enables_charges(harness: GatewayHarness) -> None:
    account_id = harness.ready_account()
    link = harness.gateway.onboarding_link(
        account_id, refresh_url="http://t/refresh", return_url="http://t/return"
    )
    assert link.url.startswith("http")
    assert utcnow() < link.expires_at <= utcnow() + timedelta(days=1)
    account = harness.gateway.retrieve_account(account_id)
    assert account.charges_enabled
    assert account.payouts_enabled
    assert account.details_submitted
    harness.gateway.set_payout_delay(account_id, days=7)
    balance = harness.gateway.balance(account_id)
    assert (balance.available_cents, balance.pending_cents, balance.currency) == (0, 0, "usd")
    assert harness.gateway.dashboard_link(account_id).startswith("http")


def test_unknown_account_is_a_payment_error(harness: GatewayHarness) -> None:
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_account("acct_doesnotexist0")
    with pytest.raises(PaymentError):
        harness.gateway.create_checkout(_request("acct_doesnotexist0"))


def test_checkout_is_a_direct_charge_and_idempotent(harness: GatewayHarness) -> None:
    account = harness.ready_account()
    request = _request(account, 2500, 250)
    checkout = harness.gateway.create_checkout(request)
    assert checkout.payment_intent_id.startswith("pi_")
    assert checkout.client_secret.startswith(checkout.payment_intent_id + "_secret_")
    assert checkout.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert (checkout.account_id, checkout.amount_cents, checkout.application_fee_cents) == (
        account,
        2500,
        250,
    )
    again = harness.gateway.create_checkout(request)
    assert again.payment_intent_id == checkout.payment_intent_id
    changed = CheckoutRequest(**{**request.__dict__, "amount_cents": 3000})
    with pytest.raises(PaymentError, match="idempotent"):
        harness.gateway.create_checkout(changed)


def test_checkout_on_an_account_without_charges_is_refused(harness: GatewayHarness) -> None:
    account = harness.gateway.create_seller_account(user_id=next(_user_ids), email="x@example.com")
    with pytest.raises(PaymentError):
        harness.gateway.create_checkout(_request(account.account_id))


def test_pay_refund_and_read_back(harness: GatewayHarness) -> None:
    account = harness.ready_account()
    checkout = harness.gateway.create_checkout(_request(account, 2500, 250))
    with pytest.raises(PaymentError):
        harness.gateway.refund(account, checkout.payment_intent_id, idempotency_key="early")

    harness.pay(checkout, CARD_SUCCESS)

    state = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.SUCCEEDED
    assert state.charge_id is not None
    assert state.charge_id.startswith("ch_")
    assert state.amount_received_cents == 2500
    with pytest.raises(PaymentError):
        harness.gateway.cancel_checkout(account, checkout.payment_intent_id, idempotency_key="c1")

    refund = harness.gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")
    assert refund.refund_id.startswith("re_")
    assert (refund.status, refund.amount_cents) == ("succeeded", 2500)
    repeat = harness.gateway.refund(account, checkout.payment_intent_id, idempotency_key="r1")
    assert repeat.refund_id == refund.refund_id
    with pytest.raises(PaymentError):
        harness.gateway.refund(account, checkout.payment_intent_id, idempotency_key="r2")
    assert (
        harness.gateway.retrieve_payment(account, checkout.payment_intent_id).amount_refunded_cents
        == 2500
    )


def test_payment_intents_live_on_their_connected_account(harness: GatewayHarness) -> None:
    owner, other = harness.ready_account(), harness.ready_account()
    checkout = harness.gateway.create_checkout(_request(owner))
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_payment(other, checkout.payment_intent_id)


@pytest.mark.parametrize(
    ("card", "code"),
    [(CARD_DECLINED, "generic_decline"), (CARD_INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_declined_cards(harness: GatewayHarness, card: str, code: str) -> None:
    account = harness.ready_account()
    checkout = harness.gateway.create_checkout(_request(account))
    with pytest.raises(CardDeclined) as declined:
        harness.pay(checkout, card)
    assert declined.value.decline_code == code
    state = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert state.failure_code == code


def test_cancel_is_idempotent(harness: GatewayHarness) -> None:
    account = harness.ready_account()
    checkout = harness.gateway.create_checkout(_request(account))
    harness.gateway.cancel_checkout(account, checkout.payment_intent_id, idempotency_key="k1")
    harness.gateway.cancel_checkout(account, checkout.payment_intent_id, idempotency_key="k2")
    state = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.CANCELED


def _event(account: str | None) -> bytes:
    event = {
        "id": "evt_contract_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": "pi_contract", "object": "payment_intent"}},
    }
    if account:
        event["account"] = account
    return json.dumps(event).encode()


def test_webhook_signatures(harness: GatewayHarness) -> None:
    payload = _event("acct_contract")
    connect = WebhookEndpoint.CONNECT
    event = harness.gateway.parse_webhook(payload, harness.sign(payload, connect, None), connect)
    assert (event.event_id, event.type, event.account) == (
        "evt_contract_1",
        "payment_intent.succeeded",
        "acct_contract",
    )
    assert event.data_object["id"] == "pi_contract"
    platform_signed = harness.sign(payload, WebhookEndpoint.PLATFORM, None)
    stale = harness.sign(payload, connect, int(time.time()) - 301)
    for header in (platform_signed, stale, None, "t=1,v1=abc", "garbage"):
        with pytest.raises(InvalidWebhookSignature):
            harness.gateway.parse_webhook(payload, header, connect)
    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(payload + b" ", harness.sign(payload, connect, None), connect)
