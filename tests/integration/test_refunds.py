"""Refunds as the provider reports them: pending, failed, retried, reconciled.

The sandbox is the provider here (its refund test cards: 4000 0000 0000 7726 keeps refunds
pending until ``settle_refund`` decides them, 4000 0000 0000 5126 refunds succeed and then
fail), and its events reach our handlers signed, through ``webhooks.receive``. Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from stubcollector.adapters.payments.ports import (
    PaymentError,
    PaymentProviderUnavailable,
    RefundUpdate,
)
from stubcollector.adapters.payments.sandbox.cards import (
    CARD_REFUND_FAILS,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
)
from stubcollector.adapters.payments.sandbox.models import SandboxEvent, SandboxRefund
from stubcollector.domain.errors import Conflict, PermissionDenied
from stubcollector.domain.statuses import RefundStatus
from stubcollector.extensions import db
from stubcollector.models import (
    AuditLogEntry,
    ProviderEvent,
    StubListing,
    StubOrder,
    StubPayment,
    StubRefund,
    User,
    utcnow,
)
from stubcollector.services import admin, checkout, reconcile
from stubcollector.services.orders import payments, refund_ledger, refunds, views
from stubcollector.services.orders.state import SYSTEM
from tests.support.factories import AdminFactory, UserFactory
from tests.support.payments import (
    listing_of,
    sandbox,
    sandbox_pages,
    sandbox_seller,
    webhook_endpoint_down,
)


class Sale:
    def __init__(self, card: str) -> None:
        self.seller = sandbox_seller()
        self.listing_id = listing_of(self.seller).id
        self.buyer = UserFactory.create()
        self.admin = AdminFactory.create()
        started = checkout.create_payment_intent(self.buyer, self.listing_id)
        self.order_id = int(started.order_id)
        self.pi_id = str(started.payment_intent_id)
        self.account = str(started.stripe_account_id)
        self.total = int(started.total_amount_cents)
        sandbox_pages().confirm_payment(self.pi_id, started.client_secret, card)

    def state(self) -> tuple[str, str, str]:
        db.session.expire_all()
        order = db.session.get(StubOrder, self.order_id)
        listing = db.session.get(StubListing, self.listing_id)
        payment = db.session.scalars(
            select(StubPayment).where(StubPayment.order_id == self.order_id)
        ).one()
        assert order is not None
        assert listing is not None
        return order.order_status, listing.status, payment.payment_status

    def refunds(self) -> list[tuple[int | None, str | None, str, str | None]]:
        db.session.expire_all()
        return [
            (r.attempt, r.idempotency_key, r.status, r.failure_reason)
            for r in db.session.scalars(
                select(StubRefund)
                .where(StubRefund.order_id == self.order_id)
                .order_by(StubRefund.id)
            )
        ]

    def view(self, viewer: User | None = None) -> views.OrderView:
        return views.get_order(viewer or self.admin, self.order_id)


def _provider_refunds(pi_id: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(SandboxRefund)
            .where(SandboxRefund.payment_intent_id == pi_id)
        )
        or 0
    )


def _audit(order_id: int, action: str) -> list[AuditLogEntry]:
    return list(
        db.session.scalars(
            select(AuditLogEntry)
            .where(
                AuditLogEntry.action == action,
                AuditLogEntry.object_type == "order",
                AuditLogEntry.object_id == str(order_id),
            )
            .order_by(AuditLogEntry.id)
        )
    )


class Endpoint:
    """Our webhook endpoint as the sandbox sees it; ``down()`` makes deliveries fail."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def down(self) -> AbstractContextManager[None]:
        return webhook_endpoint_down(self.app)


@pytest.fixture
def endpoint(app: Flask) -> Endpoint:
    return Endpoint(app)


def _forget_undelivered_events() -> None:
    """The provider no longer lists the failed deliveries (older than the window)."""
    with db.session.begin():
        db.session.execute(update(SandboxEvent).values(created_at=utcnow() - timedelta(days=40)))


def _answer_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider makes the refund, but its answer never reaches us."""
    gateway = sandbox()
    real_refund = gateway.refund

    def answer_lost(*args: Any, **kwargs: Any) -> Any:
        real_refund(*args, **kwargs)
        raise PaymentProviderUnavailable("timed out")

    monkeypatch.setattr(gateway, "refund", answer_lost)


def test_a_pending_refund_keeps_the_order_paid_until_it_fails_then_an_admin_retries(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    sale = Sale(CARD_REFUND_PENDING)

    view = refunds.request_refund(sale.buyer, sale.order_id, reason="changed my mind")

    assert sale.state() == ("payment_completed", "sold", "refund_pending")
    assert (view.order_status, view.refund_state, view.refund_status) == (
        "payment_completed",
        "pending",
        "pending",
    )
    assert view.amount_refunded_cents == 0
    assert view.refund.attempt == 1
    refund_id = view.refund.refund_id
    assert refund_id == view.refund_id
    assert sale.refunds() == [(1, refund_ledger.refund_key(sale.order_id, 1), "pending", None)]
    # Buyer, seller and admin all see the refund on its way.
    for viewer in (sale.buyer, sale.seller, sale.admin):
        assert sale.view(viewer).refund_state == "pending"
    assert [o.id for o in admin.list_orders(refund="pending").items] == [sale.order_id]
    # Asking again while it is pending is refused: one refund at a time.
    with pytest.raises(Conflict):
        refunds.request_refund(sale.admin, sale.order_id)

    with caplog.at_level(logging.ERROR, logger="stubcollector.services.orders"):
        sandbox_pages().settle_refund(refund_id, succeed=False)

    # The provider's refund.updated / charge.refund.updated / refund.failed came in signed.
    processed = db.session.scalars(
        select(ProviderEvent.event_type).where(ProviderEvent.processing_status == "processed")
    ).all()
    assert {"refund.updated", "charge.refund.updated", "refund.failed"} <= set(processed)
    assert sale.state() == ("payment_completed", "sold", "succeeded")
    assert sale.refunds() == [
        (1, refund_ledger.refund_key(sale.order_id, 1), "failed", "lost_or_stolen_card")
    ]
    failed = sale.view()
    assert (failed.refund_state, failed.refund.failure_reason) == (
        "failed",
        "lost_or_stolen_card",
    )
    assert [o.id for o in admin.list_orders(refund="failed").items] == [sale.order_id]
    entry = _audit(sale.order_id, "order.refund_failed")[-1]
    assert (entry.before_status, entry.after_status) == ("pending", "failed")
    assert entry.details["failure_reason"] == "lost_or_stolen_card"
    assert entry.details["refund_id"] == refund_id
    logged = [r for r in caplog.records if getattr(r, "refund_id", None) == refund_id]
    assert logged
    assert (logged[0].order_id, logged[0].payment_intent, logged[0].account_id) == (  # type: ignore[attr-defined]
        sale.order_id,
        sale.pi_id,
        sale.account,
    )

    # Only an admin retries, as a new attempt with its own key (the old key would answer
    # with the failed refund).
    with pytest.raises(PermissionDenied):
        refunds.request_refund(sale.buyer, sale.order_id)
    retried = refunds.request_refund(sale.admin, sale.order_id)
    assert retried.refund_state == "pending"
    assert retried.refund.attempt == 2
    assert retried.refund.refund_id != refund_id
    with pytest.raises(Conflict):  # the double click
        refunds.request_refund(sale.admin, sale.order_id)
    assert _provider_refunds(sale.pi_id) == 2

    sandbox_pages().settle_refund(retried.refund.refund_id, succeed=True)

    assert sale.state() == ("refunded", "active", "refunded")
    assert sale.refunds() == [
        (1, refund_ledger.refund_key(sale.order_id, 1), "failed", "lost_or_stolen_card"),
        (2, refund_ledger.refund_key(sale.order_id, 2), "succeeded", None),
    ]
    done = sale.view(sale.buyer)
    assert (done.refund_state, done.amount_refunded_cents) == (None, sale.total)
    assert _audit(sale.order_id, "order.refunded")


def test_a_refund_that_succeeds_then_fails_leaves_the_sale_undone_and_retryable(
    app: Flask,
) -> None:
    sale = Sale(CARD_REFUND_FAILS)

    view = refunds.request_refund(sale.buyer, sale.order_id)

    # The refund read succeeded (the order was refunded and the stub put back on sale),
    # then it bounced: the money is the seller's again and the buyer has not got it.
    assert sale.state() == ("refunded", "active", "succeeded")
    assert (view.refund_state, view.refund_status) == ("failed", "failed")
    assert view.amount_refunded_cents == 0
    assert sale.refunds() == [
        (1, refund_ledger.refund_key(sale.order_id, 1), "failed", "expired_or_canceled_card")
    ]
    with pytest.raises(PermissionDenied):
        refunds.request_refund(sale.buyer, sale.order_id)
    retried = refunds.request_refund(sale.admin, sale.order_id)
    assert retried.refund.attempt == 2
    assert _provider_refunds(sale.pi_id) == 2


def test_an_unanswered_request_is_asked_again_with_the_same_key(
    app: Flask, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = Sale(CARD_SUCCESS)
    _answer_lost(monkeypatch)
    with endpoint.down(), pytest.raises(PaymentProviderUnavailable):
        refunds.request_refund(sale.buyer, sale.order_id)
    monkeypatch.undo()

    # The buyer may try again; the attempt waits for an answer under its key.
    assert sale.state() == ("payment_completed", "sold", "succeeded")
    assert sale.refunds() == [(1, refund_ledger.refund_key(sale.order_id, 1), "requested", None)]
    assert _audit(sale.order_id, "order.refund_unanswered")

    view = refunds.request_refund(sale.buyer, sale.order_id)

    assert view.order_status == "refunded"
    assert sale.refunds() == [(1, refund_ledger.refund_key(sale.order_id, 1), "succeeded", None)]
    assert _provider_refunds(sale.pi_id) == 1  # the same refund, never a second one


def test_reconcile_asks_again_for_a_refund_whose_answer_was_lost(
    app: Flask, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = Sale(CARD_SUCCESS)
    # Marked for a refund without a user waiting (as an automatic refund is).
    with db.session.begin():
        db.session.execute(
            update(StubPayment)
            .where(StubPayment.order_id == sale.order_id)
            .values(payment_status="refund_pending")
        )
    _answer_lost(monkeypatch)
    with endpoint.down(), pytest.raises(PaymentProviderUnavailable):
        refund_ledger.settle_refund(sale.order_id, SYSTEM, revert_on_failure=False)
    monkeypatch.undo()
    _forget_undelivered_events()
    assert sale.state()[2] == "refund_pending"

    report = reconcile.reconcile()

    assert report.refunds_settled == 1
    assert sale.state() == ("refunded", "active", "refunded")
    assert _provider_refunds(sale.pi_id) == 1


def test_reconcile_reads_a_pending_refund_whose_outcome_event_was_missed(
    app: Flask, endpoint: Endpoint
) -> None:
    sale = Sale(CARD_REFUND_PENDING)
    refund_id = refunds.request_refund(sale.buyer, sale.order_id).refund.refund_id
    with endpoint.down():
        sandbox_pages().settle_refund(refund_id, succeed=False)
    # Only re-reading the refund can tell now.
    _forget_undelivered_events()
    assert sale.view().refund_state == "pending"

    report = reconcile.reconcile()

    assert report.errors == []
    assert (report.events_recovered, report.refunds_checked, report.refunds_changed) == (0, 1, 1)
    assert sale.state() == ("payment_completed", "sold", "succeeded")
    assert sale.refunds()[-1][2:] == ("failed", "lost_or_stolen_card")
    assert sale.view().refund_state == "failed"
    again = reconcile.reconcile()
    assert (again.refunds_checked, again.refunds_changed, again.refunds_settled) == (0, 0, 0)


def test_reconcile_reports_a_refund_it_cannot_read(app: Flask) -> None:
    sale = Sale(CARD_REFUND_PENDING)
    refunds.request_refund(sale.buyer, sale.order_id)
    with db.session.begin():
        db.session.execute(
            update(StubRefund)
            .where(StubRefund.order_id == sale.order_id)
            .values(refund_id="re_not_at_the_provider")
        )

    report = reconcile.reconcile()

    assert report.refunds_checked == 0
    assert any("re_not_at_the_provider" in error for error in report.errors)
    assert sale.view().refund_state == "pending"


@pytest.mark.parametrize(
    ("steps", "final"),
    [
        ((RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED), RefundStatus.SUCCEEDED),
        ((RefundStatus.SUCCEEDED, RefundStatus.REQUIRES_ACTION), RefundStatus.SUCCEEDED),
        (
            (RefundStatus.PENDING, RefundStatus.CANCELED, RefundStatus.PENDING),
            RefundStatus.CANCELED,
        ),
        (
            (RefundStatus.FAILED, RefundStatus.PENDING, RefundStatus.SUCCEEDED),
            RefundStatus.FAILED,
        ),
    ],
    ids=["requires_action-succeeded", "succeeded-requires_action", "canceled", "failed-first"],
)
def test_refund_facts_in_any_order_keep_the_furthest_status(
    app: Flask, steps: tuple[RefundStatus, ...], final: RefundStatus
) -> None:
    sale = Sale(CARD_SUCCESS)
    for status in steps:
        for _ in range(2):  # every fact twice: a duplicate changes nothing
            refunds.apply_refund_update(
                RefundUpdate(
                    "re_from_the_dashboard",
                    status,
                    sale.total,
                    payment_intent_id=sale.pi_id,
                    failure_reason="merchant_request" if status.is_unsuccessful else None,
                )
            )

    view = sale.view()
    assert view.refund_status == final.value
    assert len(view.refunds) == 1
    assert view.refunds[0].attempt is None  # reported by the provider
    if final is RefundStatus.SUCCEEDED:
        assert sale.state() == ("refunded", "active", "refunded")
        assert view.refund_state is None
    else:
        assert sale.state() == ("payment_completed", "sold", "succeeded")
        assert view.refund_state == "failed"
    assert len(_audit(sale.order_id, "order.refund_reported")) == 1
    changes = [
        *_audit(sale.order_id, "order.refund_pending"),
        *_audit(sale.order_id, "order.refund_succeeded"),
        *_audit(sale.order_id, "order.refund_failed"),
    ]
    assert len(changes) == len(set(steps[: steps.index(final) + 1]))


def test_a_refund_of_a_payment_that_is_not_ours_is_ignored(app: Flask) -> None:
    assert (
        refunds.apply_refund_update(
            RefundUpdate("re_elsewhere", RefundStatus.SUCCEEDED, 500, payment_intent_id="pi_x")
        )
        is None
    )
    assert db.session.scalar(select(func.count()).select_from(StubRefund)) == 0


def test_a_refused_request_fails_its_attempt_and_the_next_one_gets_a_new_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = Sale(CARD_SUCCESS)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PaymentError("This charge cannot be refunded right now.")

    monkeypatch.setattr(sandbox(), "refund", refused)
    with pytest.raises(PaymentError):
        refunds.request_refund(sale.buyer, sale.order_id)
    monkeypatch.undo()

    assert sale.state() == ("payment_completed", "sold", "succeeded")
    assert sale.refunds() == [
        (
            1,
            refund_ledger.refund_key(sale.order_id, 1),
            "failed",
            "This charge cannot be refunded right now.",
        )
    ]
    assert sale.view().refund_state == "failed"
    assert _audit(sale.order_id, "order.refund_failed")[-1].after_status == "failed"

    view = refunds.request_refund(sale.admin, sale.order_id)

    assert view.order_status == "refunded"
    assert [r[:3] for r in sale.refunds()] == [
        (1, refund_ledger.refund_key(sale.order_id, 1), "failed"),
        (2, refund_ledger.refund_key(sale.order_id, 2), "succeeded"),
    ]
    assert _provider_refunds(sale.pi_id) == 1


def test_receipt_cannot_be_confirmed_while_the_order_is_being_refunded(app: Flask) -> None:
    sale = Sale(CARD_REFUND_PENDING)
    refunds.request_refund(sale.buyer, sale.order_id)
    with pytest.raises(Conflict, match="being refunded"):
        payments.complete_order(sale.buyer, sale.order_id)
    assert sale.state()[0] == "payment_completed"


def test_the_scheduled_run_re_reads_quiet_pending_refunds_in_turns(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales = [Sale(CARD_REFUND_PENDING) for _ in range(3)]
    for sale in sales:
        refunds.request_refund(sale.buyer, sale.order_id)
    monkeypatch.setattr(reconcile, "RECHECK_BATCH", 2)
    # Just changed: its events may still be on their way.
    assert reconcile.reconcile(backoff=True).refunds_checked == 0

    with db.session.begin():
        db.session.execute(
            update(StubRefund).values(
                updated_at=utcnow() - reconcile.RECHECK_QUIET - timedelta(seconds=1)
            )
        )
    runs = [reconcile.reconcile(backoff=True) for _ in range(3)]

    assert [run.refunds_checked for run in runs] == [2, 1, 0]
    assert all(db.session.scalars(select(StubRefund.provider_checked_at)).all())
    assert all(sale.view().refund_state == "pending" for sale in sales)
    # An operator's run re-reads all of them at once.
    assert reconcile.reconcile().refunds_checked == 3
