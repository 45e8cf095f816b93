"""Webhook refusals leave an audit trace; the allowlist believes only trusted proxies;
webhooks are exempt from rate limits while the routes beside them are not.

(Signature mechanics and replay handling are in tests/e2e/test_payments_webhooks.py.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, ProviderEvent
from tests.support.database import row_count
from tests.support.stripe_events import fixture, signed, stripe_event

CONNECT = "/api/payments/webhook/connect"
PLATFORM = "/api/payments/webhook"


def _event(event_id: str) -> dict[str, Any]:
    return stripe_event("balance.available", fixture("balance"), account=None, event_id=event_id)


def _rejections() -> list[AuditLogEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.action == "webhook.rejected")
            .order_by(AuditLogEntry.id)
        )
    )


def _forgeries(secret: str) -> dict[str, tuple[bytes, dict[str, str], str]]:
    """name -> (body, headers, words expected in the recorded reason)."""
    event = _event("evt_forgery")
    good_body, good_headers = signed(event, secret)
    wrong_body, wrong_headers = signed(event, "whsec_attacker")
    stale_body, stale_headers = signed(event, secret, timestamp=int(time.time()) - 3600)
    not_event = json.dumps({"hello": "world"}).encode()
    _, not_event_headers = signed({"hello": "world"}, secret)
    return {
        "wrong secret": (wrong_body, wrong_headers, "signature"),
        "tampered body": (good_body.replace(b"evt_forgery", b"evt_forgerx"), good_headers, "sig"),
        "no signature": (good_body, {"Content-Type": "application/json"}, "Stripe-Signature"),
        "stale timestamp (replay)": (stale_body, stale_headers, "tolerance"),
        "signed non-event": (not_event, not_event_headers, "event"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "wrong secret",
        "tampered body",
        "no signature",
        "stale timestamp (replay)",
        "signed non-event",
    ],
)
@pytest.mark.parametrize("path", [PLATFORM, CONNECT])
def test_every_refused_delivery_is_recorded(app: Flask, path: str, name: str) -> None:
    settings = container().settings
    secret = (
        settings.stripe_webhook_secret
        if path == PLATFORM
        else settings.stripe_connect_webhook_secret
    )
    body, headers, reason_words = _forgeries(secret)[name]
    response = app.test_client().post(
        path, data=body, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert response.status_code == 400
    assert row_count(ProviderEvent) == 0
    [entry] = _rejections()
    assert entry.actor_kind == "webhook"
    assert entry.actor_user_id is None
    assert entry.ip_address == "203.0.113.9"
    assert entry.details["endpoint"] == ("platform" if path == PLATFORM else "connect")
    assert entry.details["provider"] == "sandbox"
    assert reason_words.lower() in entry.details["reason"].lower()
    # Our words only: the untrusted body is never copied into the log.
    assert "evt_forg" not in json.dumps(entry.details)
    assert "hello" not in json.dumps(entry.details)


def test_a_replayed_event_inside_the_tolerance_is_stored_once(app: Flask) -> None:
    body, headers = signed(_event("evt_replayed"), container().settings.stripe_webhook_secret)
    client = app.test_client()
    first = client.post(PLATFORM, data=body, headers=headers)
    again = client.post(PLATFORM, data=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json["duplicate"], again.json["duplicate"]) == (False, True)
    assert row_count(ProviderEvent) == 1
    assert _rejections() == []


class TestSourceAllowlist:
    def test_a_refused_address_is_recorded_and_forwarded_for_is_ignored(
        self, make_app: Callable[..., Flask]
    ) -> None:
        allowlisted = make_app(webhook_ip_allowlist=("3.18.12.63",))
        with allowlisted.app_context():
            body, headers = signed(_event("evt_ip"), container().settings.stripe_webhook_secret)
            response = allowlisted.test_client().post(
                PLATFORM,
                data=body,
                headers={**headers, "X-Forwarded-For": "3.18.12.63"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"},
            )
            assert response.status_code == 403
            [entry] = _rejections()
            # The peer, not the header a client can write.
            assert entry.ip_address == "198.51.100.7"
            assert "allowlist" in entry.details["reason"].lower()
            assert row_count(ProviderEvent) == 0
            db.session.remove()

    def test_behind_a_trusted_proxy_the_forwarded_address_counts(
        self, make_app: Callable[..., Flask]
    ) -> None:
        proxied = make_app(webhook_ip_allowlist=("3.18.12.63",), trusted_proxy_count=1)
        with proxied.app_context():
            body, headers = signed(_event("evt_px2"), container().settings.stripe_webhook_secret)
            client = proxied.test_client()
            outside = client.post(
                PLATFORM, data=body, headers={**headers, "X-Forwarded-For": "198.51.100.7"}
            )
            assert outside.status_code == 403
            assert _rejections()[-1].ip_address == "198.51.100.7"
            inside = client.post(
                PLATFORM, data=body, headers={**headers, "X-Forwarded-For": "3.18.12.63"}
            )
            assert inside.status_code == 200
            db.session.remove()


def test_webhooks_are_exempt_from_the_default_limit(make_app: Callable[..., Flask]) -> None:
    limited = make_app(ratelimit_enabled=True, ratelimit_default=("5 per minute",))
    with limited.app_context():
        client = limited.test_client()
        secret = container().settings.stripe_webhook_secret
        statuses = []
        for n in range(12):
            body, headers = signed(_event(f"evt_burst_{n}"), secret)
            statuses.append(client.post(PLATFORM, data=body, headers=headers).status_code)
        assert statuses == [200] * 12
        assert row_count(ProviderEvent) == 12
        # The same client on an ordinary route is held to the default limit.
        others = [client.get("/api/marketplace/listings").status_code for _ in range(6)]
        assert others[:5] == [200] * 5
        assert others[5] == 429
        db.session.remove()
