"""Webhook verification and parsing in the Stripe adapter (no network involved).

Headers are signed here with HMAC-SHA256 as Stripe documents it, independently of the SDK
the adapter verifies with; bodies are Stripe's own example events and objects.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stubcollector.adapters.payments.ports import InvalidWebhookSignature, WebhookEndpoint
from stubcollector.adapters.payments.stripe_gateway import WEBHOOK_TOLERANCE_SECONDS, StripeGateway
from tests.support.stripe_fake import load_fixtures, sign_webhook

PLATFORM_SECRET = "whsec_platform_test"
CONNECT_SECRET = "whsec_connect_test"
SELLER = "acct_1PgafTB7WZ01zgkW"

FIXTURES = load_fixtures()


@pytest.fixture
def gateway() -> Iterator[StripeGateway]:
    built = StripeGateway(
        secret_key="sk_test_webhooks",
        publishable_key="pk_test_webhooks",
        platform_webhook_secret=PLATFORM_SECRET,
        connect_webhook_secret=CONNECT_SECRET,
        api_base="http://127.0.0.1:9",  # never called: verification is local
    )
    yield built
    built.close()


def event_body(event_type: str, data_object: dict[str, Any], *, account: str | None) -> bytes:
    event = copy.deepcopy(FIXTURES["event"])
    event.update(type=event_type, data={"object": data_object}, api_version="2026-10-28.endive")
    if account is not None:
        event["account"] = account
    return json.dumps(event).encode()


def connect_event(event_type: str = "payment_intent.succeeded") -> bytes:
    return event_body(event_type, FIXTURES["payment_intent"], account=SELLER)


def platform_event() -> bytes:
    return event_body("application_fee.created", FIXTURES["application_fee"], account=None)


@pytest.mark.parametrize(
    ("event_type", "fixture"),
    [
        ("payment_intent.succeeded", "payment_intent"),
        ("payment_intent.payment_failed", "payment_intent"),
        ("charge.refunded", "charge"),
        ("charge.dispute.created", "dispute"),
        ("charge.dispute.closed", "dispute"),
        ("account.updated", "account"),
    ],
)
def test_connect_events_from_stripes_fixtures_parse(
    gateway: StripeGateway, event_type: str, fixture: str
) -> None:
    body = event_body(event_type, FIXTURES[fixture], account=SELLER)

    event = gateway.parse_webhook(body, sign_webhook(body, CONNECT_SECRET), WebhookEndpoint.CONNECT)

    assert event.event_id == FIXTURES["event"]["id"]
    assert event.type == event_type
    assert event.account == SELLER
    assert event.livemode is False
    assert event.created == FIXTURES["event"]["created"]
    assert event.data_object == FIXTURES[fixture]
    assert type(event.data_object) is dict
    assert event.payload == json.loads(body)
    assert type(event.payload) is dict


def test_platform_event_parses_on_the_platform_endpoint(gateway: StripeGateway) -> None:
    body = platform_event()

    event = gateway.parse_webhook(
        body, sign_webhook(body, PLATFORM_SECRET), WebhookEndpoint.PLATFORM
    )

    assert event.type == "application_fee.created"
    assert event.account is None
    assert event.data_object["object"] == "application_fee"


def test_signature_from_the_previous_secret_alongside_the_new_one_is_accepted(
    gateway: StripeGateway,
) -> None:
    body = connect_event()
    # While a rolled secret overlaps, Stripe signs with both: one v1 per secret.
    header = sign_webhook(body, CONNECT_SECRET, also_signed_with=("whsec_connect_old",))
    assert header.count("v1=") == 2

    assert gateway.parse_webhook(body, header, WebhookEndpoint.CONNECT).account == SELLER


def test_small_clock_skew_into_the_future_is_tolerated(gateway: StripeGateway) -> None:
    body = connect_event()
    header = sign_webhook(body, CONNECT_SECRET, timestamp=int(time.time()) + 60)

    assert gateway.parse_webhook(body, header, WebhookEndpoint.CONNECT).type


def rejection(
    gateway: StripeGateway, body: bytes, header: str | None, endpoint: WebhookEndpoint
) -> str:
    with pytest.raises(InvalidWebhookSignature) as raised:
        gateway.parse_webhook(body, header, endpoint)
    return raised.value.message


def test_forged_signature_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()

    message = rejection(
        gateway, body, sign_webhook(body, "whsec_attacker"), WebhookEndpoint.CONNECT
    )
    assert "No signatures found matching" in message


def test_body_changed_after_signing_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()
    header = sign_webhook(body, CONNECT_SECRET)
    tampered = body.replace(b'"amount": 1099', b'"amount": 1')
    assert tampered != body

    rejection(gateway, tampered, header, WebhookEndpoint.CONNECT)


def test_only_the_old_secret_after_rotation_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()

    rejection(gateway, body, sign_webhook(body, "whsec_connect_old"), WebhookEndpoint.CONNECT)


def test_stale_timestamp_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()
    signed_at = int(time.time()) - WEBHOOK_TOLERANCE_SECONDS - 60

    message = rejection(
        gateway,
        body,
        sign_webhook(body, CONNECT_SECRET, timestamp=signed_at),
        WebhookEndpoint.CONNECT,
    )
    assert "tolerance" in message


def test_future_timestamp_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()
    signed_at = int(time.time()) + WEBHOOK_TOLERANCE_SECONDS + 60

    message = rejection(
        gateway,
        body,
        sign_webhook(body, CONNECT_SECRET, timestamp=signed_at),
        WebhookEndpoint.CONNECT,
    )
    assert "future" in message


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_rejected(gateway: StripeGateway, header: str | None) -> None:
    message = rejection(gateway, connect_event(), header, WebhookEndpoint.CONNECT)
    assert message == "Missing Stripe-Signature header."


@pytest.mark.parametrize("header", ["t=abc,v1=00", "v1=deadbeef", "garbage"])
def test_malformed_header_is_rejected(gateway: StripeGateway, header: str) -> None:
    message = rejection(gateway, connect_event(), header, WebhookEndpoint.CONNECT)
    assert message.startswith("Invalid Stripe-Signature")


def test_header_without_a_v1_signature_is_rejected(gateway: StripeGateway) -> None:
    body = connect_event()
    only_v0 = sign_webhook(body, CONNECT_SECRET).replace("v1=", "v0=")

    message = rejection(gateway, body, only_v0, WebhookEndpoint.CONNECT)
    assert "v1" in message


def test_event_signed_for_the_other_endpoint_is_rejected(gateway: StripeGateway) -> None:
    connect_body = connect_event()
    platform_body = platform_event()

    rejection(
        gateway, connect_body, sign_webhook(connect_body, PLATFORM_SECRET), WebhookEndpoint.CONNECT
    )
    rejection(
        gateway,
        platform_body,
        sign_webhook(platform_body, CONNECT_SECRET),
        WebhookEndpoint.PLATFORM,
    )


def test_connect_endpoint_requires_a_connected_account(gateway: StripeGateway) -> None:
    body = platform_event()

    message = rejection(gateway, body, sign_webhook(body, CONNECT_SECRET), WebhookEndpoint.CONNECT)
    assert "STRIPE_CONNECT_WEBHOOK_SECRET" in message


def test_platform_endpoint_refuses_a_connected_accounts_event(gateway: StripeGateway) -> None:
    body = connect_event()

    message = rejection(
        gateway, body, sign_webhook(body, PLATFORM_SECRET), WebhookEndpoint.PLATFORM
    )
    assert SELLER in message


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2, 3]",
        json.dumps(FIXTURES["payment_intent"]).encode(),  # an object, not an event
        json.dumps({"object": "v2.core.event", "id": "evt_thin", "type": "v2.x"}).encode(),
        json.dumps({**FIXTURES["event"], "account": SELLER, "data": {}}).encode(),
        json.dumps({**FIXTURES["event"], "account": SELLER, "created": "yesterday"}).encode(),
    ],
    ids=["not-json", "list", "bare-object", "thin-event", "no-data-object", "bad-created"],
)
def test_signed_bodies_that_are_not_v1_events_are_rejected(
    gateway: StripeGateway, body: bytes
) -> None:
    rejection(gateway, body, sign_webhook(body, CONNECT_SECRET), WebhookEndpoint.CONNECT)


def test_body_that_is_not_utf8_is_rejected(gateway: StripeGateway) -> None:
    body = b'{"id": "evt_\xff"}'
    header = f"t={int(time.time())},v1={'0' * 64}"

    message = rejection(gateway, body, header, WebhookEndpoint.CONNECT)
    assert "UTF-8" in message


def test_an_unconfigured_secret_rejects_everything() -> None:
    gateway = StripeGateway(
        secret_key="sk_test_webhooks",
        publishable_key=None,
        platform_webhook_secret="",
        connect_webhook_secret=CONNECT_SECRET,
    )
    body = platform_event()

    # An empty key would make every HMAC computable by anyone.
    message = rejection(gateway, body, sign_webhook(body, ""), WebhookEndpoint.PLATFORM)
    assert "No signing secret" in message
    gateway.close()


def test_live_keys_mark_the_gateway_live() -> None:
    gateway = StripeGateway(
        secret_key="rk_live_restricted",
        publishable_key="pk_live_x",
        platform_webhook_secret=PLATFORM_SECRET,
        connect_webhook_secret=CONNECT_SECRET,
    )
    assert gateway.livemode is True
    gateway.close()
