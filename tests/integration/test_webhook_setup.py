"""``flask payments create-webhook-endpoints`` (issue 16 point 9) against the fake Stripe API,
and the refusal to start in Stripe mode without both webhook secrets (point 8), as an
operator meets both: real ``flask`` processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import WebhookEndpoint
from stubcollector.services import webhook_setup, webhooks
from tests.support.stripe_fake import FakeStripe

PINNED = "2026-10-28.endive"
BASE = "https://stubs.example.com"
FLASK = str(Path(sys.executable).parent / "flask")


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe_gateway.stripe.HTTPClient, "_sleep_time_seconds", lambda *_: 0.0)


@pytest.fixture
def stripe_app(make_app: Callable[..., Flask], fake_stripe: FakeStripe) -> Iterator[Flask]:
    app = make_app(
        payments_backend="stripe",
        stripe_secret_key="sk_test_setup",
        stripe_webhook_secret="whsec_old_platform",
        stripe_connect_webhook_secret="whsec_old_connect",
        stripe_api_base=fake_stripe.url,
        public_base_url=BASE,
    )
    with app.app_context():
        yield app


CONNECT_URL = f"{BASE}/api/payments/webhook/connect"
PLATFORM_URL = f"{BASE}/api/payments/webhook"


def _endpoint_at(fake: FakeStripe, url: str) -> dict[str, object]:
    (endpoint,) = [e for e in fake.webhook_endpoints.values() if e["url"] == url]
    return endpoint


def _run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["payments", "create-webhook-endpoints", *args])
    return result.exit_code, result.output


def test_both_endpoints_are_created_pinned_with_exactly_the_handled_events(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    code, output = _run(stripe_app)

    assert code == 0, output
    created = {r.params["url"]: r for r in fake_stripe.requests_to("POST", "/v1/webhook_endpoints")}
    assert set(created) == {f"{BASE}/api/payments/webhook", f"{BASE}/api/payments/webhook/connect"}
    connect = created[f"{BASE}/api/payments/webhook/connect"]
    platform = created[f"{BASE}/api/payments/webhook"]
    assert connect.params["enabled_events"] == list(
        webhooks.subscribed_event_types(WebhookEndpoint.CONNECT)
    )
    assert platform.params["enabled_events"] == list(
        webhooks.subscribed_event_types(WebhookEndpoint.PLATFORM)
    )
    # Our application fee is the platform's own object: its event comes to the account
    # endpoint, and the charge's balance transaction with charge.updated to Connect.
    assert platform.params["enabled_events"] == ["application_fee.created"]
    assert "charge.updated" in connect.params["enabled_events"]
    assert (connect.params["connect"], platform.params["connect"]) == ("true", "false")
    assert {r.params["api_version"] for r in created.values()} == {PINNED}
    assert {r.account for r in created.values()} == {None}
    # Each secret printed once, ready to paste into the environment.
    secrets = dict(re.findall(r"(STRIPE_(?:CONNECT_)?WEBHOOK_SECRET)=(whsec_\w+)", output))
    assert set(secrets) == {"STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET"}
    assert secrets["STRIPE_WEBHOOK_SECRET"] != secrets["STRIPE_CONNECT_WEBHOOK_SECRET"]
    assert "only once" in output


def test_running_it_again_keeps_the_endpoints_and_brings_their_events_up_to_date(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    assert _run(stripe_app)[0] == 0
    assert len(fake_stripe.webhook_endpoints) == 2
    endpoint = _endpoint_at(fake_stripe, CONNECT_URL)
    fake_stripe.requests.clear()

    code, output = _run(stripe_app)

    assert code == 0
    assert "unchanged" in output
    assert "WEBHOOK_SECRET=" not in output  # Stripe cannot show it again; nothing to print
    assert fake_stripe.requests_to("POST", "/v1/webhook_endpoints") == []

    # An upgrade handles one event more than the endpoint was made with.
    endpoint["enabled_events"] = endpoint["enabled_events"][:-1]  # type: ignore[index]
    code, output = _run(stripe_app)

    assert code == 0
    assert "updated" in output
    update = fake_stripe.only_request("POST", f"/v1/webhook_endpoints/{endpoint['id']}")
    assert update.params["enabled_events"] == list(
        webhooks.subscribed_event_types(WebhookEndpoint.CONNECT)
    )
    # The account endpoint was right: left alone.
    platform = _endpoint_at(fake_stripe, PLATFORM_URL)
    assert fake_stripe.requests_to("POST", f"/v1/webhook_endpoints/{platform['id']}") == []
    assert len(fake_stripe.webhook_endpoints) == 2


def test_an_endpoint_on_another_api_version_is_named_for_deletion(
    stripe_app: Flask, fake_stripe: FakeStripe
) -> None:
    assert _run(stripe_app)[0] == 0
    endpoint = _endpoint_at(fake_stripe, PLATFORM_URL)
    endpoint["api_version"] = None  # made in the Dashboard: the account's default version

    code, output = _run(stripe_app)

    assert code == 1
    assert str(endpoint["id"]) in output
    assert "delete it" in output
    assert f"connect endpoint {CONNECT_URL}: unchanged" in output  # the other one is right
    assert len(fake_stripe.webhook_endpoints) == 2


def test_the_sandbox_has_no_endpoints_to_create(app: Flask) -> None:
    code, output = _run(app)
    assert code == 1
    assert "delivers its events itself" in output


def test_the_endpoint_paths_are_the_apps_webhook_routes(app: Flask) -> None:
    routes = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert routes[webhook_setup.WEBHOOK_PATHS[WebhookEndpoint.PLATFORM]] == "api_payments.webhook"
    assert (
        routes[webhook_setup.WEBHOOK_PATHS[WebhookEndpoint.CONNECT]]
        == "api_payments.webhook_connect"
    )


# --- as an operator runs it: before the app can start ----------------------------------


def _flask(tmp_path: Path, fake: FakeStripe, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "APP_ENV": "production",
        "SECRET_KEY": "p" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_BASE_URL": BASE,
        "PAYMENTS_BACKEND": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_operator",
        "STRIPE_API_BASE": fake.url,
    }
    return subprocess.run(  # noqa: S603 - our own flask, fixed arguments
        [FLASK, "--app", "stubcollector.wsgi", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_the_secrets_the_app_refuses_to_start_and_the_setup_command_runs(
    tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    refused = _flask(tmp_path, fake_stripe, "payments", "reconcile")
    assert refused.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET, STRIPE_CONNECT_WEBHOOK_SECRET" in refused.stderr

    setup = _flask(tmp_path, fake_stripe, "payments", "create-webhook-endpoints")

    assert setup.returncode == 0, setup.stderr
    assert re.search(r"STRIPE_WEBHOOK_SECRET=whsec_\w+", setup.stdout)
    assert re.search(r"STRIPE_CONNECT_WEBHOOK_SECRET=whsec_\w+", setup.stdout)
    created = fake_stripe.requests_to("POST", "/v1/webhook_endpoints")
    assert {r.params["url"] for r in created} == {PLATFORM_URL, CONNECT_URL}
    assert {r.headers["authorization"] for r in created} == {"Bearer sk_test_operator"}
