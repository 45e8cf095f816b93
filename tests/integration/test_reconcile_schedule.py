"""Reconciliation runs without a human: the periodic job, its backoff, and where it looks
for undelivered events (the platform, then each connected account with open payments)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from stubcollector.adapters.jobs import periodic_jobs, registered_job
from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent, StubOrder, StubPayment, User, utcnow
from stubcollector.services import checkout, reconcile, webhooks
from tests.support.database import reloaded
from tests.support.factories import SellerFactory, UserFactory
from tests.support.payments import (
    listing_of,
    sandbox,
    sandbox_pages,
    sandbox_seller,
    webhook_endpoint_down,
)


@pytest.fixture
def seller(app: Flask) -> User:
    return sandbox_seller()  # onboarded while its account.updated could still be delivered


@pytest.fixture
def endpoint_down(app: Flask, seller: User) -> Iterator[None]:
    with webhook_endpoint_down(app):
        yield


def _paid_while_endpoint_down(seller: User) -> checkout.CheckoutStarted:
    result = checkout.create_payment_intent(UserFactory.create(), listing_of(seller).id)
    sandbox_pages().confirm_payment(
        str(result.payment_intent_id), str(result.client_secret), CARD_SUCCESS
    )
    return result


def test_reconcile_is_scheduled_every_five_to_ten_minutes() -> None:
    entry = next(e for e in periodic_jobs() if e.name == "payments.reconcile")
    assert 300 <= entry.every_seconds <= 600
    assert registered_job("payments.reconcile") is reconcile.reconcile_periodically


def test_the_scheduled_run_recovers_a_missed_payment(
    app: Flask, seller: User, endpoint_down: None
) -> None:
    result = _paid_while_endpoint_down(seller)
    order_id = int(str(result.order_id))
    assert reloaded(StubOrder, order_id).order_status == "pending"

    # The scheduled run leaves an order alone while its events may still be on their way.
    container().jobs.enqueue("payments.reconcile")  # what the scheduler does; eager in tests
    assert reloaded(StubOrder, order_id).order_status == "pending"

    _age_orders(reconcile.RECHECK_QUIET + timedelta(seconds=1))
    container().jobs.enqueue("payments.reconcile")

    assert reloaded(StubOrder, order_id).order_status == "payment_completed"


def _age_orders(by: timedelta) -> None:
    db.session.execute(update(StubOrder).values(updated_at=utcnow() - by))
    db.session.commit()


def test_the_scheduled_run_re_reads_a_bounded_batch_taking_turns(
    app: Flask, seller: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Buyers who opened checkout and walked away: nothing to recover, and however many
    # there are, each run re-reads only a few of them from the provider.
    for _ in range(3):
        checkout.create_payment_intent(UserFactory.create(), listing_of(seller).id)
    monkeypatch.setattr(reconcile, "RECHECK_BATCH", 2)
    assert reconcile.reconcile(backoff=True).payments_checked == 0  # not quiet yet

    _age_orders(reconcile.RECHECK_QUIET + timedelta(seconds=1))
    first = reconcile.reconcile(backoff=True)
    second = reconcile.reconcile(backoff=True)
    third = reconcile.reconcile(backoff=True)

    assert (first.payments_checked, second.payments_checked, third.payments_checked) == (2, 1, 0)
    checked = db.session.scalars(select(StubPayment.provider_checked_at)).all()
    assert len(checked) == 3
    assert all(checked)
    # An operator's run re-reads all of them at once.
    assert reconcile.reconcile().payments_checked == 3


def test_sandbox_lists_a_connected_accounts_events_only_under_that_account(
    app: Flask, seller: User, endpoint_down: None
) -> None:
    result = _paid_while_endpoint_down(seller)
    account = str(result.stripe_account_id)
    since = utcnow() - timedelta(hours=1)
    types = ("payment_intent.succeeded",)

    on_account = sandbox().undelivered_events(since=since, types=types, account_id=account)
    on_platform = sandbox().undelivered_events(since=since, types=types)
    elsewhere = sandbox().undelivered_events(since=since, types=types, account_id="acct_other")

    assert [event.account for event in on_account] == [account]
    assert on_platform == []
    assert elsewhere == []


def _failed_event(received_ago: timedelta, attempts: int) -> int:
    row = ProviderEvent(
        provider="sandbox",
        event_id=f"evt_failed_{attempts}_{int(received_ago.total_seconds())}",
        event_type="payout.paid",
        account="acct_1",
        payload={"id": "evt", "type": "payout.paid", "data": {"object": {"id": "po_1"}}},
        received_at=utcnow() - received_ago,
        processing_status="failed",
        attempts=attempts,
        last_error="RuntimeError: the database went away",
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def _status(row_id: int) -> tuple[str, int]:
    db.session.expire_all()
    row = db.session.get(ProviderEvent, row_id)
    assert row is not None
    return row.processing_status, row.attempts


def test_scheduled_retries_wait_longer_after_each_failure(app: Flask) -> None:
    SellerFactory.create(stripe_account_id="acct_1")  # whose payout the events report
    assert [webhooks.retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [5, 15, 35, 75]
    due = _failed_event(timedelta(minutes=16), attempts=2)  # second retry due at 15 min
    early = _failed_event(timedelta(minutes=14), attempts=2)
    fresh = _failed_event(timedelta(minutes=1), attempts=1)

    assert webhooks.retry_failed(backoff=True) == {"processed": 1}
    assert _status(due) == ("processed", 3)
    assert _status(early) == ("failed", 2)
    assert _status(fresh) == ("failed", 1)

    # An operator's run (flask payments reconcile) does not wait.
    reconcile.reconcile()
    assert _status(early) == ("processed", 3)
    assert _status(fresh) == ("processed", 2)


def test_scheduled_run_leaves_a_just_received_event_to_its_own_job(app: Flask) -> None:
    SellerFactory.create(stripe_account_id="acct_1")  # whose payout the event reports
    row = ProviderEvent(
        provider="sandbox",
        event_id="evt_in_queue",
        event_type="payout.paid",
        account="acct_1",
        payload={"id": "evt_in_queue", "type": "payout.paid", "data": {"object": {"id": "po_2"}}},
    )
    db.session.add(row)
    db.session.commit()
    assert webhooks.retry_failed(backoff=True) == {}
    db.session.execute(
        update(ProviderEvent)
        .where(ProviderEvent.id == row.id)
        .values(received_at=utcnow() - timedelta(minutes=3))
    )
    db.session.commit()
    assert webhooks.retry_failed(backoff=True) == {"processed": 1}
