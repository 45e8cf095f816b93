"""A lost ``account.updated`` is recovered by the stale-account sweep, a few accounts a run.

Reconciliation only lists undelivered events of accounts with open orders; a seller who
finished onboarding and has nothing open would otherwise stay unable to sell.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from stubcollector.adapters.jobs import periodic_jobs, registered_job
from stubcollector.adapters.payments.ports import (
    ConnectedAccount,
    PaymentError,
    PaymentProviderUnavailable,
)
from stubcollector.container import container
from stubcollector.domain.errors import Conflict
from stubcollector.extensions import db
from stubcollector.models import User, utcnow
from stubcollector.services import onboarding, reconcile
from stubcollector.services.marketplace import browsing, selling
from stubcollector.services.marketplace.views import REASON_SELLER_NOT_READY
from tests.support.database import reloaded
from tests.support.factories import SellerFactory, StubFactory
from tests.support.payments import (
    listing_of,
    sandbox,
    sandbox_pages,
    sandbox_seller,
    webhook_endpoint_down,
)


@pytest.fixture
def events_lost(app: Flask) -> Iterator[None]:
    """The webhook endpoint is unreachable: the provider's events never arrive."""
    with webhook_endpoint_down(app):
        yield


def _checked_ago(user_id: int, ago: timedelta) -> None:
    db.session.execute(
        update(User).where(User.id == user_id).values(stripe_account_checked_at=utcnow() - ago)
    )
    db.session.commit()


def test_the_sweep_is_scheduled() -> None:
    entry = next(e for e in periodic_jobs() if e.name == "payments.refresh_accounts")
    assert entry.every_seconds == onboarding.ACCOUNT_SWEEP_EVERY_SECONDS
    assert registered_job("payments.refresh_accounts") is (
        onboarding.refresh_stale_accounts_periodically
    )


def test_a_seller_whose_account_updated_was_lost_can_sell_after_the_sweep(
    app: Flask, events_lost: None
) -> None:
    # The seller finishes onboarding at the provider; the account.updated never arrives,
    # and they do not come back to the return page.
    seller = sandbox_seller("complete")
    assert sandbox().retrieve_account(str(seller.stripe_account_id)).charges_enabled
    assert not seller.can_accept_payments
    stub = StubFactory.create(owner=seller)
    with pytest.raises(Conflict):
        selling.create_listing(seller, stub_id=stub.id, asking_price="25.00")

    # Reconciliation alone does not see it: the seller has no open orders.
    reconcile.reconcile()
    assert not reloaded(User, seller.id).can_accept_payments

    # Just after onboarding started the account is not due yet; half an hour later it is.
    assert onboarding.refresh_stale_accounts().checked == 0
    _checked_ago(seller.id, onboarding.INCOMPLETE_RECHECK_AFTER + timedelta(minutes=1))
    container().jobs.enqueue("payments.refresh_accounts")  # what the scheduler does

    fresh = reloaded(User, seller.id)
    assert fresh.can_accept_payments
    assert fresh.stripe_account_status == "active"
    assert fresh.stripe_onboarding_completed
    listing = selling.create_listing(fresh, stub_id=stub.id, asking_price="25.00")
    assert listing.status == "active"
    assert listing.can_purchase is False  # the seller's own listing
    # Ready now: not re-read again until it is a day old.
    assert onboarding.accounts_due_for_refresh() == []


def test_a_sweep_reads_a_small_batch_oldest_checked_first(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []

    def retrieve(account_id: str) -> ConnectedAccount:
        read.append(account_id)
        return ConnectedAccount(account_id, True, True, True)

    monkeypatch.setattr(sandbox(app), "retrieve_account", retrieve)
    incomplete = [
        SellerFactory.create(stripe_charges_enabled=False, stripe_account_status="pending")
        for _ in range(onboarding.ACCOUNT_SWEEP_BATCH + 3)
    ]
    for age, user in enumerate(incomplete):
        _checked_ago(user.id, timedelta(hours=1, minutes=age))
    recent_incomplete = SellerFactory.create(stripe_charges_enabled=False)
    _checked_ago(recent_incomplete.id, timedelta(minutes=5))
    ready_recent = SellerFactory.create()
    _checked_ago(ready_recent.id, timedelta(hours=23))
    ready_stale = SellerFactory.create()
    _checked_ago(ready_stale.id, timedelta(hours=25))
    never_checked = SellerFactory.create()  # e.g. created before the column existed
    SellerFactory.create(stripe_account_id=None, stripe_charges_enabled=False)

    report = onboarding.refresh_stale_accounts()

    oldest_first = [never_checked, ready_stale, *reversed(incomplete)]
    expected = [u.stripe_account_id for u in oldest_first[: onboarding.ACCOUNT_SWEEP_BATCH]]
    assert read == expected
    assert report.checked == onboarding.ACCOUNT_SWEEP_BATCH
    assert report.status_changed == onboarding.ACCOUNT_SWEEP_BATCH - 2  # two were active

    read.clear()
    onboarding.refresh_stale_accounts()
    # The rest of the line, and nothing fresh.
    assert read == [u.stripe_account_id for u in oldest_first[onboarding.ACCOUNT_SWEEP_BATCH :]]
    read.clear()
    assert onboarding.refresh_stale_accounts().checked == 0
    assert read == []


def test_a_refused_account_goes_to_the_back_and_an_outage_ends_the_run(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept, later = (SellerFactory.create(stripe_charges_enabled=False) for _ in range(3))
    for age, user in ((3, gone), (2, kept), (1, later)):
        _checked_ago(user.id, timedelta(hours=age))
    outage = {"on": False}
    read: list[str] = []

    def retrieve(account_id: str) -> ConnectedAccount:
        read.append(account_id)
        if account_id == gone.stripe_account_id:
            raise PaymentError(f"No such account: '{account_id}'")
        if outage["on"]:
            raise PaymentProviderUnavailable("the payment provider is unreachable")
        return ConnectedAccount(account_id, False, False, True, ("external_account",))

    monkeypatch.setattr(sandbox(app), "retrieve_account", retrieve)

    outage["on"] = True
    report = onboarding.refresh_stale_accounts()
    assert read == [gone.stripe_account_id, kept.stripe_account_id]  # stopped at the outage
    assert len(report.errors) == 2
    assert reloaded(User, gone.id).stripe_account_checked_at > utcnow() - timedelta(minutes=1)
    assert reloaded(User, kept.id).stripe_account_checked_at < utcnow() - timedelta(hours=1)

    outage["on"] = False
    read.clear()
    onboarding.refresh_stale_accounts()
    assert read == [kept.stripe_account_id, later.stripe_account_id]
    assert reloaded(User, kept.id).stripe_requirements_due == ["external_account"]


def test_a_seller_restricted_while_their_events_were_lost_stops_selling_after_the_sweep(
    app: Flask,
) -> None:
    # A ready seller with a listing and nothing open (no orders): Stripe restricts card
    # payments, and neither its account.updated nor its capability.updated arrive.
    seller = sandbox_seller("complete")
    listing = listing_of(seller)
    account_id = str(seller.stripe_account_id)
    with webhook_endpoint_down(app):
        sandbox_pages(app).restrict_card_payments(account_id, restricted=True)
    assert reloaded(User, seller.id).can_accept_payments  # what we still believe
    reconcile.reconcile()  # sees nothing: no open payment on that account
    assert reloaded(User, seller.id).can_accept_payments

    # A ready account is re-read once a day.
    _checked_ago(seller.id, onboarding.STALE_AFTER + timedelta(minutes=1))
    report = onboarding.refresh_stale_accounts()

    assert (report.checked, report.status_changed) == (1, 1)
    fresh = reloaded(User, seller.id)
    assert not fresh.can_accept_payments
    assert fresh.stripe_account_status == "restricted"
    shown = browsing.get_listing(listing.id, viewer_id=None)
    assert (shown.can_purchase, shown.purchase_status_reason) == (False, REASON_SELLER_NOT_READY)


def test_disconnected_accounts_are_never_swept(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    left = SellerFactory.create(
        stripe_account_deauthorized_at=utcnow(), stripe_charges_enabled=False
    )
    _checked_ago(left.id, timedelta(days=3))
    read: list[str] = []
    monkeypatch.setattr(
        sandbox(app), "retrieve_account", lambda account_id: read.append(account_id)
    )

    onboarding.refresh_stale_accounts()

    assert read == []
    assert onboarding.accounts_due_for_refresh() == []
