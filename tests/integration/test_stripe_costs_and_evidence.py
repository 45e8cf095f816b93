"""The Stripe adapter's fee reader and dispute answers, at the HTTP level (issue 16 points
2 and 4), against the fake Stripe API with Stripe's own object shapes.

What goes over the wire (paths, ``Stripe-Account``, ``Idempotency-Key``, parameters) and
what the adapter makes of the answers: a charge whose balance transaction is not there yet
is "not yet", never a zero fee; our application fee in ``fee_details`` is never counted as
Stripe's; who paid a fee is whose balance transaction carries it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import CheckoutRequest, PaymentError
from stubcollector.adapters.payments.stripe_gateway import StripeGateway
from stubcollector.config import Settings
from stubcollector.domain.economics import CostKind, FeePayer
from tests.support.stripe_fake import FakeStripe

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe_gateway.stripe.HTTPClient, "_sleep_time_seconds", lambda *_: 0.0)


@pytest.fixture
def gateway(fake_stripe: FakeStripe) -> Iterator[StripeGateway]:
    settings = Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": "sqlite://",
            "PAYMENTS_BACKEND": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_stubcollector",
            "STRIPE_WEBHOOK_SECRET": "whsec_platform_test",
            "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect_test",
            "STRIPE_API_BASE": fake_stripe.url,
        }
    )
    built = StripeGateway.from_settings(settings)
    yield built
    built.close()


@pytest.fixture
def seller(gateway: StripeGateway, fake_stripe: FakeStripe) -> str:
    account = gateway.create_seller_account(user_id=7, email="seller@example.com")
    fake_stripe.complete_onboarding(account.account_id)
    return account.account_id


@pytest.fixture
def payment_intent(gateway: StripeGateway, seller: str, fake_stripe: FakeStripe) -> str:
    checkout = gateway.create_checkout(
        CheckoutRequest(
            order_id=42,
            account_id=seller,
            amount_cents=5000,
            application_fee_cents=500,
            idempotency_key="order:42:payment_intent",
            description="Ticket stub",
        )
    )
    fake_stripe.requests.clear()
    return checkout.payment_intent_id


# --- the fee reader ----------------------------------------------------------------------


def test_a_charge_without_its_balance_transaction_yet_is_not_settled(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    charge = fake_stripe.pay(
        seller, payment_intent, stripe_fee=175, fee_payer="application", settled=False
    )

    costs = gateway.charge_costs(seller, payment_intent)

    assert (costs.settled, costs.charge_id, costs.fees) == (False, charge["id"], ())
    read = fake_stripe.only_request("GET", f"/v1/payment_intents/{payment_intent}")
    assert read.account == seller
    assert read.form == {"expand[0]": "latest_charge.balance_transaction"}
    # Nothing else is asked until the charge has its balance transaction.
    assert fake_stripe.requests_to("GET", "/v1/balance_transactions") == []


def test_platform_paid_processing_fee_is_read_from_the_platform_not_the_seller(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    charge = fake_stripe.pay(
        seller, payment_intent, stripe_fee=175, fee_payer="application", settled=False
    )
    fake_stripe.settle_charge(seller, charge["id"])

    costs = gateway.charge_costs(seller, payment_intent)

    assert costs.settled
    # The seller's balance transaction lists only our application fee: not Stripe's.
    assert (costs.application_fee_id, costs.application_fee_cents) == (
        charge["application_fee"],
        500,
    )
    assert [(f.kind, f.payer, f.amount_cents) for f in costs.fees] == [
        (CostKind.PROCESSING_FEE, FeePayer.PLATFORM, 175)
    ]
    platform_reads = fake_stripe.requests_to("GET", "/v1/balance_transactions")
    # The platform's own balance (no Stripe-Account), by the charge and by our fee.
    assert [(r.account, r.form["source"]) for r in platform_reads] == [
        (None, charge["id"]),
        (None, charge["application_fee"]),
    ]


def test_seller_paid_processing_fee_excludes_our_application_fee(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    fake_stripe.pay(seller, payment_intent, stripe_fee=175, fee_payer="account")

    costs = gateway.charge_costs(seller, payment_intent)

    # The seller's balance transaction has fee = 675 (Stripe's 175 + our 500): only 175
    # is Stripe's, and the seller paid it.
    assert [(f.kind, f.payer, f.amount_cents) for f in costs.fees] == [
        (CostKind.PROCESSING_FEE, FeePayer.SELLER, 175)
    ]
    assert costs.application_fee_cents == 500
    state = gateway.retrieve_payment(seller, payment_intent)
    assert state.processing_fee_cents == 175


def test_dispute_fees_follow_who_carries_the_losses(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    fake_stripe.pay(seller, payment_intent, stripe_fee=175, fee_payer="application")
    platform_pays = fake_stripe.open_dispute(seller, payment_intent, fee_payer="application")

    costs = gateway.dispute_costs(seller, platform_pays["id"])

    assert [(f.kind, f.payer, f.amount_cents) for f in costs.fees] == [
        (CostKind.DISPUTE_FEE, FeePayer.PLATFORM, 1500)
    ]
    read = fake_stripe.only_request("GET", f"/v1/disputes/{platform_pays['id']}")
    assert read.account == seller


def test_dispute_fee_on_the_sellers_withdrawal(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    fake_stripe.pay(seller, payment_intent, stripe_fee=175, fee_payer="account")
    dispute = fake_stripe.open_dispute(seller, payment_intent, fee_payer="account")

    costs = gateway.dispute_costs(seller, dispute["id"])

    assert [(f.kind, f.payer, f.amount_cents) for f in costs.fees] == [
        (CostKind.DISPUTE_FEE, FeePayer.SELLER, 1500)
    ]


# --- answering a dispute -----------------------------------------------------------------


def test_evidence_file_is_uploaded_to_the_sellers_account(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str
) -> None:
    uploaded = gateway.upload_dispute_evidence(
        seller, filename="receipt.pdf", content=PDF, idempotency_key="dispute:dp_1:file:abc"
    )

    request = fake_stripe.only_request("POST", "/v1/files")
    assert request.account == seller
    assert request.idempotency_key == "dispute:dp_1:file:abc"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.form["purpose"] == "dispute_evidence"
    assert request.files["file"] == ("receipt.pdf", PDF)
    assert (uploaded.filename, uploaded.size) == ("receipt.pdf", len(PDF))
    assert uploaded.file_id.startswith("file_")


def test_evidence_is_staged_then_submitted_with_submit_always_explicit(
    gateway: StripeGateway, fake_stripe: FakeStripe, seller: str, payment_intent: str
) -> None:
    fake_stripe.pay(seller, payment_intent, stripe_fee=175, fee_payer="application")
    dispute = fake_stripe.open_dispute(seller, payment_intent)
    evidence = {"product_description": "A 1985 stub", "uncategorized_file": "file_123"}

    staged = gateway.submit_dispute_evidence(
        seller, dispute["id"], evidence=evidence, submit=False, idempotency_key="k1"
    )
    submitted = gateway.submit_dispute_evidence(
        seller, dispute["id"], evidence=evidence, submit=True, idempotency_key="k2"
    )

    first, second = fake_stripe.requests_to("POST", f"/v1/disputes/{dispute['id']}")
    assert first.account == seller
    assert first.idempotency_key == "k1"
    assert first.form == {
        "evidence[product_description]": "A 1985 stub",
        "evidence[uncategorized_file]": "file_123",
        "submit": "false",
    }
    assert second.form["submit"] == "true"
    assert (staged.status, staged.has_evidence, staged.submission_count) == (
        "needs_response",
        True,
        0,
    )
    assert (submitted.status, submitted.submission_count) == ("under_review", 1)

    with pytest.raises(PaymentError, match="refused to send the dispute evidence"):
        gateway.submit_dispute_evidence(
            seller, dispute["id"], evidence=evidence, submit=True, idempotency_key="k3"
        )
