"""The Stripe adapter at the HTTP level, against a fake Stripe API on 127.0.0.1.

Every test checks what goes over the wire (method, path, ``Stripe-Account``,
``Idempotency-Key``, ``Stripe-Version``, form parameters) as well as what the adapter makes
of Stripe's answers, which are copies of Stripe's own example objects.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import (
    CardDeclined,
    CheckoutRequest,
    CheckoutStatus,
    PaymentError,
    PaymentGateway,
    PaymentProviderUnavailable,
    RequestInProgress,
    WebhookEndpoint,
)
from stubcollector.adapters.payments.stripe_gateway import StripeGateway, build_stripe_gateway
from stubcollector.config import Settings
from stubcollector.domain.statuses import RefundStatus
from tests.support.stripe_fake import FakeStripe, RecordedRequest, sign_webhook

ACCOUNT_ID_PREFIX = "acct_"
PINNED_VERSION = "2026-10-28.endive"
CHARGE_TYPE_PARAMS = ("on_behalf_of", "transfer_data", "transfer_group", "reverse_transfer")


def stripe_settings(api_base: str, **env: str) -> Settings:
    return Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": "sqlite://",
            "PAYMENTS_BACKEND": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_stubcollector",
            "STRIPE_PUBLIC_KEY": "pk_test_stubcollector",
            "STRIPE_WEBHOOK_SECRET": "whsec_platform_test",
            "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect_test",
            "STRIPE_API_BASE": api_base,
            **env,
        }
    )


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK sleeps at least 0.5 s before each retry; the retry decision is unchanged.
    monkeypatch.setattr(stripe_gateway.stripe.HTTPClient, "_sleep_time_seconds", lambda *_: 0.0)


@pytest.fixture
def gateway(fake_stripe: FakeStripe) -> Iterator[StripeGateway]:
    built = StripeGateway.from_settings(stripe_settings(fake_stripe.url))
    yield built
    built.close()


@pytest.fixture
def seller(gateway: StripeGateway, fake_stripe: FakeStripe) -> str:
    account = gateway.create_seller_account(user_id=7, email="seller@example.com")
    fake_stripe.complete_onboarding(account.account_id)
    fake_stripe.requests.clear()
    return account.account_id


def checkout_request(account_id: str, **changes: Any) -> CheckoutRequest:
    values: dict[str, Any] = {
        "order_id": 42,
        "account_id": account_id,
        "amount_cents": 5000,
        "application_fee_cents": 500,
        "idempotency_key": "order:42:payment_intent",
        "description": "Ticket stub: Springsteen, Giants Stadium 1985",
        "metadata": {"listing_id": "9"},
    }
    values.update(changes)
    return CheckoutRequest(**values)


def assert_no_other_charge_types(request: RecordedRequest) -> None:
    sent = {key.split("[")[0] for key in request.form}
    assert sent.isdisjoint(CHARGE_TYPE_PARAMS), request.form


# --- configuration ------------------------------------------------------------------------


def test_from_settings_exposes_name_and_publishable_key(fake_stripe: FakeStripe) -> None:
    built = build_stripe_gateway(stripe_settings(fake_stripe.url))
    assert isinstance(built, PaymentGateway)
    assert built.name == "stripe"
    assert built.publishable_key == "pk_test_stubcollector"
    assert isinstance(built, StripeGateway)
    assert built.livemode is False


def test_every_request_pins_the_api_version_and_uses_the_secret_key(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    gateway.create_seller_account(user_id=1, email="a@example.com")

    request = fake_stripe.only_request("POST", "/v1/accounts")
    assert request.headers["stripe-version"] == PINNED_VERSION
    assert request.headers["authorization"] == "Bearer sk_test_stubcollector"


def test_a_whole_sale_pins_the_version_on_every_request(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    account = gateway.create_seller_account(user_id=1, email="a@example.com")
    gateway.onboarding_link(account.account_id, refresh_url="https://x/r", return_url="https://x/b")
    fake_stripe.complete_onboarding(account.account_id)
    gateway.set_payout_delay(account.account_id, days=7)
    checkout = gateway.create_checkout(checkout_request(account.account_id))
    fake_stripe.pay(account.account_id, checkout.payment_intent_id)
    gateway.retrieve_payment(account.account_id, checkout.payment_intent_id)
    gateway.refund(account.account_id, checkout.payment_intent_id, idempotency_key="k:refund")
    gateway.balance(account.account_id)
    gateway.dashboard_link(account.account_id)

    assert len(fake_stripe.requests) == 8
    assert {r.headers["stripe-version"] for r in fake_stripe.requests} == {PINNED_VERSION}
    posts = [r for r in fake_stripe.requests if r.method == "POST"]
    assert all(r.idempotency_key for r in posts)
    # Everything about the charge happens on the seller's account, nothing else does.
    on_seller = {(r.method, r.path) for r in fake_stripe.requests if r.account}
    assert on_seller == {
        ("POST", "/v1/payment_intents"),
        ("GET", f"/v1/payment_intents/{checkout.payment_intent_id}"),
        ("POST", "/v1/refunds"),
        ("GET", "/v1/balance"),
    }
    assert {r.account for r in fake_stripe.requests if r.account} == {account.account_id}


def test_unknown_liability_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="application or stripe"):
        stripe_gateway.controller_for("platform")


# --- sellers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("liability", "fee_payer", "losses"),
    [("application", "application", "application"), ("stripe", "account", "stripe")],
)
def test_seller_account_is_created_with_controller_properties(
    fake_stripe: FakeStripe, liability: str, fee_payer: str, losses: str
) -> None:
    gateway = StripeGateway.from_settings(
        stripe_settings(fake_stripe.url, STRIPE_ACCOUNT_LIABILITY=liability)
    )

    account = gateway.create_seller_account(user_id=7, email="seller@example.com")

    request = fake_stripe.only_request("POST", "/v1/accounts")
    assert request.form == {
        "country": "US",
        "email": "seller@example.com",
        "controller[stripe_dashboard][type]": "express",
        "controller[fees][payer]": fee_payer,
        "controller[losses][payments]": losses,
        "controller[requirement_collection]": "stripe",
        "capabilities[card_payments][requested]": "true",
        "capabilities[transfers][requested]": "true",
        "metadata[user_id]": "7",
    }
    assert "type" not in request.form  # deprecated in favour of controller properties
    assert request.idempotency_key == "user:7:account"
    assert request.account is None  # the platform creates it, on its own account
    assert account.account_id.startswith(ACCOUNT_ID_PREFIX)
    assert account.email == "seller@example.com"
    assert not account.charges_enabled
    assert not account.payouts_enabled
    assert not account.details_submitted
    # Stripe's example account: what onboarding still has to collect.
    assert "external_account" in account.requirements_due
    assert account.disabled_reason == "requirements.past_due"
    gateway.close()


def test_creating_the_same_users_account_twice_returns_one_account(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    first = gateway.create_seller_account(user_id=7, email="seller@example.com")
    second = gateway.create_seller_account(user_id=7, email="seller@example.com")

    assert second.account_id == first.account_id
    assert len(fake_stripe.accounts) == 1
    keys = [r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/accounts")]
    assert keys == ["user:7:account", "user:7:account"]


def test_onboarding_link_is_a_fresh_account_onboarding_link(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    first = gateway.onboarding_link(
        seller,
        refresh_url="https://stubs.example/api/payments/onboard/refresh",
        return_url="https://stubs.example/api/payments/onboard/return",
    )
    second = gateway.onboarding_link(
        seller,
        refresh_url="https://stubs.example/api/payments/onboard/refresh",
        return_url="https://stubs.example/api/payments/onboard/return",
    )

    requests = fake_stripe.requests_to("POST", "/v1/account_links")
    assert requests[0].form == {
        "account": seller,
        "type": "account_onboarding",
        "refresh_url": "https://stubs.example/api/payments/onboard/refresh",
        "return_url": "https://stubs.example/api/payments/onboard/return",
    }
    # Links are single-use: each request is new (the SDK's own key only covers its retries).
    assert requests[0].idempotency_key != requests[1].idempotency_key
    assert first.url != second.url
    assert first.url.startswith("https://")
    assert first.expires_at.tzinfo is not None
    assert first.expires_at > datetime.now(UTC)


def test_retrieve_account_rereads_status_and_requirements(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    created = gateway.create_seller_account(user_id=3, email="s@example.com")
    before = gateway.retrieve_account(created.account_id)
    fake_stripe.complete_onboarding(created.account_id)
    after = gateway.retrieve_account(created.account_id)

    request = fake_stripe.requests_to("GET", f"/v1/accounts/{created.account_id}")[0]
    assert request.account is None
    assert not before.charges_enabled
    assert before.requirements_due
    assert after.charges_enabled
    assert after.payouts_enabled
    assert after.details_submitted
    assert after.requirements_due == ()
    assert after.disabled_reason is None


def test_unknown_account_is_a_payment_error(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentError, match="resource_missing"):
        gateway.retrieve_account("acct_doesnotexist")


def test_dashboard_link_is_an_express_login_link(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    url = gateway.dashboard_link(seller)

    request = fake_stripe.only_request("POST", f"/v1/accounts/{seller}/login_links")
    assert request.account is None
    assert request.form == {}
    assert url.startswith("https://")
    assert seller in url


def test_balance_reads_the_sellers_balance_in_usd(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.balances[seller] = {
        **fake_stripe.fixtures["balance"],
        "available": [
            {"amount": 4500, "currency": "usd", "source_types": {"card": 4500}},
            {"amount": 900, "currency": "eur", "source_types": {"card": 900}},
        ],
        "pending": [
            {"amount": 1200, "currency": "usd", "source_types": {"card": 1000}},
            {"amount": -200, "currency": "usd", "source_types": {"card": -200}},
        ],
    }

    balance = gateway.balance(seller)

    request = fake_stripe.only_request("GET", "/v1/balance")
    assert request.account == seller
    assert (balance.available_cents, balance.pending_cents, balance.currency) == (4500, 1000, "usd")


def test_payout_delay_sets_a_daily_schedule_with_delay_days(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    gateway.set_payout_delay(seller, days=7)

    request = fake_stripe.only_request("POST", f"/v1/accounts/{seller}")
    assert request.form == {
        "settings[payouts][schedule][interval]": "daily",
        "settings[payouts][schedule][delay_days]": "7",
    }
    assert request.idempotency_key == f"account:{seller}:payout_schedule:7"
    assert request.account is None
    schedule = fake_stripe.accounts[seller]["settings"]["payouts"]["schedule"]
    assert schedule == {"interval": "daily", "delay_days": 7}


# --- checkout -----------------------------------------------------------------------------


def test_checkout_is_a_direct_charge_on_the_sellers_account(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))

    request = fake_stripe.only_request("POST", "/v1/payment_intents")
    assert request.account == seller
    assert request.idempotency_key == "order:42:payment_intent"
    assert request.form == {
        "amount": "5000",
        "currency": "usd",
        "application_fee_amount": "500",
        "automatic_payment_methods[enabled]": "true",
        "description": "Ticket stub: Springsteen, Giants Stadium 1985",
        "metadata[listing_id]": "9",
        "metadata[order_id]": "42",
    }
    assert_no_other_charge_types(request)
    assert checkout.payment_intent_id.startswith("pi_")
    assert checkout.client_secret.startswith(f"{checkout.payment_intent_id}_secret_")
    assert checkout.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert checkout.account_id == seller
    assert (checkout.amount_cents, checkout.application_fee_cents) == (5000, 500)
    assert checkout.sandbox_checkout_url is None
    assert (seller, checkout.payment_intent_id) in fake_stripe.payment_intents


def test_order_id_in_metadata_cannot_be_overridden_by_extra_metadata(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    gateway.create_checkout(checkout_request(seller, metadata={"order_id": "999"}))

    assert (
        fake_stripe.only_request("POST", "/v1/payment_intents").form["metadata[order_id]"] == "42"
    )


def test_repeating_a_checkout_with_its_key_returns_the_same_payment_intent(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    first = gateway.create_checkout(checkout_request(seller))
    second = gateway.create_checkout(checkout_request(seller))

    assert second.payment_intent_id == first.payment_intent_id
    assert len(fake_stripe.payment_intents) == 1


def test_reusing_a_key_with_other_parameters_is_a_payment_error(
    gateway: StripeGateway, seller: str
) -> None:
    gateway.create_checkout(checkout_request(seller))

    with pytest.raises(PaymentError) as raised:
        gateway.create_checkout(checkout_request(seller, amount_cents=6000))
    assert not type(raised.value).__module__.startswith("stripe")


def test_retrieve_payment_reads_the_charge_and_stripes_fee_on_the_sellers_account(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id, stripe_fee=175)

    state = gateway.retrieve_payment(seller, checkout.payment_intent_id)

    request = fake_stripe.only_request("GET", f"/v1/payment_intents/{checkout.payment_intent_id}")
    assert request.account == seller
    assert request.form == {"expand[0]": "latest_charge.balance_transaction"}
    assert state.status is CheckoutStatus.SUCCEEDED
    assert state.charge_id is not None
    assert state.charge_id.startswith("ch_")
    assert state.amount_received_cents == 5000
    # The balance transaction's fee is 675: Stripe's 175 plus our 500 application fee.
    assert state.processing_fee_cents == 175
    assert state.amount_refunded_cents == 0
    assert state.disputed is False
    assert state.failure_code is None


def test_retrieve_payment_before_any_charge(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))

    state = gateway.retrieve_payment(seller, checkout.payment_intent_id)

    assert state.status is CheckoutStatus.REQUIRES_PAYMENT_METHOD
    assert state.charge_id is None
    assert state.amount_received_cents == 0
    assert state.processing_fee_cents is None


def test_retrieve_payment_reports_the_last_decline(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.fail_payment(
        seller,
        checkout.payment_intent_id,
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    )

    state = gateway.retrieve_payment(seller, checkout.payment_intent_id)

    assert state.failure_code == "insufficient_funds"
    assert state.failure_message == "Your card has insufficient funds."


def test_retrieve_payment_reports_refunds_and_disputes(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    gateway.refund(
        seller, checkout.payment_intent_id, idempotency_key="order:42:refund", amount_cents=1000
    )
    fake_stripe.dispute(seller, checkout.payment_intent_id)

    state = gateway.retrieve_payment(seller, checkout.payment_intent_id)

    assert state.amount_refunded_cents == 1000
    assert state.disputed is True


def test_a_direct_charge_is_invisible_from_another_account(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    other = gateway.create_seller_account(user_id=8, email="other@example.com")

    with pytest.raises(PaymentError):
        gateway.retrieve_payment(other.account_id, checkout.payment_intent_id)


def test_refund_runs_on_the_sellers_account_and_returns_the_fee(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    fake_stripe.requests.clear()

    refund = gateway.refund(
        seller,
        checkout.payment_intent_id,
        idempotency_key="order:42:refund",
        reason="requested_by_customer",
    )

    request = fake_stripe.only_request("POST", "/v1/refunds")
    assert request.account == seller
    assert request.idempotency_key == "order:42:refund"
    assert request.form == {
        "payment_intent": checkout.payment_intent_id,
        "refund_application_fee": "true",
        "reason": "requested_by_customer",
        "metadata[reason]": "requested_by_customer",
    }
    assert_no_other_charge_types(request)
    assert refund.refund_id.startswith("re_")
    assert refund.status == "succeeded"
    assert refund.amount_cents == 5000


def test_partial_refund_with_our_own_reason(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)

    refund = gateway.refund(
        seller,
        checkout.payment_intent_id,
        idempotency_key="order:42:refund:1",
        amount_cents=1500,
        reason="listing sold to another buyer",
    )

    request = fake_stripe.only_request("POST", "/v1/refunds")
    assert request.form["amount"] == "1500"
    assert request.form["metadata[reason]"] == "listing sold to another buyer"
    assert "reason" not in request.form  # Stripe accepts only its three reasons
    assert refund.amount_cents == 1500


def test_refund_of_an_unpaid_checkout_is_a_payment_error(
    gateway: StripeGateway, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))

    with pytest.raises(PaymentError, match="charge_not_refundable"):
        gateway.refund(seller, checkout.payment_intent_id, idempotency_key="order:42:refund")


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("pending", RefundStatus.PENDING),
        ("requires_action", RefundStatus.REQUIRES_ACTION),
        ("succeeded", RefundStatus.SUCCEEDED),
        ("failed", RefundStatus.FAILED),
        ("canceled", RefundStatus.CANCELED),
        ("something_new", RefundStatus.PENDING),  # unknown is never a success
    ],
)
def test_the_refund_status_stripe_answers_is_ours(
    gateway: StripeGateway,
    fake_stripe: FakeStripe,
    seller: str,
    stripe_status: str,
    ours: RefundStatus,
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    fake_stripe.refund_status = stripe_status

    refund = gateway.refund(seller, checkout.payment_intent_id, idempotency_key="order:42:refund")

    assert refund.status is ours
    assert refund.payment_intent_id == checkout.payment_intent_id


def test_retrieve_refund_reads_it_on_the_sellers_account(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    fake_stripe.refund_status = "pending"
    created = gateway.refund(seller, checkout.payment_intent_id, idempotency_key="order:42:refund")
    fake_stripe.settle_refund(seller, created.refund_id, "failed", failure_reason="declined")
    fake_stripe.requests.clear()

    refund = gateway.retrieve_refund(seller, created.refund_id)

    request = fake_stripe.only_request("GET", f"/v1/refunds/{created.refund_id}")
    assert request.account == seller
    assert request.headers["stripe-version"] == PINNED_VERSION
    assert request.idempotency_key is None
    assert request.form == {}
    assert (refund.refund_id, refund.status, refund.failure_reason) == (
        created.refund_id,
        RefundStatus.FAILED,
        "declined",
    )
    assert (refund.amount_cents, refund.payment_intent_id) == (5000, checkout.payment_intent_id)


def test_retrieve_refund_of_another_account_or_unknown_is_a_payment_error(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    created = gateway.refund(seller, checkout.payment_intent_id, idempotency_key="order:42:refund")
    other = gateway.create_seller_account(user_id=8, email="other@example.com")

    with pytest.raises(PaymentError, match="resource_missing"):
        gateway.retrieve_refund(other.account_id, created.refund_id)
    with pytest.raises(PaymentError, match="resource_missing"):
        gateway.retrieve_refund(seller, "re_unknown")


def test_cancel_checkout_names_the_account_and_key(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))

    gateway.cancel_checkout(seller, checkout.payment_intent_id, idempotency_key="order:42:cancel")

    path = f"/v1/payment_intents/{checkout.payment_intent_id}/cancel"
    request = fake_stripe.only_request("POST", path)
    assert request.account == seller
    assert request.idempotency_key == "order:42:cancel"
    assert fake_stripe.payment_intents[(seller, checkout.payment_intent_id)]["status"] == "canceled"


def test_cancelling_an_already_canceled_checkout_is_a_no_op(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    gateway.cancel_checkout(seller, checkout.payment_intent_id, idempotency_key="order:42:cancel")

    # Same key: Stripe replays the first answer. Another key (e.g. a second sweep): Stripe
    # refuses with payment_intent_unexpected_state and the adapter checks the status.
    gateway.cancel_checkout(seller, checkout.payment_intent_id, idempotency_key="order:42:cancel")
    gateway.cancel_checkout(seller, checkout.payment_intent_id, idempotency_key="order:42:cancel:2")

    path = f"/v1/payment_intents/{checkout.payment_intent_id}/cancel"
    assert len(fake_stripe.requests_to("POST", path)) == 3
    reread = fake_stripe.requests_to("GET", f"/v1/payment_intents/{checkout.payment_intent_id}")
    assert [r.account for r in reread] == [seller]


def test_cancelling_a_paid_checkout_is_refused(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)

    with pytest.raises(PaymentError, match="succeeded"):
        gateway.cancel_checkout(
            seller, checkout.payment_intent_id, idempotency_key="order:42:cancel"
        )


# --- errors -------------------------------------------------------------------------------


def test_card_decline_becomes_card_declined(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.fail_next(
        status=402,
        error={
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
            "param": "",
        },
    )

    with pytest.raises(CardDeclined) as raised:
        gateway.create_checkout(checkout_request(seller))

    assert raised.value.decline_code == "insufficient_funds"
    assert raised.value.message == "Your card has insufficient funds."
    assert len(fake_stripe.requests) == 1  # a decline is an answer, not a fault to retry


def test_server_errors_are_retried_with_the_same_key_then_unavailable(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake_stripe.fail_next(3, status=500)

    with (
        caplog.at_level(logging.WARNING, logger=stripe_gateway.__name__),
        pytest.raises(PaymentProviderUnavailable) as raised,
    ):
        gateway.create_checkout(checkout_request(seller))

    attempts = fake_stripe.requests_to("POST", "/v1/payment_intents")
    assert len(attempts) == 1 + stripe_gateway.MAX_NETWORK_RETRIES
    assert {r.idempotency_key for r in attempts} == {"order:42:payment_intent"}
    assert {r.account for r in attempts} == {seller}
    assert "try again" in raised.value.message
    assert not type(raised.value).__module__.startswith("stripe")
    assert "request req_" in caplog.text  # operators can quote it to Stripe


def test_a_transient_server_error_is_retried_to_success(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.fail_next(1, status=503)

    checkout = gateway.create_checkout(checkout_request(seller))

    attempts = fake_stripe.requests_to("POST", "/v1/payment_intents")
    assert len(attempts) == 2
    assert attempts[0].idempotency_key == attempts[1].idempotency_key == "order:42:payment_intent"
    assert len(fake_stripe.payment_intents) == 1
    assert checkout.payment_intent_id.startswith("pi_")


def test_dropped_connections_are_retried_then_unavailable(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.fail_next(3, drop=True)

    with pytest.raises(PaymentProviderUnavailable):
        gateway.refund(seller, "pi_123", idempotency_key="order:42:refund")

    attempts = fake_stripe.requests_to("POST", "/v1/refunds")
    assert len(attempts) == 3
    assert {r.idempotency_key for r in attempts} == {"order:42:refund"}


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gateway = StripeGateway.from_settings(stripe_settings(f"http://127.0.0.1:{closed_port}"))

    with pytest.raises(PaymentProviderUnavailable):
        gateway.balance("acct_123")
    gateway.close()


@pytest.mark.parametrize(
    ("status", "error", "expected", "attempts"),
    [
        (400, {"type": "invalid_request_error", "code": "amount_too_small",
               "message": "Amount must be at least $0.50 usd"}, PaymentError, 1),
        (403, {"type": "invalid_request_error",
               "message": "The provided key does not have access to account 'acct_x'"},
         PaymentError, 1),
        (401, {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_*"},
         PaymentProviderUnavailable, 1),
        (429, {"type": "invalid_request_error", "code": "rate_limit",
               "message": "Too many requests"}, PaymentProviderUnavailable, 1),
    ],
)  # fmt: skip
def test_refusals_and_outages_map_to_our_errors_without_stripes_wording(
    gateway: StripeGateway,
    fake_stripe: FakeStripe,
    seller: str,
    status: int,
    error: dict[str, Any],
    expected: type[Exception],
    attempts: int,
) -> None:
    fake_stripe.fail_next(status=status, error=error)

    with pytest.raises(expected) as raised:
        gateway.create_checkout(checkout_request(seller))

    assert type(raised.value) is expected
    assert error["message"] not in str(raised.value)  # Stripe's text goes to the log only
    assert len(fake_stripe.requests_to("POST", "/v1/payment_intents")) == attempts


# --- undelivered events -------------------------------------------------------------------


def test_undelivered_events_lists_failed_deliveries_since_a_time(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    start = int(since.timestamp())
    fee = fake_stripe.fixtures["application_fee"]
    later = fake_stripe.add_event("application_fee.created", fee, created=start + 20)
    earlier = fake_stripe.add_event("application_fee.created", fee, created=start + 10)
    fake_stripe.add_event("application_fee.created", fee, created=start - 10)  # too old
    fake_stripe.add_event("application_fee.created", fee, created=start + 30, delivered=True)
    fake_stripe.add_event("customer.created", {"id": "cus_1", "object": "customer"}, created=start)

    events = gateway.undelivered_events(
        since=since, types=["application_fee.created", "application_fee.refunded"]
    )

    request = fake_stripe.only_request("GET", "/v1/events")
    assert request.account is None
    assert request.form == {
        "delivery_success": "false",
        "created[gte]": str(start),
        "limit": "100",
        "types[0]": "application_fee.created",
        "types[1]": "application_fee.refunded",
    }
    assert [e.event_id for e in events] == [earlier["id"], later["id"]]  # oldest first
    assert events[0].payload == earlier
    assert type(events[0].payload) is dict
    assert events[0].data_object == fee
    assert events[0].account is None


def test_undelivered_events_of_a_connected_account_page_with_its_header(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    intent = fake_stripe.fixtures["payment_intent"]
    for offset in range(150):
        fake_stripe.add_event(
            "payment_intent.succeeded",
            intent,
            account=seller,
            created=int(since.timestamp()) + offset,
        )

    events = gateway.undelivered_events(
        since=since, types=["payment_intent.succeeded"], account_id=seller
    )

    pages = fake_stripe.requests_to("GET", "/v1/events")
    assert len(pages) == 2
    assert [p.account for p in pages] == [seller, seller]
    assert "starting_after" in pages[1].form
    assert len(events) == 150
    assert all(e.account == seller for e in events)
    assert [e.created for e in events] == sorted(e.created for e in events)


def test_undelivered_events_stop_at_the_limit(
    fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = StripeGateway(
        secret_key="sk_test_x",
        publishable_key=None,
        platform_webhook_secret="whsec_p",
        connect_webhook_secret="whsec_c",
        api_base=fake_stripe.url,
        undelivered_events_limit=5,
    )
    since = datetime.now(UTC) - timedelta(hours=1)
    for offset in range(8):
        fake_stripe.add_event(
            "account.application.deauthorized",
            {"id": "ca_1", "object": "application"},
            created=int(since.timestamp()) + offset,
        )

    with caplog.at_level(logging.WARNING, logger=stripe_gateway.__name__):
        events = gateway.undelivered_events(since=since, types=[])

    # Stripe lists newest first: the five newest are kept, and the log says older ones are not.
    assert [e.created - int(since.timestamp()) for e in events] == [3, 4, 5, 6, 7]
    assert "older ones were not read" in caplog.text
    assert "types[0]" not in fake_stripe.only_request("GET", "/v1/events").form
    gateway.close()


def test_more_than_twenty_types_are_asked_in_batches(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    types = [f"charge.type_{n}" for n in range(25)]

    assert gateway.undelivered_events(since=datetime.now(UTC), types=types) == []

    batches = fake_stripe.requests_to("GET", "/v1/events")
    assert [len([k for k in b.form if k.startswith("types[")]) for b in batches] == [20, 5]


# --- issue 16: zero fee, keys in use, payout hold refusals, versions, endpoints ------------


def test_a_zero_application_fee_is_left_out_not_sent(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller, application_fee_cents=0))

    request = fake_stripe.only_request("POST", "/v1/payment_intents")
    assert request.account == seller
    assert "application_fee_amount" not in request.form
    assert checkout.application_fee_cents == 0
    assert (
        fake_stripe.payment_intents[(seller, checkout.payment_intent_id)]["application_fee_amount"]
        is None
    )


KEY_IN_USE = {
    # Stripe's 409 for a key whose first request is still running (docs.stripe.com/error-codes);
    # the error type sent with it is not documented.
    "type": "invalid_request_error",
    "code": "idempotency_key_in_use",
    "message": "There is currently another in-progress request using this Stripe-Idempotency"
    "-Key (that probably means you submitted twice, and the other request is still going "
    "through).",
}


def test_a_key_in_use_is_retried_by_the_sdk_then_reported_as_in_progress_not_refused(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.fail_next(3, status=409, error=KEY_IN_USE)

    with pytest.raises(RequestInProgress) as raised:
        gateway.refund(seller, "pi_123", idempotency_key="ns:order:42:refund")

    assert isinstance(raised.value, PaymentProviderUnavailable)  # retry later, same key
    assert not isinstance(raised.value, PaymentError)  # nothing was refused
    attempts = fake_stripe.requests_to("POST", "/v1/refunds")
    assert len(attempts) == 1 + stripe_gateway.MAX_NETWORK_RETRIES
    assert {r.idempotency_key for r in attempts} == {"ns:order:42:refund"}


def test_a_key_in_use_that_frees_up_gets_the_first_requests_answer(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    checkout = gateway.create_checkout(checkout_request(seller))
    fake_stripe.pay(seller, checkout.payment_intent_id)
    first = gateway.refund(seller, checkout.payment_intent_id, idempotency_key="k:refund")
    fake_stripe.fail_next(1, status=409, error=KEY_IN_USE, path="/v1/refunds")

    again = gateway.refund(seller, checkout.payment_intent_id, idempotency_key="k:refund")

    assert again.refund_id == first.refund_id  # replayed, not a second refund
    assert len(fake_stripe.refunds) == 1


@pytest.mark.parametrize("status", [400, 409])
def test_the_key_in_use_code_is_never_read_as_a_refusal(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, status: int
) -> None:
    # Whatever status and class the SDK gives it (a 400 would be an IdempotencyError).
    fake_stripe.fail_next(3, status=status, error={**KEY_IN_USE, "type": "idempotency_error"})

    with pytest.raises(RequestInProgress):
        gateway.refund(seller, "pi_123", idempotency_key="k:refund")


def test_a_refused_payout_hold_carries_stripes_own_words(fake_stripe: FakeStripe) -> None:
    gateway = StripeGateway.from_settings(
        stripe_settings(fake_stripe.url, STRIPE_ACCOUNT_LIABILITY="stripe")
    )
    account = gateway.create_seller_account(user_id=3, email="s@example.com")

    with pytest.raises(PaymentError) as refused:
        gateway.set_payout_delay(account.account_id, days=7, idempotency_key="ns:hold")

    assert refused.value.code == "invalid_request"
    assert refused.value.provider_message is not None
    assert "delay_days" in refused.value.provider_message
    assert "delay_days" not in refused.value.message  # ours stays safe to show anywhere
    assert fake_stripe.only_request(
        "POST", f"/v1/accounts/{account.account_id}"
    ).idempotency_key == ("ns:hold")
    gateway.close()


def test_accounts_report_their_payout_delay(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    assert gateway.retrieve_account(seller).payout_delay_days == 2  # Stripe's example
    gateway.set_payout_delay(seller, days=7)
    assert gateway.retrieve_account(seller).payout_delay_days == 7


def test_the_seller_account_key_can_be_given(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    gateway.create_seller_account(user_id=9, email="n@example.com", idempotency_key="ns:user:9")
    assert fake_stripe.only_request("POST", "/v1/accounts").idempotency_key == "ns:user:9"


def test_a_disconnected_account_is_a_refusal(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    fake_stripe.deauthorize(seller)
    with pytest.raises(PaymentError):
        gateway.retrieve_account(seller)
    with pytest.raises(PaymentError):
        gateway.balance(seller)


def test_events_carry_their_api_version(gateway: StripeGateway) -> None:
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "payout.paid",
        "api_version": "2024-06-20",
        "created": int(datetime.now(UTC).timestamp()),
        "livemode": False,
        "account": "acct_1",
        "data": {"object": {"id": "po_1", "object": "payout"}},
    }
    body = json.dumps(event).encode()
    parsed = gateway.parse_webhook(
        body, sign_webhook(body, "whsec_connect_test"), WebhookEndpoint.CONNECT
    )
    assert parsed.api_version == "2024-06-20"
    assert gateway.api_version == PINNED_VERSION


def test_webhook_endpoints_are_created_pinned_with_exactly_the_given_events(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    created = gateway.create_webhook_endpoint(
        url="https://stubs.example.com/api/payments/webhook/connect",
        events=["account.updated", "payout.failed"],
        connect=True,
        description="connect",
    )

    request = fake_stripe.only_request("POST", "/v1/webhook_endpoints")
    assert request.account is None
    assert request.form == {
        "url": "https://stubs.example.com/api/payments/webhook/connect",
        "enabled_events[0]": "account.updated",
        "enabled_events[1]": "payout.failed",
        "connect": "true",
        "api_version": PINNED_VERSION,
        "description": "connect",
    }
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert (created.connect, created.api_version) == (True, PINNED_VERSION)
    listed = gateway.webhook_endpoints()
    assert [(e.endpoint_id, e.secret, e.connect) for e in listed] == [
        (created.endpoint_id, None, True)
    ]
    updated = gateway.update_webhook_endpoint(created.endpoint_id, events=["account.updated"])
    assert updated.enabled_events == ("account.updated",)
    assert updated.secret is None
