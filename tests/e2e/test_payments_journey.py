"""The whole selling journey in sandbox mode, through the HTTP API only."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, ProviderEvent
from tests.support.clients import client_for
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, pay


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_onboard_sell_refund_resell_complete(app: Flask) -> None:
    seller, buyer, second_buyer = (UserFactory.create() for _ in range(3))
    as_seller = client_for(app, seller)
    as_buyer = client_for(app, buyer)
    as_second = client_for(app, second_buyer)

    # Seller onboarding: account + link, the sandbox's hosted form, back to the return URL.
    started = as_seller.post("/api/payments/connect/onboard", json={})
    assert started.status_code == 201, started.json
    assert started.json["account_id"].startswith("acct_")
    finished = as_seller.post(_path(started.json["onboarding_url"]), json={"outcome": "complete"})
    assert finished.status_code == 200, finished.json
    assert finished.json["return_url"].endswith("/api/payments/onboard/return")
    back = as_seller.get("/api/payments/onboard/return")
    assert back.status_code == 200
    assert back.json["account"]["can_accept_payments"] is True
    assert back.json["account"]["account_status"] == "active"
    assert back.json["account"]["payout_schedule_days"] == 7

    listing = listing_of(seller, price_cents=2500)  # listing CRUD is the marketplace's API
    listing_id = listing.id

    # Checkout with the success card; the sandbox's signed event marks the order paid.
    checkout = as_buyer.post("/api/payments/create-payment-intent", json={"listing_id": listing_id})
    assert checkout.status_code == 200, checkout.json
    body = checkout.json
    assert body["total_amount_cents"] == 2500
    assert body["platform_fee_cents"] == 250
    assert body["seller_amount_cents"] == 2250
    assert body["stripe_account_id"] == started.json["account_id"]
    assert body["publishable_key"].startswith("pk_test_")
    assert body["client_secret"].startswith(body["payment_intent_id"] + "_secret_")
    order_id = body["order_id"]
    assert as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]["listing_status"] == (
        "payment_pending"
    )

    paid = pay(as_buyer, body, CARD_SUCCESS)
    assert paid.status_code == 200, paid.json
    assert paid.json["payment_intent"]["status"] == "succeeded"
    order = as_buyer.get(f"/api/payments/orders/{order_id}").json["order"]
    assert order["order_status"] == "payment_completed"
    assert order["listing_status"] == "sold"
    assert order["charge_id"].startswith("ch_")
    assert order["stripe_fee_cents"] == 103  # 2.9 % of $25.00 rounded, plus 30 cents
    assert order["expected_payout_date"] is not None
    seller_view = as_seller.get(f"/api/payments/orders/{order_id}")
    assert seller_view.status_code == 200

    # The buyer asks for a refund before confirming receipt: the listing is on sale again.
    refunded = as_buyer.post(f"/api/payments/orders/{order_id}/refund", json={})
    assert refunded.status_code == 200, refunded.json
    assert refunded.json["order"]["order_status"] == "refunded"
    assert refunded.json["order"]["refund_id"].startswith("re_")
    assert refunded.json["order"]["listing_status"] == "active"

    # Another buyer buys it and confirms receipt.
    second = as_second.post("/api/payments/create-payment-intent", json={"listing_id": listing_id})
    assert second.status_code == 200, second.json
    assert second.json["order_id"] != order_id
    assert pay(as_second, second.json, CARD_SUCCESS).status_code == 200
    completed = as_second.post(f"/api/payments/orders/{second.json['order_id']}/complete", json={})
    assert completed.status_code == 200, completed.json
    assert completed.json["order"]["order_status"] == "completed"
    assert completed.json["order"]["listing_status"] == "sold"

    # The seller's balance: the refunded sale nets out, the second is pending for 7 days.
    balance = as_seller.get("/api/payments/connect/balance")
    assert balance.json["balance"] == {
        "available_cents": 0,
        "pending_cents": 2250,
        "currency": "usd",
    }
    dashboard = as_seller.get("/api/payments/connect/dashboard")
    assert dashboard.status_code == 200
    page = as_seller.get(_path(dashboard.json["dashboard_url"]))
    assert page.status_code == 200
    assert b"$22.50" in page.data

    # Every event went through the webhook inbox and was processed.
    events = db.session.scalars(select(ProviderEvent)).all()
    assert {e.event_type for e in events} >= {
        "payment_intent.succeeded",
        "charge.refunded",
        "account.updated",
    }
    assert {e.processing_status for e in events} <= {"processed", "ignored"}
    actions = set(db.session.scalars(select(AuditLogEntry.action)))
    requested = db.session.scalars(
        select(AuditLogEntry).where(AuditLogEntry.action == "order.refund_requested")
    ).one()
    assert (requested.actor_user_id, requested.actor_kind) == (buyer.id, "user")
    paid = db.session.scalars(
        select(AuditLogEntry).where(
            AuditLogEntry.action == "order.payment_completed",
            AuditLogEntry.object_id == str(order_id),
        )
    ).one()
    assert (paid.actor_kind, paid.before_status) == ("webhook", "pending")
    assert {
        "order.created",
        "order.payment_completed",
        "order.refund_requested",
        "order.refunded",
        "listing.reactivated",
        "order.completed",
    } <= actions
