"""The app in Stripe mode against the fake Stripe API: sellers' accounts and their payout
hold (issue 16 point 6), idempotency key namespaces and keys in use (point 8).

Every test runs the real services and the real Stripe adapter; only Stripe's servers are
the fake (``tests/support/stripe_fake.py``), answering with Stripe's own example objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from stubcollector.adapters.payments import stripe_gateway, stripe_objects
from stubcollector.adapters.payments.ports import PaymentFacts
from stubcollector.container import payment_gateway
from stubcollector.extensions import db
from stubcollector.models import (
    AppSetting,
    AuditLogEntry,
    StubOrder,
    StubPayment,
    StubRefund,
    User,
)
from stubcollector.services import checkout, idempotency, onboarding, reconcile
from stubcollector.services.orders import disputes, evidence, payments, refund_ledger, refunds
from stubcollector.services.orders.state import SYSTEM
from tests.support.database import reloaded
from tests.support.factories import UserFactory
from tests.support.payments import listing_of
from tests.support.stripe_fake import FakeStripe

CONNECT_SECRET = "whsec_accounts_connect"
PLATFORM_SECRET = "whsec_accounts_platform"
URLS = {"return_url": "https://stubs.test/r", "refresh_url": "https://stubs.test/f"}
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
KEY_IN_USE = {
    "type": "invalid_request_error",
    "code": "idempotency_key_in_use",
    "message": "There is currently another in-progress request using this Idempotency-Key.",
}


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe_gateway.stripe.HTTPClient, "_sleep_time_seconds", lambda *_: 0.0)


@pytest.fixture
def stripe_app(
    make_app: Callable[..., Flask], fake_stripe: FakeStripe
) -> Callable[..., Iterator[Flask]]:
    def build(**overrides: Any) -> Flask:
        return make_app(
            payments_backend="stripe",
            stripe_secret_key="sk_test_accounts",
            stripe_public_key="pk_test_accounts",
            stripe_webhook_secret=PLATFORM_SECRET,
            stripe_connect_webhook_secret=CONNECT_SECRET,
            stripe_api_base=fake_stripe.url,
            **overrides,
        )

    return build  # type: ignore[return-value]


@pytest.fixture
def in_stripe_mode(stripe_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = stripe_app()
    with app.app_context():
        yield app
        db.session.remove()


def _audit(action: str) -> list[AuditLogEntry]:
    return list(db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == action)))


def _account_posts(fake: FakeStripe) -> int:
    return len(fake.requests_to("POST", "/v1/accounts"))


# --- point 6: onboarding never duplicates an account --------------------------------------


def test_the_account_id_is_stored_before_the_payout_hold_is_asked_for(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    seller = UserFactory.create()
    # Stripe keeps failing the payout schedule (the SDK's two retries included).
    fake_stripe.fail_next(3, status=500, method="POST", path_prefix="/v1/accounts/acct_")

    started = onboarding.start_onboarding(seller, **URLS)

    stored = reloaded(User, seller.id)
    assert stored.stripe_account_id == started.account_id  # kept although the hold failed
    assert stored.stripe_payout_schedule_status == "pending"
    assert started.url.startswith("https://connect.stripe.test/")  # the seller goes on
    assert _account_posts(fake_stripe) == 1

    # The seller comes back: no second account, and the hold is asked for again.
    again = onboarding.start_onboarding(stored, **URLS)

    assert again.account_id == started.account_id
    assert not again.account_created
    assert _account_posts(fake_stripe) == 1
    assert len(fake_stripe.accounts) == 1
    fresh = reloaded(User, seller.id)
    assert (fresh.stripe_payout_schedule_status, fresh.stripe_payout_delay_days) == ("set", 7)
    schedule = fake_stripe.accounts[started.account_id]["settings"]["payouts"]["schedule"]
    assert schedule == {"interval": "daily", "delay_days": 7}
    hold_keys = {
        r.idempotency_key
        for r in fake_stripe.requests_to("POST", f"/v1/accounts/{started.account_id}")
    }
    assert hold_keys == {idempotency.key("account", started.account_id, "payout_schedule", 7)}


def test_a_payout_hold_without_an_answer_is_set_by_the_account_sweep(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    seller = UserFactory.create()
    fake_stripe.fail_next(3, drop=True, method="POST", path_prefix="/v1/accounts/acct_")
    account_id = onboarding.start_onboarding(seller, **URLS).account_id
    assert reloaded(User, seller.id).stripe_payout_schedule_status == "pending"
    assert onboarding.payout_holds_pending() == [seller.id]

    report = onboarding.refresh_stale_accounts()

    assert report.payout_holds_set == 1
    fresh = reloaded(User, seller.id)
    assert (fresh.stripe_payout_schedule_status, fresh.stripe_payout_delay_days) == ("set", 7)
    assert fake_stripe.accounts[account_id]["settings"]["payouts"]["schedule"]["delay_days"] == 7
    assert [e.details["payout_delay_days"] for e in _audit("seller.payout_hold_set")] == [7]
    assert onboarding.payout_holds_pending() == []
    assert _account_posts(fake_stripe) == 1


def test_a_refused_payout_hold_is_skipped_with_stripes_reason(
    stripe_app: Callable[..., Flask], fake_stripe: FakeStripe
) -> None:
    app = stripe_app(stripe_account_liability="stripe")
    with app.app_context():
        seller = UserFactory.create()
        account_id = onboarding.start_onboarding(seller, **URLS).account_id
        fresh = reloaded(User, seller.id)

        assert fresh.stripe_account_id == account_id
        assert fresh.stripe_payout_schedule_status == "skipped"
        assert fresh.stripe_payout_schedule_note is not None
        assert "delay_days" in fresh.stripe_payout_schedule_note  # Stripe's own words
        status = onboarding.seller_account(fresh)
        assert (status.payout_schedule_status, status.payout_schedule_days) == ("skipped", 2)
        entry = _audit("seller.payout_hold_skipped")[0]
        assert entry.details["reason"] == fresh.stripe_payout_schedule_note

        # Not asked again: neither by the sweep nor by the seller's next visit.
        posts = len(fake_stripe.requests_to("POST", f"/v1/accounts/{account_id}"))
        onboarding.refresh_stale_accounts()
        onboarding.refresh_status(fresh)
        assert len(fake_stripe.requests_to("POST", f"/v1/accounts/{account_id}")) == posts == 1
        # Orders record the hold the seller really has: Stripe's, not ours.
        fake_stripe.complete_onboarding(account_id)
        onboarding.refresh_status(fresh)
        listing = listing_of(reloaded(User, seller.id))
        started = checkout.create_payment_intent(UserFactory.create(), listing.id)
        assert reloaded(StubOrder, started.order_id).seller_payout_schedule_days == 2
        db.session.remove()


def test_a_hold_that_reached_stripe_without_its_answer_is_recognised_on_the_next_read(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    seller = UserFactory.create()
    # The request reaches Stripe and is applied; its answer is lost on the way back.
    fake_stripe.fail_next(
        3, status=500, method="POST", path_prefix="/v1/accounts/acct_", answer_lost=True
    )
    account_id = onboarding.start_onboarding(seller, **URLS).account_id
    assert reloaded(User, seller.id).stripe_payout_schedule_status == "pending"
    assert fake_stripe.accounts[account_id]["settings"]["payouts"]["schedule"]["delay_days"] == 7

    onboarding.sync_account(payment_gateway().retrieve_account(account_id))

    assert reloaded(User, seller.id).stripe_payout_schedule_status == "set"


# --- point 8: idempotency keys in this database's namespace --------------------------------


@dataclass(frozen=True)
class PaidSale:
    buyer: User
    order_id: int
    account_id: str


def _paid_sale(fake: FakeStripe) -> PaidSale:
    seller = UserFactory.create()
    account_id = onboarding.start_onboarding(seller, **URLS).account_id
    fake.complete_onboarding(account_id)
    onboarding.refresh_status(reloaded(User, seller.id))
    listing = listing_of(reloaded(User, seller.id), price_cents=5000)
    buyer = UserFactory.create()
    started = checkout.create_payment_intent(buyer, listing.id)
    fake.pay(account_id, started.payment_intent_id, stripe_fee=175)
    charge = fake.payment_intents[(account_id, started.payment_intent_id)]["latest_charge"]
    payments.apply_payment_succeeded(
        PaymentFacts(started.payment_intent_id, order_id=started.order_id, charge_id=charge)
    )
    return PaidSale(reloaded(User, buyer.id), started.order_id, account_id)


def test_every_key_sent_carries_this_databases_namespace(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    namespace = idempotency.namespace()
    assert namespace == db.session.scalar(
        select(AppSetting.value).where(AppSetting.name == "idempotency_namespace")
    )
    sale = _paid_sale(fake_stripe)
    order_id, account_id = sale.order_id, sale.account_id
    refunds.request_refund(sale.buyer, order_id)

    seller_id = db.session.scalar(select(User.id).where(User.stripe_account_id == account_id))
    keys = {
        (r.method, r.path): r.idempotency_key for r in fake_stripe.requests if r.method == "POST"
    }
    assert keys[("POST", "/v1/accounts")] == f"{namespace}:user:{seller_id}:account"
    assert keys[("POST", f"/v1/accounts/{account_id}")] == (
        f"{namespace}:account:{account_id}:payout_schedule:7"
    )
    assert keys[("POST", "/v1/payment_intents")] == f"{namespace}:order:{order_id}:payment_intent"
    assert keys[("POST", "/v1/refunds")] == f"{namespace}:order:{order_id}:refund"
    stored = db.session.scalars(select(StubRefund.idempotency_key)).all()
    assert stored == [f"{namespace}:order:{order_id}:refund"]


def test_dispute_evidence_keys_carry_the_namespace_too(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    namespace = idempotency.namespace()
    sale = _paid_sale(fake_stripe)
    payment = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == sale.order_id)
    ).one()
    dispute = fake_stripe.open_dispute(sale.account_id, payment.payment_intent_id)
    disputes.apply_dispute(stripe_objects.dispute_facts(dispute))
    seller = db.session.scalars(select(User).where(User.stripe_account_id == sale.account_id)).one()

    evidence.upload_evidence_file(
        seller, dispute["id"], field="receipt", filename="receipt.pdf", content=PDF
    )
    evidence.send_evidence(
        reloaded(User, seller.id), dispute["id"], {"product_description": "A stub"}, submit=False
    )

    (upload,) = fake_stripe.requests_to("POST", "/v1/files")
    assert upload.idempotency_key is not None
    assert upload.idempotency_key.startswith(f"{namespace}:dispute:{dispute['id']}:file:receipt:")
    (staged,) = fake_stripe.requests_to("POST", f"/v1/disputes/{dispute['id']}")
    assert staged.idempotency_key is not None
    assert staged.idempotency_key.startswith(f"{namespace}:dispute:{dispute['id']}:evidence:")


def test_a_configured_prefix_names_the_namespace(
    stripe_app: Callable[..., Flask], fake_stripe: FakeStripe
) -> None:
    app = stripe_app(idempotency_key_prefix="staging")
    with app.app_context():
        seller = UserFactory.create()
        onboarding.start_onboarding(seller, **URLS)
        assert fake_stripe.only_request("POST", "/v1/accounts").idempotency_key == (
            f"staging:user:{seller.id}:account"
        )
        db.session.remove()


def test_two_databases_sharing_a_stripe_account_send_different_keys_for_the_same_ids(
    in_stripe_mode: Flask, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a reset test database is: the same ids again, from a new database (a new
    # namespace; the cached one of this process is forgotten, the row recreated).
    seller = UserFactory.create()
    first = onboarding.start_onboarding(seller, **URLS).account_id
    db.session.execute(AppSetting.__table__.delete())
    db.session.execute(User.__table__.update().values(stripe_account_id=None))
    db.session.commit()
    in_stripe_mode.extensions.pop("stubcollector.idempotency_namespace")

    second = onboarding.start_onboarding(reloaded(User, seller.id), **URLS).account_id

    keys = [r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/accounts")]
    assert len(set(keys)) == 2
    assert {key.split(":", 1)[1] for key in keys if key} == {f"user:{seller.id}:account"}
    assert first != second  # without the namespace Stripe would replay the first account


def test_operations_in_flight_keep_the_keys_they_were_stored_with(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    order_id = _paid_sale(fake_stripe).order_id
    # As the code before the namespace left them: unprefixed keys, and a refund whose
    # request got no answer (attempt requested, payment claimed).
    db.session.execute(
        StubPayment.__table__.update()
        .where(StubPayment.order_id == order_id)
        .values(idempotency_key=f"order:{order_id}:payment_intent", payment_status="refund_pending")
    )
    db.session.add(
        StubRefund(
            order_id=order_id,
            attempt=1,
            idempotency_key=f"order:{order_id}:refund",
            status="requested",
            amount_cents=5000,
        )
    )
    db.session.commit()
    fake_stripe.requests.clear()

    reconcile.reconcile()

    db.session.expire_all()
    assert db.session.scalars(select(StubRefund.status)).all() == ["succeeded"]
    refund_keys = [r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/refunds")]
    assert refund_keys == [f"order:{order_id}:refund"]


def test_a_repeated_checkout_sends_the_key_its_payment_intent_was_made_with(
    in_stripe_mode: Flask, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = UserFactory.create()
    account_id = onboarding.start_onboarding(seller, **URLS).account_id
    fake_stripe.complete_onboarding(account_id)
    onboarding.refresh_status(reloaded(User, seller.id))
    listing = listing_of(reloaded(User, seller.id))
    buyer = UserFactory.create()
    # Made by the code before the namespace existed, under its unprefixed key.
    with monkeypatch.context() as patched:
        patched.setattr(checkout, "payment_intent_key", lambda order_id: f"order:{order_id}:pi")
        first = checkout.create_payment_intent(buyer, listing.id)
    legacy = f"order:{first.order_id}:pi"
    assert fake_stripe.only_request("POST", "/v1/payment_intents").idempotency_key == legacy

    again = checkout.create_payment_intent(reloaded(User, buyer.id), listing.id)

    assert again.payment_intent_id == first.payment_intent_id
    assert fake_stripe.requests_to("POST", "/v1/payment_intents")[-1].idempotency_key == legacy
    assert len(fake_stripe.payment_intents) == 1


def test_a_refund_whose_key_is_in_use_is_asked_again_not_recorded_as_failed(
    in_stripe_mode: Flask, fake_stripe: FakeStripe
) -> None:
    sale = _paid_sale(fake_stripe)
    buyer, order_id = sale.buyer, sale.order_id
    # Another request with this key is still running at Stripe, through every SDK retry.
    fake_stripe.fail_next(3, status=409, error=KEY_IN_USE, path="/v1/refunds")

    view = refunds.request_refund(buyer, order_id)

    assert view.refund_state == "pending"  # not failed, not reverted: the refund may be on
    payment = db.session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).one()
    assert payment.payment_status == "refund_pending"
    attempt = db.session.scalars(select(StubRefund)).one()
    assert (attempt.status, attempt.failure_reason) == ("requested", None)
    assert _audit("order.refund_failed") == []
    assert _audit("order.refund_unanswered")[0].details["in_progress"] is True

    reconcile.reconcile()

    db.session.expire_all()
    assert db.session.scalars(select(StubRefund.status)).all() == ["succeeded"]
    keys = {r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/refunds")}
    assert keys == {refund_ledger.refund_key(order_id, 1)}
    assert len(fake_stripe.refunds) == 1
    assert refund_ledger.settle_refund(order_id, SYSTEM, revert_on_failure=False) is None
