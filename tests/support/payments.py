"""The sandbox payment backend from a test: its gateway and hosted pages, sellers onboarded
through it, their listings, paying a checkout with a test card, and an outage of our
webhook endpoint (the sandbox's events are lost while it lasts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.payments.ports import WebhookEndpoint
from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway
from stubcollector.adapters.payments.sandbox.hosted import SandboxHostedPages
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import StubListing, User
from stubcollector.services import onboarding, webhooks
from tests.support.factories import StubFactory, UserFactory


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


def pay(client: FlaskClient, checkout: dict[str, Any], card: str) -> Any:
    """POST a test card to the sandbox checkout URL, as a script would."""
    url = checkout["sandbox_checkout_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    return client.post("/" + path, json={"card_number": card})


@contextmanager
def webhook_endpoint_down(app: Flask | None = None) -> Iterator[None]:
    """The sandbox cannot reach our webhook endpoint until the block ends: the events it
    sends meanwhile are lost, as when the provider gives up on an unreachable endpoint."""
    gateway = sandbox(app)

    def unreachable(endpoint: WebhookEndpoint, payload: bytes, header: str) -> None:
        raise ConnectionError("webhook endpoint unreachable")

    gateway.connect_receiver(unreachable)
    try:
        yield
    finally:
        gateway.connect_receiver(webhooks.receive)
