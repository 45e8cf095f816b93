"""One behaviour suite for every PaymentGateway implementation (issue #5).

The ``harness`` fixture is parametrized over the implementations: the sandox, and the
Stripe gateway talking to the fake Stripe API (``tests/support/stripe_fake.py``). The tests
speak only the port's vocabulary; what a backend does *outside* the port (a seller
finishing onboarding, a buyer paying or being declined on Stripe.js or the sandbox page,
the provider building and signing an event) comes from the backend's
:class:`GatewayHarness`. Behaviour only one backend has is tested in its own module:
``test_sandbox_gateway.py`` and ``test_stripe_gateway.py``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import (
    CardDeclined,
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
from stubcollector.adapters.payments.sandbox.cards import (
    CARD_DECLINED,
    CARD_DISPUTE,
    CARD_INSUFFICIENT_FUNDS,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
)
from stubcollector.adapters.payments.sandbox.objects import new_id
from stubcollector.adapters.payments.sandbox.signing import signature_header
from stubcollector.config import Settings
from stubcollector.container import container
from stubcollector.domain.economics import STRIPE_US_CARD, CostKind, FeePayer
from stubcollector.domain.statuses import RefundStatus
from stubcollector.models import utcnow
from tests.support.payments import sandbox, token_of
from tests.support.stripe_fake import FakeStripe, sign_webhook

PLATFORM_SECRET = "whsec_contract_platform"
CONNECT_SECRET = "whsec_contract_connect"


@dataclass
class GatewayHarness:
    gateway: PaymentGateway
    complete_onboarding: Callable[[str], None]
    """The seller finishes the provider's onboarding for this account."""
    pay: Callable[[Checkout], None]
    """The buyer pays the checkout with a card that succeeds."""
    decline: Callable[[Checkout, str], None]
    """The buyer's card is declined with this decline code."""
    event_body: Callable[[str, dict[str, Any], str | None], bytes]
    """An event (type, data.object, account) as the provider would deliver it."""
    sign: Callable[[bytes, WebhookEndpoint, int | None], str]
    """The provider's Stripe-Signature for a body on an endpoint (at a given time)."""
    pay_with_pending_refunds: Callable[[Checkout], None]
    """The buyer pays with a card whose refunds stay pending at the provider."""
    settle_refund: Callable[[str, str, bool], None]
    """Later, the provider settles a pending refund (account, refund id, succeeded?)."""
    close: Callable[[], None] = lambda: None
    """Release what the harness started."""
    pay_and_dispute: Callable[[Checkout], str] | None = None
    """The buyer pays, then their bank disputes the charge; returns the dispute id."""


def _stripe_style_event(event_type: str, data_object: dict[str, Any], account: str | None) -> bytes:
    event: dict[str, Any] = {
        "id": new_id("evt"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": data_object},
    }
    if account:
        event["account"] = account
    return json.dumps(event).encode()


def _sandbox_harness(app: Flask) -> GatewayHarness:
    gateway = sandbox(app)
    settings = container(app).settings
    cards = {"generic_decline": CARD_DECLINED, "insufficient_funds": CARD_INSUFFICIENT_FUNDS}

    def complete_onboarding(account_id: str) -> None:
        link = gateway.onboarding_link(
            account_id, refresh_url="http://t/refresh", return_url="http://t/return"
        )
        gateway.hosted_pages.complete_onboarding(token_of(link.url), "complete")

    def pay(checkout: Checkout) -> None:
        gateway.hosted_pages.confirm_payment(
            checkout.payment_intent_id, checkout.client_secret, CARD_SUCCESS
        )

    def decline(checkout: Checkout, code: str) -> None:
        # The sandbox's checkout page answers the buyer with the decline, as Stripe.js does.
        try:
            gateway.hosted_pages.confirm_payment(
                checkout.payment_intent_id, checkout.client_secret, cards[code]
            )
        except CardDeclined:
            return
        raise AssertionError(f"the sandbox accepted the {code} test card")

    def sign(payload: bytes, endpoint: WebhookEndpoint, timestamp: int | None) -> str:
        secret = (
            settings.stripe_connect_webhook_secret
            if endpoint is WebhookEndpoint.CONNECT
            else settings.stripe_webhook_secret
        )
        return signature_header(payload, secret, timestamp)

    def pay_with_pending_refunds(checkout: Checkout) -> None:
        gateway.hosted_pages.confirm_payment(
            checkout.payment_intent_id, checkout.client_secret, CARD_REFUND_PENDING
        )

    def settle_refund(account_id: str, refund_id: str, succeed: bool) -> None:
        gateway.hosted_pages.settle_refund(refund_id, succeed=succeed)

    def pay_and_dispute(checkout: Checkout) -> str:
        paid = gateway.hosted_pages.confirm_payment(
            checkout.payment_intent_id, checkout.client_secret, CARD_DISPUTE
        )
        return str(gateway.hosted_pages.dashboard_dispute_id(checkout.account_id, str(paid["id"])))

    return GatewayHarness(
        gateway,
        complete_onboarding,
        pay,
        decline,
        _stripe_style_event,
        sign,
        pay_with_pending_refunds,
        settle_refund,
        pay_and_dispute=pay_and_dispute,
    )


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
    gateway = stripe_gateway.StripeGateway.from_settings(settings)

    def decline(checkout: Checkout, code: str) -> None:
        fake.fail_payment(
            checkout.account_id,
            checkout.payment_intent_id,
            code="card_declined",
            decline_code=code,
            message="Your card was declined.",
        )

    def event_body(event_type: str, data_object: dict[str, Any], account: str | None) -> bytes:
        return json.dumps(
            fake.add_event(event_type, data_object, account=account, delivered=True)
        ).encode()

    def sign(payload: bytes, endpoint: WebhookEndpoint, timestamp: int | None) -> str:
        secret = CONNECT_SECRET if endpoint is WebhookEndpoint.CONNECT else PLATFORM_SECRET
        return sign_webhook(payload, secret, timestamp=timestamp)

    def close() -> None:
        gateway.close()
        fake.stop()

    def pay_with_pending_refunds(checkout: Checkout) -> None:
        fake.pay(checkout.account_id, checkout.payment_intent_id)
        fake.refund_status = "pending"  # e.g. the seller's available balance is short

    def settle_refund(account_id: str, refund_id: str, succeed: bool) -> None:
        fake.settle_refund(
            account_id,
            refund_id,
            "succeeded" if succeed else "failed",
            failure_reason=None if succeed else "lost_or_stolen_card",
        )

    def pay(checkout: Checkout) -> None:
        # As the sandbox (and the default STRIPE_ACCOUNT_LIABILITY) has it: the platform pays
        # Stripe's fee, 2.9 % + 30 ¢.
        fake.pay(
            checkout.account_id,
            checkout.payment_intent_id,
            stripe_fee=STRIPE_US_CARD.fee_for(checkout.amount_cents),
            fee_payer="application",
        )

    def pay_and_dispute(checkout: Checkout) -> str:
        pay(checkout)
        return str(fake.open_dispute(checkout.account_id, checkout.payment_intent_id)["id"])

    return GatewayHarness(
        gateway=gateway,
        complete_onboarding=fake.complete_onboarding,
        pay=pay,
        decline=decline,
        event_body=event_body,
        sign=sign,
        pay_with_pending_refunds=pay_with_pending_refunds,
        settle_refund=settle_refund,
        close=close,
        pay_and_dispute=pay_and_dispute,
    )


@pytest.fixture(params=["sandbox", "stripe"])
def harness(request: pytest.FixtureRequest, app: Flask) -> Iterator[GatewayHarness]:
    built = (
        _sandbox_harness(app)
        if request.param == "sandbox"
        else _stripe_harness(FakeStripe().start())
    )
    yield built
    built.close()


_user_ids = itertools.count(10_000)
_orders = itertools.count(1)


def seller_account(harness: GatewayHarness) -> ConnectedAccount:
    user_id = next(_user_ids)
    account = harness.gateway.create_seller_account(
        user_id=user_id, email=f"s{user_id}@example.com"
    )
    harness.complete_onboarding(account.account_id)
    return account


def ready_account(harness: GatewayHarness) -> str:
    return seller_account(harness).account_id


def checkout_for(
    account_id: str, amount: int = 2500, fee: int = 250, key: str | None = None
) -> CheckoutRequest:
    order_id = next(_orders)
    return CheckoutRequest(
        order_id=order_id,
        account_id=account_id,
        amount_cents=amount,
        application_fee_cents=fee,
        idempotency_key=key or f"order:{order_id}:payment_intent:{time.time_ns()}",
        description=f"contract order {order_id}",
        metadata={"order_id": str(order_id)},
    )


# --- sellers ------------------------------------------------------------------------------
def test_gateway_satisfies_the_port(harness: GatewayHarness) -> None:
    assert isinstance(harness.gateway, PaymentGateway)
    assert harness.gateway.name
    assert harness.gateway.publishable_key
    assert harness.gateway.publishable_key.startswith("pk_")
    assert harness.gateway.livemode is False  # both run on test keys here


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


def test_new_seller_account_is_not_ready_until_onboarded(harness: GatewayHarness) -> None:
    payments = harness.gateway
    created = payments.create_seller_account(user_id=next(_user_ids), email="seller@example.com")
    link = payments.onboarding_link(
        created.account_id,
        refresh_url="https://stubs.example/refresh",
        return_url="https://stubs.example/return",
    )
    before = payments.retrieve_account(created.account_id)
    harness.complete_onboarding(created.account_id)
    after = payments.retrieve_account(created.account_id)

    assert created.account_id.startswith("acct_")
    assert not created.charges_enabled
    assert link.url.startswith("http")
    assert datetime.now(UTC) < link.expires_at <= utcnow() + timedelta(days=1)
    assert not before.charges_enabled
    assert not before.details_submitted
    assert after.charges_enabled
    assert after.payouts_enabled
    assert after.details_submitted
    assert after.requirements_due == ()
    assert after.disabled_reason is None


def test_seller_tools(harness: GatewayHarness) -> None:
    account_id = ready_account(harness)

    harness.gateway.set_payout_delay(account_id, days=7)
    balance = harness.gateway.balance(account_id)

    assert harness.gateway.dashboard_link(account_id).startswith("http")
    assert (balance.available_cents, balance.pending_cents, balance.currency) == (0, 0, "usd")


def test_unknown_account_is_a_payment_error(harness: GatewayHarness) -> None:
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_account("acct_doesnotexist0")
    with pytest.raises(PaymentError):
        harness.gateway.create_checkout(checkout_for("acct_doesnotexist0"))


# --- checkout -----------------------------------------------------------------------------
def test_checkout_is_a_direct_charge_and_idempotent(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    request = checkout_for(account, 2500, 250)
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
    # The same key with other parameters is refused (the wording is the backend's own).
    changed = CheckoutRequest(**{**request.__dict__, "amount_cents": 3000})
    with pytest.raises(PaymentError):
        harness.gateway.create_checkout(changed)


def test_checkout_on_an_account_without_charges_is_refused(harness: GatewayHarness) -> None:
    account = harness.gateway.create_seller_account(user_id=next(_user_ids), email="x@example.com")
    with pytest.raises(PaymentError):
        harness.gateway.create_checkout(checkout_for(account.account_id))


def test_checkout_then_payment(harness: GatewayHarness) -> None:
    account = ready_account(harness)

    checkout = harness.gateway.create_checkout(checkout_for(account))
    unpaid = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    harness.pay(checkout)
    paid = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)

    assert unpaid.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert unpaid.amount_received_cents == 0
    assert paid.status is CheckoutStatus.SUCCEEDED
    assert paid.charge_id is not None
    assert paid.charge_id.startswith("ch_")
    assert paid.amount_received_cents == 2500
    assert paid.amount_refunded_cents == 0
    assert paid.processing_fee_cents is None or paid.processing_fee_cents >= 0
    assert not paid.disputed


def test_payment_intents_live_on_their_connected_account(harness: GatewayHarness) -> None:
    owner, other = ready_account(harness), ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(owner))
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_payment(other, checkout.payment_intent_id)


@pytest.mark.parametrize("code", ["generic_decline", "insufficient_funds"])
def test_declined_cards(harness: GatewayHarness, code: str) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    harness.decline(checkout, code)
    state = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert state.failure_code == code
    assert state.failure_message


def test_cancel_is_idempotent(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    pi = checkout.payment_intent_id
    harness.gateway.cancel_checkout(account, pi, idempotency_key="order:1:cancel")
    harness.gateway.cancel_checkout(account, pi, idempotency_key="order:1:cancel")
    harness.gateway.cancel_checkout(account, pi, idempotency_key="order:1:cancel:again")
    state = harness.gateway.retrieve_payment(account, pi)
    assert state.status is CheckoutStatus.CANCELED


def test_a_paid_checkout_cannot_be_cancelled(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    harness.pay(checkout)

    with pytest.raises(PaymentError):
        harness.gateway.cancel_checkout(
            account, checkout.payment_intent_id, idempotency_key="order:1:cancel"
        )
    state = harness.gateway.retrieve_payment(account, checkout.payment_intent_id)
    assert state.status is CheckoutStatus.SUCCEEDED


# --- refunds ------------------------------------------------------------------------------
def test_pay_refund_and_read_back(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account, 2500, 250))
    pi = checkout.payment_intent_id
    with pytest.raises(PaymentError):
        harness.gateway.refund(account, pi, idempotency_key="early")

    harness.pay(checkout)

    refund = harness.gateway.refund(account, pi, idempotency_key="r1")
    assert refund.refund_id.startswith("re_")
    assert refund.amount_cents == 2500
    assert refund.status in {"pending", "succeeded"}
    repeat = harness.gateway.refund(account, pi, idempotency_key="r1")
    assert repeat.refund_id == refund.refund_id
    with pytest.raises(PaymentError):
        harness.gateway.refund(account, pi, idempotency_key="r2")
    assert harness.gateway.retrieve_payment(account, pi).amount_refunded_cents == 2500


def test_full_and_partial_refunds(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    pi = checkout.payment_intent_id
    harness.pay(checkout)

    partial = harness.gateway.refund(
        account, pi, idempotency_key="order:1:refund:1", amount_cents=500,
        reason="requested_by_customer",
    )  # fmt: skip
    rest = harness.gateway.refund(account, pi, idempotency_key="order:1:refund:2")
    repeated = harness.gateway.refund(account, pi, idempotency_key="order:1:refund:2")
    state = harness.gateway.retrieve_payment(account, pi)

    assert (partial.amount_cents, rest.amount_cents) == (500, 2000)
    assert partial.status in {"pending", "succeeded"}
    assert repeated.refund_id == rest.refund_id
    assert state.amount_refunded_cents == 2500


def test_refunding_more_than_was_paid_is_refused(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    harness.pay(checkout)

    with pytest.raises(PaymentError):
        harness.gateway.refund(
            account, checkout.payment_intent_id, idempotency_key="order:1:refund",
            amount_cents=2501,
        )  # fmt: skip


def test_a_pending_refund_is_read_back_until_it_fails_and_a_new_key_refunds_again(
    harness: GatewayHarness,
) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account, 2500, 250))
    pi = checkout.payment_intent_id
    harness.pay_with_pending_refunds(checkout)

    refund = harness.gateway.refund(account, pi, idempotency_key="order:1:refund")
    pending = harness.gateway.retrieve_refund(account, refund.refund_id)
    harness.settle_refund(account, refund.refund_id, False)
    failed = harness.gateway.retrieve_refund(account, refund.refund_id)

    assert refund.status is RefundStatus.PENDING
    assert (pending.refund_id, pending.status, pending.amount_cents) == (
        refund.refund_id,
        RefundStatus.PENDING,
        2500,
    )
    assert pending.payment_intent_id == pi
    assert failed.status is RefundStatus.FAILED
    assert failed.failure_reason
    # The failed refund's money is back on the charge. Its key only ever answers with that
    # refund; a new key is a new refund.
    assert harness.gateway.retrieve_payment(account, pi).amount_refunded_cents == 0
    replay = harness.gateway.refund(account, pi, idempotency_key="order:1:refund")
    assert replay.refund_id == refund.refund_id
    retry = harness.gateway.refund(account, pi, idempotency_key="order:1:refund:2")
    assert retry.refund_id != refund.refund_id
    assert retry.amount_cents == 2500
    harness.settle_refund(account, retry.refund_id, True)
    assert harness.gateway.retrieve_refund(account, retry.refund_id).status is (
        RefundStatus.SUCCEEDED
    )
    assert harness.gateway.retrieve_payment(account, pi).amount_refunded_cents == 2500


def test_refunds_are_read_on_their_connected_account(harness: GatewayHarness) -> None:
    owner, other = ready_account(harness), ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(owner))
    harness.pay(checkout)
    refund = harness.gateway.refund(
        owner, checkout.payment_intent_id, idempotency_key="order:1:refund"
    )
    read = harness.gateway.retrieve_refund(owner, refund.refund_id)
    assert (read.status, read.failure_reason) == (RefundStatus.SUCCEEDED, None)
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_refund(other, refund.refund_id)
    with pytest.raises(PaymentError):
        harness.gateway.retrieve_refund(owner, "re_doesnotexist0")


# --- events -------------------------------------------------------------------------------
def test_webhook_events_verify_and_parse(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    data_object = {"id": checkout.payment_intent_id, "object": "payment_intent", "amount": 2500}
    connect = WebhookEndpoint.CONNECT
    body = harness.event_body("payment_intent.succeeded", data_object, account)

    event = harness.gateway.parse_webhook(body, harness.sign(body, connect, None), connect)

    assert isinstance(event, WebhookEvent)
    assert event.event_id.startswith("evt_")
    assert event.type == "payment_intent.succeeded"
    assert event.account == account
    assert event.livemode is False
    assert event.data_object["id"] == checkout.payment_intent_id
    assert event.payload["id"] == event.event_id
    assert abs(event.created - time.time()) < 3600


def test_webhook_events_with_a_bad_signature_are_refused(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    connect = WebhookEndpoint.CONNECT
    body = harness.event_body("account.updated", {"id": account, "object": "account"}, account)
    header = harness.sign(body, connect, None)
    platform_signed = harness.sign(body, WebhookEndpoint.PLATFORM, None)
    stale = harness.sign(body, connect, int(time.time()) - 301)

    for bad in (platform_signed, stale, None, "t=1,v1=abc", "garbage"):
        with pytest.raises(InvalidWebhookSignature):
            harness.gateway.parse_webhook(body, bad, connect)
    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(body + b" ", header, connect)
    with pytest.raises(InvalidWebhookSignature):  # right body and secret, wrong endpoint
        harness.gateway.parse_webhook(body, header, WebhookEndpoint.PLATFORM)


def test_undelivered_events_is_a_sequence_of_events(harness: GatewayHarness) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    for account_id in (None, ready_account(harness)):
        events = harness.gateway.undelivered_events(
            since=since, types=["payment_intent.succeeded"], account_id=account_id
        )
        assert all(isinstance(e, WebhookEvent) for e in events)


# --- what the platform paid, and answering disputes (issue 16) --------------------------


def test_the_fee_reader_finds_stripes_fee_and_never_counts_ours(harness: GatewayHarness) -> None:
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account, amount=2500, fee=250))
    unpaid = harness.gateway.charge_costs(account, checkout.payment_intent_id)
    assert (unpaid.settled, unpaid.fees) == (False, ())

    harness.pay(checkout)
    costs = harness.gateway.charge_costs(account, checkout.payment_intent_id)

    assert costs.settled
    assert costs.application_fee_cents == 250
    assert costs.application_fee_id is not None
    assert [(f.kind, f.payer, f.amount_cents) for f in costs.fees] == [
        (CostKind.PROCESSING_FEE, FeePayer.PLATFORM, STRIPE_US_CARD.fee_for(2500))
    ]
    assert all(f.balance_transaction_id.startswith("txn_") for f in costs.fees)


def test_a_dispute_is_answered_once_with_a_file(harness: GatewayHarness) -> None:
    assert harness.pay_and_dispute is not None
    account = ready_account(harness)
    checkout = harness.gateway.create_checkout(checkout_for(account))
    dispute_id = harness.pay_and_dispute(checkout)
    fees = harness.gateway.dispute_costs(account, dispute_id).fees
    assert (CostKind.DISPUTE_FEE, FeePayer.PLATFORM, 1500) in [
        (f.kind, f.payer, f.amount_cents) for f in fees
    ]

    file = harness.gateway.upload_dispute_evidence(
        account,
        filename="receipt.pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        idempotency_key=f"dispute:{dispute_id}:file:receipt:1",
    )
    evidence = {"product_description": "A stub", "receipt": file.file_id}
    staged = harness.gateway.submit_dispute_evidence(
        account, dispute_id, evidence=evidence, submit=False, idempotency_key=f"{dispute_id}:1"
    )
    assert (staged.status, staged.has_evidence, staged.submission_count) == (
        "needs_response",
        True,
        0,
    )
    submitted = harness.gateway.submit_dispute_evidence(
        account, dispute_id, evidence=evidence, submit=True, idempotency_key=f"{dispute_id}:2"
    )
    assert (submitted.status, submitted.submission_count) == ("under_review", 1)
    with pytest.raises(PaymentError):
        harness.gateway.submit_dispute_evidence(
            account, dispute_id, evidence=evidence, submit=True, idempotency_key=f"{dispute_id}:3"
        )
