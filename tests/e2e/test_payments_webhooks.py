"""Webhook deliveries built from Stripe's own fixture objects: signatures, replays,
duplicates, out-of-order delivery, unknown and failing events, IP allowlist."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from stubcollector.adapters.payments.ports import CheckoutRequest
from stubcollector.adapters.payments.sandbox.signing import signature_header
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import (
    AuditLogEntry,
    ProviderEvent,
    StubDispute,
    StubListing,
    StubOrder,
    StubPayment,
    User,
)
from stubcollector.services import checkout, reconcile
from tests.support.clients import anonymous_client
from tests.support.database import row_count
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, sandbox, sandbox_seller
from tests.support.stripe_events import (
    charge_payload,
    dispute_payload,
    fixture,
    payment_intent_payload,
    signed,
    stripe_event,
)

CONNECT = "/api/payments/webhook/connect"
PLATFORM = "/api/payments/webhook"


@dataclass
class Sale:
    order_id: int
    listing_id: int
    pi_id: str
    account: str
    amount: int
    fee: int
    charge_id: str = "ch_3PgafyB7WZ01zgkW0p2jsSzE"

    def succeeded(self, event_id: str = "evt_succeeded") -> dict[str, Any]:
        pi = payment_intent_payload(
            pi_id=self.pi_id,
            amount=self.amount,
            fee=self.fee,
            order_id=self.order_id,
            status="succeeded",
            charge_id=self.charge_id,
        )
        return stripe_event("payment_intent.succeeded", pi, account=self.account, event_id=event_id)

    def refunded(self, event_id: str = "evt_refunded") -> dict[str, Any]:
        charge = charge_payload(
            charge_id=self.charge_id,
            pi_id=self.pi_id,
            amount=self.amount,
            refunded=self.amount,
            refund_id="re_3PgafyB7WZ01zgkW0kWYdbv7",
        )
        return stripe_event("charge.refunded", charge, account=self.account, event_id=event_id)

    def dispute(self, event_type: str, status: str, event_id: str) -> dict[str, Any]:
        dispute = dispute_payload(
            dispute_id="dp_1Pgc71B7WZ01zgkWMevJiAUx",
            charge_id=self.charge_id,
            pi_id=self.pi_id,
            amount=self.amount,
            status=status,
        )
        return stripe_event(event_type, dispute, account=self.account, event_id=event_id)


@pytest.fixture
def webhook_client(app: Flask) -> FlaskClient:
    return anonymous_client(app)


@pytest.fixture
def new_sale(app: Flask) -> Callable[[], Sale]:
    seller = sandbox_seller()

    def make() -> Sale:
        listing = listing_of(seller)
        buyer = UserFactory.create()
        result = checkout.create_payment_intent(buyer, listing.id)
        return Sale(
            order_id=result.order_id,
            listing_id=listing.id,
            pi_id=result.payment_intent_id,
            account=result.stripe_account_id,
            amount=result.total_amount_cents,
            fee=result.platform_fee_cents,
        )

    return make


def _secret(endpoint: str = CONNECT) -> str:
    config = container().settings
    return (
        config.stripe_connect_webhook_secret
        if endpoint == CONNECT
        else config.stripe_webhook_secret
    )


def _post(
    client: FlaskClient, event: dict[str, Any], *, endpoint: str = CONNECT, **kwargs: Any
) -> Any:
    body, headers = signed(event, _secret(endpoint), **kwargs)
    return client.post(endpoint, data=body, headers=headers)


def _state(sale: Sale) -> tuple[str, str, str | None]:
    db.session.expire_all()
    order = db.session.get(StubOrder, sale.order_id)
    listing = db.session.get(StubListing, sale.listing_id)
    payment = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == sale.order_id)
    ).one()
    assert order is not None
    assert listing is not None
    return order.order_status, listing.status, payment.payment_status


def test_success_event_built_from_stripe_fixtures_marks_the_order_paid(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    response = _post(webhook_client, sale.succeeded())
    assert response.status_code == 200
    assert response.json == {
        "status": "success",
        "received": True,
        "duplicate": False,
        "event_id": "evt_succeeded",
    }
    assert _state(sale) == ("payment_completed", "sold", "succeeded")
    payment = db.session.scalars(select(StubPayment)).one()
    assert payment.charge_id == sale.charge_id
    # The fixture's latest_charge is an id, not an expanded charge: the fee stays unknown.
    assert payment.stripe_processing_fee_cents is None


def test_duplicate_delivery_is_acknowledged_and_ignored(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    assert _post(webhook_client, sale.succeeded()).json["duplicate"] is False
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLogEntry))
    events_before = row_count(ProviderEvent)

    again = _post(webhook_client, sale.succeeded())  # a retry: new timestamp, same id

    assert again.status_code == 200
    assert again.json["duplicate"] is True
    assert row_count(ProviderEvent) == events_before
    assert db.session.scalar(select(func.count()).select_from(AuditLogEntry)) == audit_before
    assert _state(sale) == ("payment_completed", "sold", "succeeded")


def test_replayed_event_with_a_stale_timestamp_is_refused(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    events_before = row_count(ProviderEvent)
    stale = _post(webhook_client, sale.succeeded(), timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    assert "tolerance" in stale.json["message"]
    assert row_count(ProviderEvent) == events_before
    assert _state(sale)[0] == "pending"
    within = _post(webhook_client, sale.succeeded(), timestamp=int(time.time()) - 200)
    assert within.status_code == 200


def test_forged_deliveries_are_refused(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    event = sale.succeeded()
    events_before = row_count(ProviderEvent)
    body, headers = signed(event, "whsec_attacker")
    assert webhook_client.post(CONNECT, data=body, headers=headers).status_code == 400

    body, headers = signed(event, _secret())
    tampered = body.replace(str(sale.amount).encode(), b"1", 1)
    assert webhook_client.post(CONNECT, data=tampered, headers=headers).status_code == 400
    assert webhook_client.post(CONNECT, data=body).status_code == 400  # no signature
    # A platform-signed event is not valid on the Connect endpoint: separate secrets.
    body, headers = signed(event, _secret(PLATFORM))
    assert webhook_client.post(CONNECT, data=body, headers=headers).status_code == 400
    assert row_count(ProviderEvent) == events_before
    assert _state(sale)[0] == "pending"

    # While a secret is rolled, one matching v1 among several is enough.
    body, headers = signed(event, _secret())
    headers["Stripe-Signature"] += ",v1=" + "0" * 64
    assert webhook_client.post(CONNECT, data=body, headers=headers).status_code == 200


ORDERINGS = list(itertools.permutations(["succeeded", "refunded"]))


@pytest.mark.parametrize("ordering", ORDERINGS, ids=["-".join(o) for o in ORDERINGS])
def test_refund_before_success_reaches_the_same_end_state(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient, ordering: tuple[str, ...]
) -> None:
    sale = new_sale()
    for name in ordering:
        assert _post(webhook_client, getattr(sale, name)()).status_code == 200
    assert _state(sale) == ("refunded", "active", "refunded")
    payment = db.session.scalars(select(StubPayment)).one()
    assert payment.refund_id == "re_3PgafyB7WZ01zgkW0kWYdbv7"
    assert payment.amount_refunded_cents == sale.amount


DISPUTE_STEPS = ["succeeded", "created", "closed"]
DISPUTE_ORDERINGS = list(itertools.permutations(DISPUTE_STEPS))


@pytest.mark.parametrize("outcome", ["won", "lost"])
@pytest.mark.parametrize(
    "ordering", DISPUTE_ORDERINGS, ids=["-".join(o) for o in DISPUTE_ORDERINGS]
)
def test_dispute_events_in_any_order_reach_the_same_end_state(
    new_sale: Callable[[], Sale],
    webhook_client: FlaskClient,
    ordering: tuple[str, ...],
    outcome: str,
) -> None:
    sale = new_sale()
    events = {
        "succeeded": sale.succeeded(),
        "created": sale.dispute("charge.dispute.created", "needs_response", "evt_dp_created"),
        "closed": sale.dispute("charge.dispute.closed", outcome, "evt_dp_closed"),
    }
    for name in ordering:
        assert _post(webhook_client, events[name]).status_code == 200
    expected = "payment_completed" if outcome == "won" else "disputed"
    assert _state(sale)[:2] == (expected, "sold")
    dispute = db.session.scalars(select(StubDispute)).one()
    assert dispute.status == outcome
    failed = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.processing_status == "failed")
    ).all()
    assert failed == []


def test_unknown_event_types_are_acknowledged_and_logged(
    app: Flask, webhook_client: FlaskClient
) -> None:
    fee = fixture("balance")
    event = stripe_event("balance.available", fee, account=None, event_id="evt_balance")
    response = _post(webhook_client, event, endpoint=PLATFORM)
    assert response.status_code == 200
    row = db.session.scalars(select(ProviderEvent)).one()
    assert (row.event_type, row.processing_status, row.attempts) == (
        "balance.available",
        "ignored",
        1,
    )


def test_a_failing_event_is_kept_visible_and_processed_by_reconciliation(
    app: Flask, webhook_client: FlaskClient
) -> None:
    # Stripe's event can beat our own write: the PaymentIntent exists at the provider, the
    # payment row does not yet (checkout step 3 has not committed).
    seller = sandbox_seller()
    listing = listing_of(seller)
    buyer = UserFactory.create()
    prepared = checkout._reserve_and_create_order(buyer, listing.id, None)
    made = sandbox().create_checkout(
        CheckoutRequest(
            order_id=prepared.order_id,
            account_id=prepared.account_id,
            amount_cents=prepared.split.total_cents,
            application_fee_cents=prepared.split.platform_fee_cents,
            idempotency_key=checkout.payment_intent_key(prepared.order_id),
            description=prepared.description,
            metadata=prepared.metadata,
        )
    )
    sale = Sale(prepared.order_id, listing.id, made.payment_intent_id, made.account_id, 2500, 250)
    assert _post(webhook_client, sale.succeeded("evt_early")).status_code == 200
    row = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == "evt_early")
    ).one()
    assert row.processing_status == "failed"
    assert "UnknownPayment" in (row.last_error or "")

    checkout._store_payment(prepared, made)
    report = reconcile.reconcile()

    assert report.events_retried.get("processed", 0) >= 1
    db.session.expire_all()
    row = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == "evt_early")
    ).one()
    assert (row.processing_status, row.attempts, row.last_error) == ("processed", 2, None)
    assert _state(sale)[:2] == ("payment_completed", "sold")


def test_payout_events_are_recorded(app: Flask, webhook_client: FlaskClient) -> None:
    seller = sandbox_seller()
    paid = fixture("payout")
    paid.update(id="po_paid", status="paid")
    failed = fixture("payout")
    failed.update(
        id="po_failed",
        status="failed",
        failure_code="account_closed",
        failure_message="The bank account has been closed",
    )
    for event_type, payout, event_id in (
        ("payout.paid", paid, "evt_po_1"),
        ("payout.failed", failed, "evt_po_2"),
    ):
        event = stripe_event(
            event_type, payout, account=seller.stripe_account_id, event_id=event_id
        )
        assert _post(webhook_client, event).status_code == 200
    entries = {
        e.object_id: e
        for e in db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.object_type == "payout")
        )
    }
    assert entries["po_paid"].action == "payout.paid"
    assert entries["po_failed"].details["failure_code"] == "account_closed"


def test_account_updated_re_reads_the_account_instead_of_trusting_the_payload(
    app: Flask, webhook_client: FlaskClient
) -> None:
    seller = sandbox_seller()
    stale = fixture("account")  # says charges_enabled: false, requirements past due
    stale["id"] = seller.stripe_account_id
    event = stripe_event(
        "account.updated", stale, account=seller.stripe_account_id, event_id="evt_acct"
    )
    assert _post(webhook_client, event).status_code == 200
    db.session.expire_all()
    user = db.session.get(User, seller.id)
    assert user is not None
    assert user.stripe_account_status == "active"
    assert user.stripe_charges_enabled is True


@pytest.fixture
def allowlisted_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(webhook_ip_allowlist=("3.18.12.63", "10.0.0.0/8"))


def test_ip_allowlist_is_a_second_layer_when_configured(allowlisted_app: Flask) -> None:
    event = stripe_event("balance.available", fixture("balance"), account=None, event_id="evt_ip")
    with allowlisted_app.app_context():
        client = allowlisted_app.test_client()
        body, headers = signed(event, container().settings.stripe_webhook_secret)
        spoofed = client.post(
            PLATFORM, data=body, headers={**headers, "X-Forwarded-For": "3.18.12.63"}
        )
        # Without TRUSTED_PROXY_COUNT the header is not believed.
        assert spoofed.status_code == 403
        allowed = client.post(
            PLATFORM, data=body, headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"}
        )
        assert allowed.status_code == 200
        forged = client.post(
            PLATFORM,
            data=body,
            headers={"Stripe-Signature": "t=1,v1=00"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        # An allowed address does not replace the signature.
        assert forged.status_code == 400
        db.session.remove()


def test_ip_allowlist_trusts_forwarded_for_only_behind_a_configured_proxy(
    make_app: Callable[..., Flask],
) -> None:
    proxied = make_app(webhook_ip_allowlist=("3.18.12.63",), trusted_proxy_count=1)
    event = stripe_event("balance.available", fixture("balance"), account=None, event_id="evt_px")
    with proxied.app_context():
        body, headers = signed(event, container().settings.stripe_webhook_secret)
        response = proxied.test_client().post(
            PLATFORM, data=body, headers={**headers, "X-Forwarded-For": "3.18.12.63"}
        )
        assert response.status_code == 200
        db.session.remove()


def test_events_for_payment_intents_that_are_not_ours_are_ignored(
    app: Flask, webhook_client: FlaskClient
) -> None:
    foreign = fixture("payment_intent")  # no order_id in its metadata
    foreign.update(status="succeeded")
    event = stripe_event(
        "payment_intent.succeeded", foreign, account="acct_1PgafTB7WZ01zgkW", event_id="evt_other"
    )
    assert _post(webhook_client, event).status_code == 200
    row = db.session.scalars(select(ProviderEvent)).one()
    assert (row.processing_status, row.last_error) == ("ignored", None)


def test_a_partial_refund_is_recorded_without_refunding_the_order(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    _post(webhook_client, sale.succeeded())
    charge = charge_payload(
        charge_id=sale.charge_id, pi_id=sale.pi_id, amount=sale.amount, refunded=1000,
        refund_id="re_partial",
    )  # fmt: skip
    event = stripe_event("charge.refunded", charge, account=sale.account, event_id="evt_part")
    assert _post(webhook_client, event).status_code == 200
    assert _state(sale) == ("payment_completed", "sold", "succeeded")
    payment = db.session.scalars(select(StubPayment)).one()
    assert payment.amount_refunded_cents == 1000
    actions = set(db.session.scalars(select(AuditLogEntry.action)))
    assert "order.partially_refunded" in actions


def test_a_signed_payload_that_is_not_an_event_is_refused(
    app: Flask, webhook_client: FlaskClient
) -> None:
    for body in (b"not json", b"[1, 2]", b'{"id": "evt_x"}'):
        headers = {"Stripe-Signature": signature_header(body, _secret())}
        response = webhook_client.post(CONNECT, data=body, headers=headers)
        assert response.status_code == 400, body
    assert row_count(ProviderEvent) == 0


def test_event_of_the_other_mode_is_acknowledged_and_not_applied(
    new_sale: Callable[[], Sale],
    webhook_client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A Connect endpoint also receives connected accounts' events of the other mode; the
    # sandbox is a test-mode key, so a live event must not pay a test order.
    sale = new_sale()
    live = sale.succeeded("evt_live_succeeded") | {"livemode": True}
    events_before = row_count(ProviderEvent)

    response = _post(webhook_client, live)

    assert response.status_code == 200
    assert response.json["event_id"] == "evt_live_succeeded"
    assert row_count(ProviderEvent) == events_before
    assert _state(sale) == ("pending", "payment_pending", "requires_payment_method")
    assert "ignoring live event evt_live_succeeded" in caplog.text
    # The same event in our own mode is applied.
    assert _post(webhook_client, sale.succeeded("evt_test_succeeded")).status_code == 200
    assert _state(sale) == ("payment_completed", "sold", "succeeded")
