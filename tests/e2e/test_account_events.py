"""Sellers' accounts that leave or change, and their payouts (issue 16 point 7), and events
rendered in another API version (point 9): Stripe-shaped, signed deliveries to the Connect
endpoint, built from Stripe's own fixture objects (``fixtures3``: application, capability,
payout)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, ProviderEvent, SellerPayout, User
from stubcollector.services.marketplace.views import (
    REASON_SELLER_DISCONNECTED,
    REASON_SELLER_NOT_READY,
)
from tests.support.clients import anonymous_client, client_for
from tests.support.database import reloaded
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, sandbox_pages, sandbox_seller, webhook_endpoint_down
from tests.support.stripe_events import fixture, signed, stripe_event

CONNECT = "/api/payments/webhook/connect"


@pytest.fixture
def webhook_client(app: Flask) -> FlaskClient:
    return anonymous_client(app)


def _deliver(client: FlaskClient, event: dict[str, Any]) -> str:
    """POST a signed event to the Connect endpoint; returns how it was processed."""
    body, headers = signed(event, container().settings.stripe_connect_webhook_secret)
    response = client.post(CONNECT, data=body, headers=headers)
    assert response.status_code == 200, response.json
    db.session.expire_all()
    status = db.session.scalar(
        select(ProviderEvent.processing_status).where(ProviderEvent.event_id == event["id"])
    )
    assert status is not None
    return str(status)


def _audit(action: str) -> list[AuditLogEntry]:
    return list(db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == action)))


def _listing_as_buyer(app: Flask, listing_id: int) -> dict[str, Any]:
    response = client_for(app, UserFactory.create()).get(f"/api/marketplace/listings/{listing_id}")
    assert response.status_code == 200
    return dict(response.json["listing"])


def _seller_page(app: Flask, seller: User) -> str:
    response = client_for(app, seller).get("/seller/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


# --- account.application.deauthorized ---------------------------------------------------


def test_a_seller_who_disconnects_can_no_longer_be_paid_and_their_listings_say_why(
    app: Flask, webhook_client: FlaskClient
) -> None:
    seller = sandbox_seller()
    account_id = str(seller.stripe_account_id)
    listing = listing_of(seller)
    assert _listing_as_buyer(app, listing.id)["can_purchase"] is True
    application = fixture("application")  # Stripe's object: our Application, not the account
    application.update(id="ca_1PgafTB7WZ01zgkWPlatform", name="Stub Collector")

    outcome = _deliver(
        webhook_client,
        stripe_event(
            "account.application.deauthorized",
            application,
            account=account_id,
            event_id="evt_deauth",
        ),
    )

    assert outcome == "processed"
    fresh = reloaded(User, seller.id)
    assert fresh.stripe_account_deauthorized_at is not None
    assert not fresh.can_accept_payments
    assert (fresh.stripe_charges_enabled, fresh.stripe_payouts_enabled) == (False, False)
    assert fresh.stripe_account_status == "disabled"
    assert [e.details["account_id"] for e in _audit("seller.account_deauthorized")] == [account_id]
    shown = _listing_as_buyer(app, listing.id)
    assert shown["status"] == "active"  # still listed, with the reason it cannot be bought
    assert (shown["can_purchase"], shown["purchase_status_reason"]) == (
        False,
        REASON_SELLER_DISCONNECTED,
    )
    refused = client_for(app, UserFactory.create()).post(
        "/api/payments/create-payment-intent", json={"listing_id": listing.id}
    )
    assert refused.status_code == 409
    missing = client_for(app, fresh).get("/api/marketplace/payment-compatibility").json
    page = _seller_page(app, fresh)
    assert missing["payment_compatibility"]["can_sell"] is False
    assert "disconnected" in missing["payment_compatibility"]["missing"][0]
    assert "disconnected your Stripe account" in page


def test_events_about_a_disconnected_account_change_nothing(
    app: Flask, webhook_client: FlaskClient
) -> None:
    seller = sandbox_seller()
    account_id = str(seller.stripe_account_id)
    deauthorized = stripe_event(
        "account.application.deauthorized",
        fixture("application"),
        account=account_id,
        event_id="evt_deauth_1",
    )
    assert _deliver(webhook_client, deauthorized) == "processed"
    # A late account.updated (sent before the disconnection, delivered after): we may no
    # longer read the account, and nothing it says may make it payable again.
    late = fixture("account")
    late.update(id=account_id, charges_enabled=True)
    assert (
        _deliver(
            webhook_client,
            stripe_event("account.updated", late, account=account_id, event_id="evt_late"),
        )
        == "ignored"
    )
    redelivered = {**deauthorized, "id": "evt_deauth_2"}
    assert _deliver(webhook_client, redelivered) == "processed"
    assert not reloaded(User, seller.id).can_accept_payments
    assert len(_audit("seller.account_deauthorized")) == 1


def test_a_deauthorization_of_an_account_that_is_not_ours_is_ignored(
    app: Flask, webhook_client: FlaskClient
) -> None:
    event = stripe_event(
        "account.application.deauthorized",
        fixture("application"),
        account="acct_1NotOneOfOurSellers",
        event_id="evt_deauth_other",
    )
    assert _deliver(webhook_client, event) == "ignored"


def test_a_disconnected_seller_can_connect_a_new_account(
    app: Flask, webhook_client: FlaskClient
) -> None:
    seller = sandbox_seller()
    old_account = str(seller.stripe_account_id)
    _deliver(
        webhook_client,
        stripe_event(
            "account.application.deauthorized",
            fixture("application"),
            account=old_account,
            event_id="evt_deauth_new",
        ),
    )
    started = client_for(app, reloaded(User, seller.id)).post(
        "/api/payments/connect/onboard", json={}
    )
    assert started.status_code == 201, started.json
    new_account = started.json["account_id"]
    assert new_account != old_account
    fresh = reloaded(User, seller.id)
    assert (fresh.stripe_account_id, fresh.stripe_account_deauthorized_at) == (new_account, None)
    assert _audit("seller.account_created")[-1].details["replaces"] == old_account


# --- capability.updated ------------------------------------------------------------------


def test_a_capability_update_re_reads_the_account(app: Flask, webhook_client: FlaskClient) -> None:
    seller = sandbox_seller()
    account_id = str(seller.stripe_account_id)
    listing = listing_of(seller)
    # Stripe restricts card payments; its account.updated is lost, its capability event
    # is what arrives.
    with webhook_endpoint_down(app):
        sandbox_pages(app).restrict_card_payments(account_id, restricted=True)
    assert reloaded(User, seller.id).can_accept_payments  # we do not know yet
    capability = fixture("capability")  # card_payments, status inactive
    capability["account"] = account_id

    outcome = _deliver(
        webhook_client,
        stripe_event("capability.updated", capability, account=account_id, event_id="evt_cap"),
    )

    assert outcome == "processed"
    fresh = reloaded(User, seller.id)
    assert not fresh.can_accept_payments
    assert fresh.stripe_account_status == "restricted"
    assert "individual.verification.document" in fresh.stripe_requirements_due
    shown = _listing_as_buyer(app, listing.id)
    assert (shown["can_purchase"], shown["purchase_status_reason"]) == (
        False,
        REASON_SELLER_NOT_READY,
    )


def test_a_capability_update_of_an_unknown_account_is_ignored(
    app: Flask, webhook_client: FlaskClient
) -> None:
    capability = fixture("capability")  # names Stripe's example account, not ours
    event = stripe_event(
        "capability.updated", capability, account=capability["account"], event_id="evt_cap_x"
    )
    assert _deliver(webhook_client, event) == "ignored"


# --- payouts -----------------------------------------------------------------------------


def _payout(payout_id: str, status: str, **changes: Any) -> dict[str, Any]:
    payout = fixture("payout")
    payout.update(id=payout_id, status=status, amount=2250, arrival_date=1767225600, **changes)
    if status == "failed":
        payout.update(
            failure_code="account_closed",
            failure_message="The bank account has been closed",
            failure_balance_transaction="txn_1PgaxNB7WZ01zgkWFailed",
        )
    return payout


@pytest.mark.parametrize("order", ["paid_then_failed", "failed_then_paid"])
def test_a_payout_that_fails_after_reading_paid_is_flagged_failed_in_any_delivery_order(
    app: Flask, webhook_client: FlaskClient, order: str
) -> None:
    seller = sandbox_seller()
    account_id = str(seller.stripe_account_id)
    paid = stripe_event(
        "payout.paid", _payout("po_1", "paid"), account=account_id, event_id="evt_po_paid"
    )
    failed = stripe_event(
        "payout.failed", _payout("po_1", "failed"), account=account_id, event_id="evt_po_failed"
    )
    events = [paid, failed] if order == "paid_then_failed" else [failed, paid]

    for event in events:
        assert _deliver(webhook_client, event) == "processed"

    payout = db.session.scalars(select(SellerPayout)).one()
    assert (payout.payout_id, payout.seller_id, payout.status) == ("po_1", seller.id, "failed")
    assert (payout.amount_cents, payout.failure_code) == (2250, "account_closed")
    assert str(payout.arrival_date) == "2026-01-01"
    page = _seller_page(app, seller)
    assert "A payout to your bank failed" in page
    assert "Your bank account is closed" in page
    assert re.search(r'data-payout-id="po_1"[^>]*data-status="failed"', page)


def test_the_seller_sees_their_payouts(app: Flask, webhook_client: FlaskClient) -> None:
    seller = sandbox_seller()
    account_id = str(seller.stripe_account_id)
    for number, status in enumerate(("paid", "paid")):
        payout = _payout(f"po_{number}", status, created=1767000000 + number)
        _deliver(
            webhook_client,
            stripe_event(f"payout.{status}", payout, account=account_id, event_id=f"evt_{number}"),
        )
    page = _seller_page(app, seller)
    assert page.index('data-payout-id="po_1"') < page.index('data-payout-id="po_0"')
    assert "$22.50" in page
    assert "A payout to your bank failed" not in page


def test_payouts_of_accounts_that_are_not_ours_are_ignored(
    app: Flask, webhook_client: FlaskClient
) -> None:
    event = stripe_event(
        "payout.paid", _payout("po_x", "paid"), account="acct_1Other", event_id="evt_po_x"
    )
    assert _deliver(webhook_client, event) == "ignored"
    assert db.session.scalars(select(SellerPayout)).all() == []


# --- API versions --------------------------------------------------------------------------


def test_an_event_of_another_api_version_is_logged_and_counted(
    app: Flask, webhook_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    seller = sandbox_seller()
    event = stripe_event(
        "payout.paid",
        _payout("po_v", "paid"),
        account=str(seller.stripe_account_id),
        event_id="evt_old_version",
    )
    event["api_version"] = "2024-06-20"
    before = _mismatches(webhook_client, "2024-06-20")

    with caplog.at_level(logging.WARNING, logger="stubcollector.services.webhooks"):
        outcome = _deliver(webhook_client, event)

    assert outcome == "processed"  # still handled; readers treat missing fields as absent
    assert _mismatches(webhook_client, "2024-06-20") == before + 1
    _deliver(webhook_client, event)  # Stripe delivers it again: one event, counted once
    assert _mismatches(webhook_client, "2024-06-20") == before + 1
    assert "2024-06-20" in caplog.text
    assert "2026-10-28.endive" in caplog.text
    # Our own version is not counted.
    current = stripe_event(
        "payout.paid", _payout("po_w", "paid"), account=str(seller.stripe_account_id),
        event_id="evt_current",
    )  # fmt: skip
    _deliver(webhook_client, current)
    assert _mismatches(webhook_client, "2026-10-28.endive") == 0


def _mismatches(client: FlaskClient, version: str) -> float:
    """The counter as Prometheus scrapes it from /metrics."""
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(
        r'^stubcollector_webhook_api_version_mismatches_total\{api_version="'
        + re.escape(version)
        + r'"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0
