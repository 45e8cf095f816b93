"""Every money or permission event writes an audit entry: who, when, what, status before
and after. Each case drives the real flow (HTTP, sandbox payments and its webhooks) and
looks the entry up the way an admin would, through ``GET /api/admin/audit-log``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.payments.sandbox.cards import CARD_DECLINED, CARD_DISPUTE, CARD_SUCCESS
from stubcollector.models import User, utcnow
from stubcollector.services import accounts, checkout
from tests.support.clients import client_for
from tests.support.factories import AdminFactory, UserFactory
from tests.support.payments import listing_of, pay, sandbox_seller


@dataclass
class Sale:
    app: Flask
    seller: User
    buyer: User
    admin: User
    listing_id: int = 0
    order_id: int = 0
    checkout: dict[str, Any] | None = None

    @property
    def as_buyer(self) -> FlaskClient:
        return client_for(self.app, self.buyer)

    def start(self) -> Sale:
        self.listing_id = listing_of(self.seller).id
        response = self.as_buyer.post(
            "/api/payments/create-payment-intent", json={"listing_id": self.listing_id}
        )
        assert response.status_code == 200, response.json
        self.checkout = response.json
        self.order_id = response.json["order_id"]
        return self

    def pay(self, card: str = CARD_SUCCESS) -> Sale:
        assert self.checkout is not None
        pay(self.as_buyer, self.checkout, card)
        return self


def _complete(sale: Sale) -> None:
    response = sale.as_buyer.post(f"/api/payments/orders/{sale.order_id}/complete", json={})
    assert response.status_code == 200, response.json


def _refund_by_buyer(sale: Sale) -> None:
    response = sale.as_buyer.post(f"/api/payments/orders/{sale.order_id}/refund", json={})
    assert response.status_code == 200, response.json


def _refund_by_admin(sale: Sale) -> None:
    as_admin = client_for(sale.app, sale.admin)
    response = as_admin.post(
        f"/api/payments/orders/{sale.order_id}/refund", json={"reason": "duplicate"}
    )
    assert response.status_code == 200, response.json


def _dispute_id(order_id: int) -> str | None:
    from sqlalchemy import select

    from stubcollector.extensions import db
    from stubcollector.models import StubDispute

    return db.session.scalar(select(StubDispute.dispute_id).where(StubDispute.order_id == order_id))


def _submit_evidence(sale: Sale) -> None:
    response = client_for(sale.app, sale.seller).post(
        f"/api/disputes/{_dispute_id(sale.order_id)}/evidence",
        json={"product_description": "The stub, as listed", "submit": True},
    )
    assert response.status_code == 200, response.json


def _expire(_sale: Sale) -> None:
    checkout.release_expired(now=utcnow() + timedelta(hours=2))


def _admin_cancels_listing(sale: Sale) -> None:
    response = client_for(sale.app, sale.admin).delete(
        f"/api/marketplace/listings/{sale.listing_id}", json={}
    )
    assert response.status_code == 200


# (case, what happens, [(action, object type, object is "order"/"listing"/"seller"/...,
#   actor: "buyer"/"admin"/"seller"/None for the provider, before, after)])
Expected = tuple[str, str, str, str | None, str | None, str | None]
CASES: list[tuple[str, Callable[[Sale], None], list[Expected]]] = [
    (
        "order created, listing reserved",
        lambda _sale: None,
        [
            ("order.created", "order", "order", "buyer", None, "pending"),
            ("listing.reserved", "listing", "listing", "buyer", "active", "payment_pending"),
        ],
    ),
    (
        "order paid, listing sold",
        lambda sale: sale.pay(),
        [
            ("order.payment_completed", "order", "order", None, "pending", "payment_completed"),
            ("listing.sold", "listing", "listing", None, "payment_pending", "sold"),
        ],
    ),
    (
        "payment failed, listing released",
        lambda sale: sale.pay(CARD_DECLINED),
        [
            ("order.payment_failed", "order", "order", None, "pending", "payment_failed"),
            ("listing.released", "listing", "listing", None, "payment_pending", "active"),
        ],
    ),
    (
        "order completed by the buyer",
        lambda sale: _complete(sale.pay()),
        [("order.completed", "order", "order", "buyer", "payment_completed", "completed")],
    ),
    (
        "order refunded at the buyer's request",
        lambda sale: _refund_by_buyer(sale.pay()),
        [
            ("order.refund_requested", "order", "order", "buyer", None, None),
            ("order.refunded", "order", "order", None, "payment_completed", "refunded"),
        ],
    ),
    (
        "order refunded by an admin",
        lambda sale: _refund_by_admin(sale.pay()),
        [
            ("order.refund_requested", "order", "order", "admin", None, None),
            (
                "admin.order_refund_requested",
                "order",
                "order",
                "admin",
                "payment_completed",
                "refunded",
            ),
        ],
    ),
    (
        "order disputed",
        lambda sale: sale.pay(CARD_DISPUTE),
        [("order.disputed", "order", "order", None, "payment_completed", "disputed")],
    ),
    (
        "dispute needs a response: the seller and admins are to be told",
        lambda sale: sale.pay(CARD_DISPUTE),
        [("dispute.needs_response", "dispute", "dispute", None, None, "needs_response")],
    ),
    (
        "evidence submitted by the seller",
        lambda sale: _submit_evidence(sale.pay(CARD_DISPUTE)),
        # (its status change is recorded by whichever comes first: our own call's answer or
        # the provider's charge.dispute.updated)
        [("dispute.evidence_submitted", "dispute", "dispute", "seller", None, "under_review")],
    ),
    (
        "reservation expired: order cancelled",
        _expire,
        [("order.cancelled", "order", "order", None, "pending", "cancelled")],
    ),
    (
        "admin withdraws a listing",
        _admin_cancels_listing,
        [("admin.listing_cancelled", "listing", "listing", "admin", "active", "cancelled")],
    ),
]


def _entries(admin_client: FlaskClient, **filters: str) -> list[dict[str, Any]]:
    response = admin_client.get("/api/admin/audit-log", query_string={"per_page": 200, **filters})
    assert response.status_code == 200, response.json
    return list(response.json["entries"])


@pytest.mark.parametrize(
    ("events", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_event_is_audited(
    app: Flask, events: Callable[[Sale], None], expected: list[Expected]
) -> None:
    sale = Sale(
        app,
        seller=sandbox_seller(),
        buyer=UserFactory.create(),
        admin=AdminFactory.create(),
    )
    if events.__name__ == "_admin_cancels_listing":
        sale.listing_id = listing_of(sale.seller).id
    else:
        sale.start()
    events(sale)
    admin_client = client_for(app, sale.admin)
    objects = {
        "order": sale.order_id,
        "listing": sale.listing_id,
        "dispute": _dispute_id(sale.order_id),
    }
    actors = {"buyer": sale.buyer, "admin": sale.admin, "seller": sale.seller}
    for action, object_type, which, actor, before, after in expected:
        found = _entries(
            admin_client, action=action, object_type=object_type, object_id=str(objects[which])
        )
        assert found, f"no {action} entry for {which} {objects[which]}"
        entry = found[0]
        if actor is None:
            assert entry["actor_user_id"] is None
            assert entry["actor_kind"] in ("webhook", "system")
        else:
            assert entry["actor_user_id"] == actors[actor].id
        if before is not None or after is not None:
            assert (entry["before_status"], entry["after_status"]) == (before, after)
        assert entry["created_at"]


def test_account_status_changes_from_account_updated_are_audited(app: Flask) -> None:
    seller = sandbox_seller()  # onboarding completes through an account.updated event
    admin = AdminFactory.create()
    found = _entries(
        client_for(app, admin), action="seller.account_status_changed", object_id=str(seller.id)
    )
    assert found
    assert found[0]["actor_kind"] == "webhook"
    assert found[0]["before_status"] != found[0]["after_status"]
    assert found[0]["after_status"] == "active"


def test_a_new_admin_is_audited(app: Flask) -> None:
    new = accounts.create_admin("new-admin", "new-admin@example.com", "a long admin pass 9")
    found = _entries(
        client_for(app, AdminFactory.create()),
        action="user.promoted_admin",
        object_id=str(new.id),
    )
    assert found
    assert found[0]["after_status"] is not None or found[0]["details"]
