"""Helpers for payment tests: sandbox sellers, HTTP actors, Stripe-fixture webhook payloads."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, has_app_context
from flask.testing import FlaskClient

from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway
from stubcollector.adapters.payments.sandbox.hosted import SandboxHostedPages
from stubcollector.adapters.payments.sandbox.signing import signature_header
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import StubListing, User
from stubcollector.services import onboarding
from tests.conftest import TEST_PASSWORD
from tests.factories import StubFactory, UserFactory

FIXTURES = json.loads(
    (Path(__file__).parent / "fixtures" / "stripe" / "fixtures3-subset.json").read_text()
)["resources"]


def sandbox(app: Flask | None = None) -> SandboxGateway:
    gateway = container(app).payments
    assert isinstance(gateway, SandboxGateway)
    return gateway


def sandbox_pages(app: Flask | None = None) -> SandboxHostedPages:
    """What the sandbox's hosted pages do (pay with a test card, settle a refund, ...)."""
    return sandbox(app).hosted_pages


def token_of(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]


def sandbox_seller(outcome: str = "complete", **fields: Any) -> User:
    """A user onboarded through the sandbox (a real sandbox account, synced by its event)."""
    user = UserFactory.create(**fields)
    result = onboarding.start_onboarding(
        user, return_url="http://test/return", refresh_url="http://test/refresh"
    )
    sandbox_pages().complete_onboarding(token_of(result.url), outcome)
    db.session.expire_all()
    refreshed = db.session.get(User, user.id)
    assert refreshed is not None
    return refreshed


def listing_of(seller: User, price_cents: int = 2500) -> StubListing:
    stub = StubFactory.create(owner=seller)
    listing = StubListing(stub_id=stub.id, seller_id=seller.id, asking_price_cents=price_cents)
    db.session.add(listing)
    db.session.commit()
    return listing


class ActorClient(FlaskClient):
    """A test client for one of several users in the same test.

    Requests made inside the test's app context share its ``g``, where Flask-Login caches
    the current user; forget it before each request so every client is its own user.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def anonymous_client(app: Flask) -> FlaskClient:
    return ActorClient(app, app.response_class, use_cookies=True)


def client_for(app: Flask, user: User) -> FlaskClient:
    client = anonymous_client(app)
    response = client.post("/auth/login", json={"login": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.json
    return client


def pay(client: FlaskClient, checkout: dict[str, Any], card: str) -> Any:
    """POST a test card to the sandbox checkout URL, as a script would."""
    url = checkout["sandbox_checkout_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    return client.post("/" + path, json={"card_number": card})


# --- Stripe-fixture events -------------------------------------------------------------
def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(FIXTURES[name])


def stripe_event(
    event_type: str, data_object: dict[str, Any], *, account: str | None, event_id: str
) -> dict[str, Any]:
    event = fixture("event")
    event.update(
        id=event_id,
        type=event_type,
        created=int(time.time()),
        data={"object": data_object},
        api_version="2026-10-28.endive",
    )
    if account is not None:
        event["account"] = account
    return event


def payment_intent_payload(
    *, pi_id: str, amount: int, fee: int, order_id: int, status: str, charge_id: str | None
) -> dict[str, Any]:
    pi = fixture("payment_intent")
    pi.update(
        id=pi_id,
        amount=amount,
        amount_received=amount if status == "succeeded" else 0,
        application_fee_amount=fee,
        status=status,
        latest_charge=charge_id,
        metadata={"order_id": str(order_id)},
        transfer_data=None,
        last_payment_error=None,
        canceled_at=None,
    )
    return pi


def charge_payload(
    *,
    charge_id: str,
    pi_id: str,
    amount: int,
    refunded: int,
    refund_id: str | None = None,
    refund_status: str = "succeeded",
) -> dict[str, Any]:
    """A charge; with ``refund_id`` it lists that refund (as an expanded ``refunds``), else it
    has no refund list, as Stripe sends charges since API version 2022-11-15."""
    charge = fixture("charge")
    charge.update(
        id=charge_id,
        payment_intent=pi_id,
        amount=amount,
        amount_captured=amount,
        amount_refunded=refunded,
        refunded=refunded == amount,
        captured=True,
        paid=True,
    )
    charge.pop("refunds", None)
    if refund_id is not None:
        refund = refund_payload(
            refund_id=refund_id, pi_id=pi_id, charge_id=charge_id, amount=refunded,
            status=refund_status,
        )  # fmt: skip
        charge["refunds"] = {"object": "list", "data": [refund], "has_more": False}
    return charge


def refund_payload(
    *,
    refund_id: str,
    pi_id: str | None,
    charge_id: str | None,
    amount: int,
    status: str,
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """Stripe's refund fixture with our ids, status and (for failed ones) failure_reason."""
    refund = fixture("refund")
    refund.update(
        id=refund_id, charge=charge_id, payment_intent=pi_id, amount=amount, status=status
    )
    if failure_reason is not None:
        refund["failure_reason"] = failure_reason
    return refund


def dispute_payload(
    *, dispute_id: str, charge_id: str, pi_id: str, amount: int, status: str
) -> dict[str, Any]:
    dispute = fixture("dispute")
    dispute.update(
        id=dispute_id, charge=charge_id, payment_intent=pi_id, amount=amount, status=status
    )
    return dispute


def signed(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {
        "Stripe-Signature": signature_header(body, secret, timestamp),
        "Content-Type": "application/json",
    }
