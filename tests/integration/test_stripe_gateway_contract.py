"""What every :class:`PaymentGateway` must do, run against the Stripe gateway.

The tests speak only the port's vocabulary. What a backend does *outside* the port (a
buyer paying on Stripe.js or the sandbox page, a seller finishing onboarding, the provider
signing an event) comes from the backend's :class:`GatewayHarness`, so the same tests can
run on the sandbox: add a ``"sandbox"`` param to the ``gateway`` fixture that builds its
harness (today the Stripe gateway runs against the fake Stripe API in
``tests/fakes/stripe_api.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import (
    Checkout,
    CheckoutRequest,
    CheckoutStatus,
    ConnectedAccount,
    InvalidWebhookSignature,
    PaymentError,
    PaymentGateway,
    WebhookEndpoint,
    WebhookEvent,
)
from stubcollector.config import Settings
from tests.fakes.stripe_api import FakeStripe, sign_webhook

PLATFORM_SECRET = "whsec_contract_platform"
CONNECT_SECRET = "whsec_contract_connect"


@dataclass
class GatewayHarness:
    gateway: PaymentGateway
    complete_onboarding: Callable[[str], None]
    """The seller finishes the provider's onboarding for this account."""
    pay: Callable[[Checkout], None]
    """The buyer pays the checkout with a card that succeeds."""
    signed_event: Callable[[str, dict[str, Any], str | None, WebhookEndpoint], tuple[bytes, str]]
    """(body, signature header) of an event as the provider would deliver it."""
    close: Callable[[], None]
    """Release what the harness started."""


def _stripe_harness(fake: FakeStripe) -> GatewayHarness:
    settings = Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": "sqlite://",
            "PAYMENTS_BACKEND": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_contract",
            "STRIPE_PUBLIC_KEY": "pk_test_contract",
            "STRIPE_WEBHOOK_SECRET": PLATFORM_SECRET,
            "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_SECRET,
            "STRIPE_API_BASE": fake.url,
        }
    )

    def signed_event(
        event_type: str, data_object: dict[str, Any], account: str | None, endpoint: WebhookEndpoint
    ) -> tuple[bytes, str]:
        event = fake.add_event(event_type, data_object, account=account, delivered=True)
        body = json.dumps(event).encode()
        secret = CONNECT_SECRET if endpoint is WebhookEndpoint.CONNECT else PLATFORM_SECRET
        return body, sign_webhook(body, secret)

    gateway = stripe_gateway.StripeGateway.from_settings(settings)

    def close() -> None:
        gateway.close()
        fake.stop()

    return GatewayHarness(
        gateway=gateway,
        complete_onboarding=fake.complete_onboarding,
        pay=lambda checkout: fake.pay(checkout.account_id, checkout.payment_intent_id),
        signed_event=signed_event,
        close=close,
    )


@pytest.fixture(params=["stripe"])
def gateway(request: pytest.FixtureRequest) -> Iterator[GatewayHarness]:
    builders = {"stripe": lambda: _stripe_harness(FakeStripe().start())}
    harness = builders[request.param]()
    yield harness
    harness.close()


def seller_account(harness: GatewayHarness, user_id: int = 1) -> ConnectedAccount:
    account = harness.gateway.create_seller_account(
        user_id=user_id, email=f"s{user_id}@example.com"
    )
    harness.complete_onboarding(account.account_id)
    return account


def checkout_for(account_id: str, order_id: int = 1, amount: int = 2500) -> CheckoutRequest:
    return CheckoutRequest(
        order_id=order_id,
        account_id=account_id,
        amount_cents=amount,
        application_fee_cents=amount // 10,
        idempotency_key=f"order:{order_id}:payment_intent",
        description=f"Order {order_id}",
    )


def test_gateway_satisfies_the_port(gateway: GatewayHarness) -> None:
    assert isinstance(gateway.gateway, PaymentGateway)
    assert gateway.gateway.name
    assert gateway.gateway.publishable_key is None or gateway.gateway.publishable_key.startswith(
        "pk_"
    )


def test_new_seller_account_is_not_ready_until_onboarded(gateway: GatewayHarness) -> None:
    payments = gateway.gateway

    created = payments.create_seller_account(user_id=5, email="seller@example.com")
    link = payments.onboarding_link(
        created.account_id,
        refresh_url="https://stubs.example/refresh",
        return_url="https://stubs.example/return",
    )
    before = payments.retrieve_account(created.account_id)
    gateway.complete_onboarding(created.account_id)
    after = payments.retrieve_account(created.account_id)

    assert created.account_id.startswith("acct_")
    assert not created.charges_enabled
    assert link.url
    assert link.expires_at > datetime.now(UTC)
    assert not before.charges_enabled
    assert not before.details_submitted
    assert after.charges_enabled
    assert after.payouts_enabled
    assert after.details_submitted
    assert after.requirements_due == ()
    assert after.disabled_reason is None


def test_creating_a_users_account_again_returns_the_same_account(gateway: GatewayHarness) -> None:
    first = gateway.gateway.create_seller_account(user_id=9, email="nine@example.com")
    again = gateway.gateway.create_seller_account(user_id=9, email="nine@example.com")

    assert again.account_id == first.account_id


def test_seller_tools(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)

    gateway.gateway.set_payout_delay(account.account_id, days=7)
    balance = gateway.gateway.balance(account.account_id)

    assert gateway.gateway.dashboard_link(account.account_id)
    assert (balance.available_cents, balance.pending_cents, balance.currency) == (0, 0, "usd")


def test_checkout_then_payment(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)

    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))
    unpaid = gateway.gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)
    gateway.pay(checkout)
    paid = gateway.gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)

    assert checkout.payment_intent_id.startswith("pi_")
    assert checkout.client_secret
    assert checkout.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert (checkout.amount_cents, checkout.application_fee_cents) == (2500, 250)
    assert checkout.account_id == account.account_id
    assert unpaid.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert unpaid.amount_received_cents == 0
    assert paid.status is CheckoutStatus.SUCCEEDED
    assert paid.charge_id is not None
    assert paid.amount_received_cents == 2500
    assert paid.amount_refunded_cents == 0
    assert paid.processing_fee_cents is None or paid.processing_fee_cents >= 0
    assert not paid.disputed


def test_checkout_is_idempotent_per_key(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)

    first = gateway.gateway.create_checkout(checkout_for(account.account_id))
    again = gateway.gateway.create_checkout(checkout_for(account.account_id))

    assert again.payment_intent_id == first.payment_intent_id


def test_checkout_belongs_to_its_sellers_account(gateway: GatewayHarness) -> None:
    seller = seller_account(gateway, user_id=1)
    other = seller_account(gateway, user_id=2)
    checkout = gateway.gateway.create_checkout(checkout_for(seller.account_id))

    with pytest.raises(PaymentError):
        gateway.gateway.retrieve_payment(other.account_id, checkout.payment_intent_id)


def test_full_and_partial_refunds(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))
    gateway.pay(checkout)

    partial = gateway.gateway.refund(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:refund:1",
        amount_cents=500, reason="requested_by_customer",
    )  # fmt: skip
    rest = gateway.gateway.refund(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:refund:2"
    )
    repeated = gateway.gateway.refund(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:refund:2"
    )
    state = gateway.gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)

    assert (partial.amount_cents, rest.amount_cents) == (500, 2000)
    assert partial.status in {"pending", "succeeded"}
    assert repeated.refund_id == rest.refund_id
    assert state.amount_refunded_cents == 2500


def test_refunding_more_than_was_paid_is_refused(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))
    gateway.pay(checkout)

    with pytest.raises(PaymentError):
        gateway.gateway.refund(
            account.account_id, checkout.payment_intent_id, idempotency_key="order:1:refund",
            amount_cents=2501,
        )  # fmt: skip


def test_cancel_is_idempotent(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))

    gateway.gateway.cancel_checkout(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:cancel"
    )
    gateway.gateway.cancel_checkout(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:cancel"
    )
    gateway.gateway.cancel_checkout(
        account.account_id, checkout.payment_intent_id, idempotency_key="order:1:cancel:again"
    )
    state = gateway.gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)

    assert state.status is CheckoutStatus.CANCELED


def test_a_paid_checkout_cannot_be_cancelled(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))
    gateway.pay(checkout)

    with pytest.raises(PaymentError):
        gateway.gateway.cancel_checkout(
            account.account_id, checkout.payment_intent_id, idempotency_key="order:1:cancel"
        )
    state = gateway.gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.SUCCEEDED


def test_webhook_events_verify_and_parse(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    checkout = gateway.gateway.create_checkout(checkout_for(account.account_id))
    data_object = {"id": checkout.payment_intent_id, "object": "payment_intent", "amount": 2500}

    body, header = gateway.signed_event(
        "payment_intent.succeeded", data_object, account.account_id, WebhookEndpoint.CONNECT
    )
    event = gateway.gateway.parse_webhook(body, header, WebhookEndpoint.CONNECT)

    assert isinstance(event, WebhookEvent)
    assert event.event_id.startswith("evt_")
    assert event.type == "payment_intent.succeeded"
    assert event.account == account.account_id
    assert event.data_object["id"] == checkout.payment_intent_id
    assert event.payload["id"] == event.event_id
    assert abs(event.created - time.time()) < 3600


def test_webhook_events_with_a_bad_signature_are_refused(gateway: GatewayHarness) -> None:
    account = seller_account(gateway)
    body, header = gateway.signed_event(
        "account.updated", {"id": account.account_id, "object": "account"},
        account.account_id, WebhookEndpoint.CONNECT,
    )  # fmt: skip

    with pytest.raises(InvalidWebhookSignature):
        gateway.gateway.parse_webhook(body + b" ", header, WebhookEndpoint.CONNECT)
    with pytest.raises(InvalidWebhookSignature):
        gateway.gateway.parse_webhook(body, None, WebhookEndpoint.CONNECT)
    with pytest.raises(InvalidWebhookSignature):
        gateway.gateway.parse_webhook(body, header, WebhookEndpoint.PLATFORM)


def test_undelivered_events_is_a_sequence_of_events(gateway: GatewayHarness) -> None:
    events = gateway.gateway.undelivered_events(
        since=datetime.now(UTC) - timedelta(days=1), types=["payment_intent.succeeded"]
    )

    assert all(isinstance(e, WebhookEvent) for e in events)
