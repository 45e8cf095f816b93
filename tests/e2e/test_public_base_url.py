"""Absolute links that leave a page and come back: onboarding's return and refresh URLs, the
sandbox's onboarding, checkout and dashboard links, Stripe's ``return_url``.

Without ``PUBLIC_BASE_URL`` (development, the sandbox) they follow the address the browser
used, port included; with it they always start with it, whatever the Host header says.
(The journey in a real browser on a port other than 5000: tests/browser/test_first_run.py.)
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway
from stubcollector.container import container
from stubcollector.models import User
from tests.support.clients import anonymous_client
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.pages import HTML, csrf_token
from tests.support.payments import listing_of, sandbox_seller

JSON_HEADERS = {"X-Requested-With": "XMLHttpRequest"}


def client_at(app: Flask, user: User, base_url: str) -> FlaskClient:
    """A client logged in on ``base_url``: a browser's cookies belong to the host it uses."""
    client = anonymous_client(app)
    logged_in = client.post(
        "/auth/login",
        json={"login": user.username, "password": TEST_PASSWORD},
        base_url=base_url,
    )
    assert logged_in.status_code == 200, logged_in.json
    return client


def _start_onboarding(client: FlaskClient, base_url: str) -> str:
    started = client.post(
        "/api/payments/connect/onboard", json={}, base_url=base_url, headers=JSON_HEADERS
    )
    assert started.status_code in (200, 201), started.json
    return str(started.json["onboarding_url"])  # type: ignore[index]


def test_without_public_base_url_links_follow_the_host_and_port_in_use(app: Flask) -> None:
    assert container(app).settings.public_base_url == ""
    user = UserFactory.create()
    for base in ("http://localhost:5055", "http://127.0.0.1:8123", "http://192.168.1.20:5000"):
        elsewhere = client_at(app, user, base)
        assert _start_onboarding(elsewhere, base).startswith(f"{base}/sandbox/onboarding/")

    client = client_at(app, user, "http://localhost:5055")
    token = csrf_token(client, "http://localhost:5055/seller/")
    started = client.post(
        "/seller/onboarding",
        data={"csrf_token": token},
        headers=HTML,
        base_url="http://localhost:5055",
    )
    assert started.status_code == 303
    assert started.headers["Location"].startswith("http://localhost:5055/sandbox/onboarding/")
    # The sandbox sends the seller back to the return URL made on the same address.
    finished = client.post(
        started.headers["Location"].removeprefix("http://localhost:5055"),
        data={"outcome": "complete"},
        headers=HTML,
        base_url="http://localhost:5055",
    )
    assert finished.headers["Location"] == "http://localhost:5055/seller/onboarding/return"

    dashboard = client.post(
        "/seller/dashboard",
        data={"csrf_token": csrf_token(client, "http://localhost:5055/seller/")},
        headers=HTML,
        base_url="http://localhost:5055",
    )
    assert dashboard.headers["Location"].startswith("http://localhost:5055/sandbox/dashboard/")


def test_the_checkout_link_of_the_api_follows_the_address_in_use(app: Flask) -> None:
    listing = listing_of(sandbox_seller(), price_cents=2500)
    buyer = client_at(app, UserFactory.create(), "http://localhost:5055")
    started = buyer.post(
        "/api/payments/create-payment-intent",
        json={"listing_id": listing.id},
        base_url="http://localhost:5055",
        headers=JSON_HEADERS,
    )
    assert started.status_code == 200, started.json
    url = started.json["sandbox_checkout_url"]  # type: ignore[index]
    assert url.startswith("http://localhost:5055/sandbox/checkout/pi_")


def test_public_base_url_wins_over_the_host_header(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    configured = make_app(public_base_url="https://stubs.example.com")
    user: User = UserFactory.create()
    client = client_at(configured, user, "http://evil.example:5055")
    onboarding_url = _start_onboarding(client, "http://evil.example:5055")
    assert onboarding_url.startswith("https://stubs.example.com/sandbox/onboarding/")


def test_outside_a_request_the_sandbox_links_use_port(make_app: Callable[..., Flask]) -> None:
    on_5055 = make_app(port=5055)
    with on_5055.app_context():
        gateway = container(on_5055).payments
        assert isinstance(gateway, SandboxGateway)
        account = gateway.create_seller_account(user_id=991, email="port@example.com")
        link = gateway.onboarding_link(account.account_id, refresh_url="", return_url="")
    assert link.url.startswith("http://127.0.0.1:5055/sandbox/onboarding/")
