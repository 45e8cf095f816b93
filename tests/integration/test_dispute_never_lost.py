"""A dispute is never lost (issue 16 point 3).

The case that lost disputes: a sale is refunded, its listing goes back on sale and is
bought by someone else, and then the first buyer's bank disputes the (refunded) charge.
Moving the first order to ``disputed`` used to collide with the second order in the
partial unique index "one order holds a listing"; every retry failed the same way and the
dispute was never recorded. Both databases; the sandbox is the provider, its events reach
our handlers signed, and the dispute event is Stripe's own fixture with our ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent, StubDispute, StubListing, StubOrder, StubPayment
from stubcollector.services import checkout
from stubcollector.services.orders import disputes, refunds
from tests.support.clients import anonymous_client
from tests.support.factories import AdminFactory, UserFactory
from tests.support.payments import listing_of, sandbox_pages, sandbox_seller
from tests.support.stripe_events import dispute_payload, signed, stripe_event

CONNECT = "/api/payments/webhook/connect"


@dataclass(frozen=True)
class Paid:
    order_id: int
    pi_id: str
    charge_id: str
    account: str
    amount: int


def _buy(listing_id: int) -> Paid:
    started = checkout.create_payment_intent(UserFactory.create(), listing_id)
    sandbox_pages().confirm_payment(started.payment_intent_id, started.client_secret, CARD_SUCCESS)
    payment = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == started.order_id)
    ).one()
    db.session.refresh(payment)
    assert payment.charge_id is not None
    return Paid(
        started.order_id,
        started.payment_intent_id,
        payment.charge_id,
        started.stripe_account_id,
        started.total_amount_cents,
    )


def _status(order_id: int) -> tuple[str, str | None]:
    db.session.expire_all()
    order = db.session.get(StubOrder, order_id)
    assert order is not None
    return order.order_status, order.status_before_dispute


def _dispute_event(paid: Paid, status: str, event_id: str, kind: str) -> dict[str, object]:
    dispute = dispute_payload(
        dispute_id="dp_refunded_then_resold",
        charge_id=paid.charge_id,
        pi_id=paid.pi_id,
        amount=paid.amount,
        status=status,
    )
    return stripe_event(f"charge.dispute.{kind}", dispute, account=paid.account, event_id=event_id)


def _deliver(client: FlaskClient, event: dict[str, object]) -> None:
    body, headers = signed(event, container().settings.stripe_connect_webhook_secret)
    assert client.post(CONNECT, data=body, headers=headers).status_code == 200


@pytest.fixture
def refunded_then_resold(app: Flask) -> tuple[Paid, Paid, int]:
    listing_id = listing_of(sandbox_seller()).id
    first = _buy(listing_id)
    refunds.request_refund(AdminFactory.create(), first.order_id, reason="changed mind")
    assert _status(first.order_id)[0] == "refunded"
    second = _buy(listing_id)  # the listing went back on sale and sold again
    assert _status(second.order_id)[0] == "payment_completed"
    return first, second, listing_id


def test_a_dispute_on_a_refunded_and_resold_sale_is_recorded_and_marks_its_order(
    app: Flask, refunded_then_resold: tuple[Paid, Paid, int]
) -> None:
    first, second, listing_id = refunded_then_resold
    client = anonymous_client(app)

    _deliver(client, _dispute_event(first, "needs_response", "evt_dp_created", "created"))

    event = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == "evt_dp_created")
    ).one()
    assert (event.processing_status, event.last_error) == ("processed", None)
    dispute = db.session.scalars(select(StubDispute)).one()
    assert (dispute.order_id, dispute.status) == (first.order_id, "needs_response")
    assert _status(first.order_id) == ("disputed", "refunded")
    # The second buyer keeps the stub: the disputed first order does not hold the listing.
    assert _status(second.order_id) == ("payment_completed", None)
    listing = db.session.get(StubListing, listing_id)
    assert listing is not None
    assert listing.status == "sold"

    _deliver(client, _dispute_event(first, "won", "evt_dp_won", "closed"))
    assert _status(first.order_id) == ("refunded", None)
    assert _status(second.order_id) == ("payment_completed", None)


def test_the_dispute_is_saved_even_when_its_order_cannot_follow(
    app: Flask, refunded_then_resold: tuple[Paid, Paid, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _second, _listing = refunded_then_resold

    def collide(*_args: object) -> None:
        raise IntegrityError("UPDATE stub_orders", {}, Exception("a constraint nobody foresaw"))

    monkeypatch.setattr(disputes, "_settle_dispute_status", collide)
    _deliver(
        anonymous_client(app), _dispute_event(first, "needs_response", "evt_dp_fails", "created")
    )

    event = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == "evt_dp_fails")
    ).one()
    assert event.processing_status == "failed"  # retried later for the order's sake
    dispute = db.session.scalars(select(StubDispute)).one()
    assert (dispute.order_id, dispute.dispute_id) == (first.order_id, "dp_refunded_then_resold")


def test_a_dispute_on_a_late_payment_being_refunded_marks_its_cancelled_order(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payment that arrived after its reservation was lost is refunded automatically; while
    that refund is still pending the buyer's bank disputes the charge. The cancelled order
    becomes disputed without taking the listing from the buyer who bought it since."""
    from datetime import timedelta

    from sqlalchemy import update

    from stubcollector.adapters.payments.ports import PaymentProviderUnavailable
    from stubcollector.adapters.payments.sandbox.cards import CARD_REFUND_PENDING
    from stubcollector.models import utcnow
    from tests.support.payments import sandbox

    listing_id = listing_of(sandbox_seller()).id
    late = checkout.create_payment_intent(UserFactory.create(), listing_id)
    db.session.execute(
        update(StubListing)
        .where(StubListing.id == listing_id)
        .values(reserved_until=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()

    def unreachable(*args: object, **kwargs: object) -> None:
        raise PaymentProviderUnavailable("timed out")

    monkeypatch.setattr(sandbox(), "cancel_checkout", unreachable)
    second = _buy(listing_id)
    monkeypatch.undo()
    sandbox_pages().confirm_payment(late.payment_intent_id, late.client_secret, CARD_REFUND_PENDING)
    assert _status(late.order_id) == ("cancelled", None)  # its refund is pending
    payment = db.session.scalars(
        select(StubPayment).where(StubPayment.order_id == late.order_id)
    ).one()
    assert payment.payment_status == "refund_pending"
    paid = Paid(
        late.order_id,
        late.payment_intent_id,
        str(payment.charge_id),
        late.stripe_account_id,
        late.total_amount_cents,
    )

    client = anonymous_client(app)
    _deliver(client, _dispute_event(paid, "needs_response", "evt_dp_late", "created"))
    assert _status(late.order_id) == ("disputed", "cancelled")
    assert _status(second.order_id) == ("payment_completed", None)

    _deliver(client, _dispute_event(paid, "won", "evt_dp_late_won", "closed"))
    assert _status(late.order_id) == ("cancelled", None)
    order = db.session.get(StubOrder, late.order_id)
    assert order is not None
    assert "refunded in full" in (order.status_reason or "")
