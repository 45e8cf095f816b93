"""Refund events built from Stripe's fixture objects, delivered signed to the Connect
endpoint as Stripe sends them for direct charges (``account`` set): ``refund.created``,
``refund.updated``, ``refund.failed``, ``charge.refund.updated`` and ``charge.refunded``, in
any order, twice, and about refunds we do not know."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.adapters.payments.sandbox.cards import CARD_REFUND_PENDING
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, ProviderEvent, StubOrder, StubPayment, StubRefund
from stubcollector.services import checkout
from tests.support.clients import anonymous_client, client_for
from tests.support.factories import AdminFactory, UserFactory
from tests.support.payments import listing_of, pay, sandbox_pages, sandbox_seller
from tests.support.stripe_events import (
    charge_payload,
    payment_intent_payload,
    refund_payload,
    signed,
    stripe_event,
)

CONNECT = "/api/payments/webhook/connect"
CHARGE_ID = "ch_3PgafyB7WZ01zgkW0p2jsSzE"
REFUND_ID = "re_3PgafyB7WZ01zgkW0kWYdbv7"


@dataclass
class Sale:
    order_id: int
    pi_id: str
    account: str
    amount: int
    fee: int

    def succeeded(self) -> dict[str, Any]:
        pi = payment_intent_payload(
            pi_id=self.pi_id, amount=self.amount, fee=self.fee, order_id=self.order_id,
            status="succeeded", charge_id=CHARGE_ID,
        )  # fmt: skip
        return stripe_event(
            "payment_intent.succeeded", pi, account=self.account, event_id="evt_paid"
        )

    def refund_event(
        self,
        event_type: str,
        status: str,
        event_id: str,
        *,
        refund_id: str = REFUND_ID,
        failure_reason: str | None = None,
        pi_id: str | None = None,
    ) -> dict[str, Any]:
        refund = refund_payload(
            refund_id=refund_id, pi_id=pi_id or self.pi_id, charge_id=CHARGE_ID,
            amount=self.amount, status=status, failure_reason=failure_reason,
        )  # fmt: skip
        return stripe_event(event_type, refund, account=self.account, event_id=event_id)


@pytest.fixture
def webhook_client(app: Flask) -> FlaskClient:
    return anonymous_client(app)


@pytest.fixture
def new_sale(app: Flask) -> Callable[[], Sale]:
    seller = sandbox_seller()

    def make() -> Sale:
        listing = listing_of(seller)
        result = checkout.create_payment_intent(UserFactory.create(), listing.id)
        return Sale(
            order_id=result.order_id,
            pi_id=result.payment_intent_id,
            account=result.stripe_account_id,
            amount=result.total_amount_cents,
            fee=result.platform_fee_cents,
        )

    return make


def _post(client: FlaskClient, event: dict[str, Any]) -> Any:
    body, headers = signed(event, container().settings.stripe_connect_webhook_secret)
    response = client.post(CONNECT, data=body, headers=headers)
    assert response.status_code == 200, response.json
    return response


def _state(order_id: int) -> tuple[str, str, list[tuple[str | None, str, str | None]]]:
    db.session.expire_all()
    order = db.session.get(StubOrder, order_id)
    payment = db.session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).one()
    refunds = db.session.scalars(
        select(StubRefund).where(StubRefund.order_id == order_id).order_by(StubRefund.id)
    ).all()
    assert order is not None
    return (
        order.order_status,
        payment.payment_status,
        [(r.refund_id, r.status, r.failure_reason) for r in refunds],
    )


def _failed_events() -> list[str]:
    return list(
        db.session.scalars(
            select(ProviderEvent.event_id).where(ProviderEvent.processing_status == "failed")
        )
    )


OUTCOMES: dict[str, list[tuple[str, str, str | None]]] = {
    # (event type, refund status, failure_reason)
    "pending-failed": [
        ("refund.created", "pending", None),
        ("charge.refund.updated", "failed", "lost_or_stolen_card"),
    ],
    "requires_action-succeeded": [
        ("refund.created", "requires_action", None),
        ("refund.updated", "succeeded", None),
    ],
    "requires_action-canceled": [
        ("refund.created", "requires_action", None),
        ("refund.updated", "canceled", "merchant_request"),
    ],
    "pending-failed-by-refund.failed": [
        ("refund.updated", "pending", None),
        ("refund.failed", "failed", "expired_or_canceled_card"),
    ],
}
CASES = [
    (name, ordering)
    for name, steps in OUTCOMES.items()
    for ordering in itertools.permutations(range(len(steps)))
]


@pytest.mark.parametrize(
    ("outcome", "ordering"),
    CASES,
    ids=[f"{name}-{'then'.join(map(str, o))}" for name, o in CASES],
)
def test_refund_events_in_any_order_and_twice_reach_the_same_end_state(
    new_sale: Callable[[], Sale],
    webhook_client: FlaskClient,
    outcome: str,
    ordering: tuple[int, ...],
) -> None:
    sale = new_sale()
    _post(webhook_client, sale.succeeded())
    steps = OUTCOMES[outcome]
    for index in ordering:
        event_type, status, reason = steps[index]
        event = sale.refund_event(event_type, status, f"evt_{index}", failure_reason=reason)
        _post(webhook_client, event)
        again = _post(webhook_client, event)  # Stripe's retry of the same event
        assert again.json["duplicate"] is True
    # The same fact under another event type (Stripe sends several) changes nothing more.
    event_type, status, reason = steps[-1]
    other = "refund.updated" if event_type != "refund.updated" else "charge.refund.updated"
    _post(webhook_client, sale.refund_event(other, status, "evt_other", failure_reason=reason))

    final_status, final_reason = steps[-1][1], steps[-1][2]
    order_status, payment_status, refunds = _state(sale.order_id)
    assert refunds == [(REFUND_ID, final_status, final_reason)]
    if final_status == "succeeded":
        assert (order_status, payment_status) == ("refunded", "refunded")
    else:
        assert (order_status, payment_status) == ("payment_completed", "succeeded")
        failures = db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "order.refund_failed")
        ).all()
        assert len(failures) == 1
        assert failures[0].details["failure_reason"] == final_reason
    assert _failed_events() == []


def test_a_pending_refund_is_not_a_refund_and_its_requires_action_is_shown(
    app: Flask, new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    _post(webhook_client, sale.succeeded())
    _post(webhook_client, sale.refund_event("refund.created", "requires_action", "evt_ra"))

    assert _state(sale.order_id)[:2] == ("payment_completed", "refund_pending")
    admin = client_for(app, AdminFactory.create())
    order = admin.get(f"/api/payments/orders/{sale.order_id}").json["order"]
    assert (order["refund_state"], order["refund_status"]) == ("pending", "requires_action")
    assert order["refund"] == {
        "refund_id": REFUND_ID,
        "attempt": None,
        "status": "requires_action",
        "amount_cents": sale.amount,
        "failure_reason": None,
        "requested_at": order["refund"]["requested_at"],
        "settled_at": None,
    }
    page = admin.get(f"/orders/{sale.order_id}", headers={"Accept": "text/html"})
    assert "Refund pending." in page.get_data(as_text=True)
    assert "action before it can complete" in page.get_data(as_text=True)


def test_charge_refunded_without_the_refunds_list_proves_no_refund(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    # Since API version 2022-11-15 a charge does not list its refunds, and its
    # amount_refunded counts pending refunds: it cannot say the refund succeeded.
    sale = new_sale()
    charge = charge_payload(
        charge_id=CHARGE_ID, pi_id=sale.pi_id, amount=sale.amount, refunded=sale.amount
    )
    _post(webhook_client, stripe_event("charge.refunded", charge, account=sale.account,
                                        event_id="evt_charge_refunded"))  # fmt: skip

    assert _state(sale.order_id) == ("payment_completed", "succeeded", [])
    _post(webhook_client, sale.refund_event("refund.updated", "succeeded", "evt_done"))
    assert _state(sale.order_id)[:2] == ("refunded", "refunded")


def test_charge_refunded_with_a_pending_refund_listed_waits_for_it(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    charge = charge_payload(
        charge_id=CHARGE_ID, pi_id=sale.pi_id, amount=sale.amount, refunded=sale.amount,
        refund_id=REFUND_ID, refund_status="pending",
    )  # fmt: skip
    _post(webhook_client, stripe_event("charge.refunded", charge, account=sale.account,
                                        event_id="evt_listed"))  # fmt: skip

    assert _state(sale.order_id) == (
        "payment_completed",
        "refund_pending",
        [(REFUND_ID, "pending", None)],
    )


def test_a_refund_event_before_the_payment_event_applies_the_payment_first(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    _post(webhook_client, sale.refund_event("refund.updated", "pending", "evt_early"))
    assert _state(sale.order_id)[:2] == ("payment_completed", "refund_pending")
    _post(webhook_client, sale.succeeded())
    assert _state(sale.order_id)[:2] == ("payment_completed", "refund_pending")


def test_an_update_for_a_refund_of_a_payment_that_is_not_ours_is_ignored(
    new_sale: Callable[[], Sale], webhook_client: FlaskClient
) -> None:
    sale = new_sale()
    foreign = sale.refund_event(
        "charge.refund.updated", "failed", "evt_foreign", refund_id="re_foreign",
        pi_id="pi_1PgafyB7WZ01zgkWnotours",
    )  # fmt: skip
    foreign["data"]["object"]["charge"] = "ch_not_ours"
    _post(webhook_client, foreign)
    row = db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.event_id == "evt_foreign")
    ).one()
    assert (row.processing_status, row.last_error) == ("ignored", None)
    assert db.session.scalars(select(StubRefund)).all() == []


def test_an_update_for_our_own_pending_refund_settles_it(
    app: Flask, webhook_client: FlaskClient
) -> None:
    """Our refund request answered pending (the sandbox's 7726 card); Stripe's event about
    that refund (here a fixture, not the sandbox's own) settles it."""
    seller = sandbox_seller()
    buyer = UserFactory.create()
    as_buyer = client_for(app, buyer)
    started = as_buyer.post(
        "/api/payments/create-payment-intent", json={"listing_id": listing_of(seller).id}
    ).json
    assert pay(as_buyer, started, CARD_REFUND_PENDING).status_code == 200

    asked = as_buyer.post(f"/api/payments/orders/{started['order_id']}/refund", json={})

    assert asked.status_code == 200
    assert asked.json["message"] == "refund pending"
    order = asked.json["order"]
    assert (order["order_status"], order["refund_state"]) == ("payment_completed", "pending")
    sale = Sale(started["order_id"], started["payment_intent_id"],
                started["stripe_account_id"], started["total_amount_cents"], 0)  # fmt: skip
    failed = sale.refund_event(
        "charge.refund.updated", "failed", "evt_our_refund_failed",
        refund_id=order["refund"]["refund_id"], failure_reason="declined",
    )  # fmt: skip
    _post(webhook_client, failed)

    after = as_buyer.get(f"/api/payments/orders/{sale.order_id}").json["order"]
    assert (after["order_status"], after["refund_state"], after["refund_status"]) == (
        "payment_completed",
        "failed",
        "failed",
    )
    assert after["refund"]["failure_reason"] == "declined"
    assert after["refund"]["attempt"] == 1
    # The sandbox's own events about that refund say the same: nothing changes.
    sandbox_pages().settle_refund(
        order["refund"]["refund_id"], succeed=False, failure_reason="declined"
    )
    assert as_buyer.get(f"/api/payments/orders/{sale.order_id}").json["order"] == after
    # The buyer cannot retry; an admin can, as attempt 2.
    refused = as_buyer.post(f"/api/payments/orders/{sale.order_id}/refund", json={})
    assert refused.status_code == 403
    admin = client_for(app, AdminFactory.create())
    retried = admin.post(f"/api/payments/orders/{sale.order_id}/refund", json={})
    assert retried.status_code == 200
    assert retried.json["order"]["refund"]["attempt"] == 2
    assert retried.json["order"]["refund_state"] == "pending"
