"""Reconciliation: recover from missed or failed webhooks by re-reading the provider.

Safe to run any time and any number of times: every step applies provider state through
the same idempotent handlers the webhooks use (``services.orders.apply_*``). Run by
``flask payments reconcile`` and, so that nobody has to, by the scheduler every
``RECONCILE_EVERY_SECONDS`` (the job ``payments.reconcile``); failed events are retried
there with a backoff that grows with their attempt counter (``webhooks.retry_failed``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from stubcollector.adapters.jobs import periodic
from stubcollector.adapters.payments.ports import (
    CheckoutStatus,
    PaymentError,
    PaymentProviderUnavailable,
)
from stubcollector.domain.errors import DomainError
from stubcollector.domain.statuses import OrderStatus, PaymentStatus, RefundStatus
from stubcollector.models import StubOrder, StubPayment, StubRefund, utcnow
from stubcollector.services import orders, webhooks
from stubcollector.services.orders import SYSTEM, PaymentFacts, gateway
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

STUCK_ORDER_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.PAYMENT_PROCESSING,
    OrderStatus.PAYMENT_FAILED,
)
# Events the provider may have failed to deliver that we look for (Stripe keeps 30 days).
UNDELIVERED_WINDOW = timedelta(days=3)
RECONCILE_EVERY_SECONDS = 300


@dataclass
class ReconcileReport:
    payments_checked: int = 0
    payments_changed: int = 0
    refunds_settled: int = 0
    refunds_checked: int = 0
    refunds_changed: int = 0
    events_recovered: int = 0
    events_retried: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def reconcile(*, backoff: bool = False) -> ReconcileReport:
    """One pass. ``backoff``: retry a failed event only once its attempt counter's delay has
    passed (the periodic job); without it every failed event is retried now (an operator)."""
    report = ReconcileReport()
    _recover_undelivered(report)
    report.events_retried = webhooks.retry_failed(backoff=backoff)
    _recheck_payments(report)
    _settle_pending_refunds(report)
    return report


@periodic("payments.reconcile", every=RECONCILE_EVERY_SECONDS)
def reconcile_periodically() -> dict[str, Any]:
    """The scheduler's run: what ``flask payments reconcile`` does, errors to the log."""
    report = reconcile(backoff=True)
    for error in report.errors:
        log.warning("reconcile: %s", error)
    return asdict(report)


def _accounts_to_search() -> list[str]:
    """Connected accounts whose events may matter: those with orders waiting on a payment
    or refund. Direct-charge events live on the seller's account, not the platform's."""
    with transaction() as session:
        found = session.scalars(
            select(StubPayment.stripe_account_id)
            .join(StubOrder, StubOrder.id == StubPayment.order_id)
            .where(
                StubOrder.order_status.in_([s.value for s in STUCK_ORDER_STATUSES])
                | (StubPayment.payment_status == PaymentStatus.REFUND_PENDING.value)
            )
            .distinct()
        ).all()
    return sorted(found)


def _recover_undelivered(report: ReconcileReport) -> None:
    since = utcnow() - UNDELIVERED_WINDOW
    types = tuple(webhooks.HANDLERS)
    # None: the platform's own events (accounts, payouts); then each seller's account.
    for account_id in [None, *_accounts_to_search()]:
        try:
            missed = gateway().undelivered_events(since=since, types=types, account_id=account_id)
        except (PaymentError, PaymentProviderUnavailable) as exc:
            where = account_id or "the platform"
            report.errors.append(f"listing undelivered events of {where}: {exc.message}")
            continue
        for event in missed:
            # Read through the API with our key, so authentic without a signature.
            if not webhooks.store(event).duplicate:
                report.events_recovered += 1


def _recheck_payments(report: ReconcileReport) -> None:
    with transaction() as session:
        stuck = session.execute(
            select(
                StubPayment.order_id,
                StubPayment.stripe_account_id,
                StubPayment.payment_intent_id,
                StubOrder.order_status,
            )
            .join(StubOrder, StubOrder.id == StubPayment.order_id)
            .where(StubOrder.order_status.in_([s.value for s in STUCK_ORDER_STATUSES]))
        ).all()
    for order_id, account_id, pi_id, before in stuck:
        report.payments_checked += 1
        try:
            state = gateway().retrieve_payment(account_id, pi_id)
            facts = PaymentFacts(
                payment_intent_id=pi_id,
                order_id=order_id,
                charge_id=state.charge_id,
                processing_fee_cents=state.processing_fee_cents,
                failure_code=state.failure_code,
                failure_message=state.failure_message,
            )
            if state.status is CheckoutStatus.SUCCEEDED:
                # A refund of it, if any, comes from its own (recovered) events: the charge's
                # refunded total counts pending refunds too.
                orders.apply_payment_succeeded(facts, SYSTEM)
            elif state.status is CheckoutStatus.CANCELED:
                orders.apply_payment_canceled(facts, SYSTEM)
            elif state.status is CheckoutStatus.PROCESSING:
                orders.apply_payment_processing(facts, SYSTEM)
            elif state.failure_code and before != OrderStatus.PAYMENT_FAILED:
                orders.apply_payment_failed(facts, SYSTEM)
        except DomainError as exc:
            report.errors.append(f"order {order_id}: {exc.message}")
            continue
        with transaction() as session:
            after = session.get(StubOrder, order_id, populate_existing=True)
            if after is not None and after.order_status != before:
                report.payments_changed += 1


def _settle_pending_refunds(report: ReconcileReport) -> None:
    """Refunds waiting on us (a create call that got no answer) are asked again with their
    own key; refunds pending at the provider are re-read, in case their outcome's event was
    missed."""
    with transaction() as session:
        pending = session.scalars(
            select(StubPayment.order_id).where(
                StubPayment.payment_status == PaymentStatus.REFUND_PENDING.value
            )
        ).all()
    for order_id in pending:
        try:
            if orders.settle_refund(order_id, SYSTEM, revert_on_failure=False):
                report.refunds_settled += 1
        except DomainError as exc:
            report.errors.append(f"refund of order {order_id}: {exc.message}")
    with transaction() as session:
        open_at_provider = session.scalars(
            select(StubRefund.order_id)
            .where(
                StubRefund.status.in_(
                    [RefundStatus.PENDING.value, RefundStatus.REQUIRES_ACTION.value]
                ),
                StubRefund.refund_id.is_not(None),
            )
            .distinct()
        ).all()
    for order_id in sorted(open_at_provider):
        try:
            read, changed = orders.recheck_refunds(order_id, SYSTEM)
        except DomainError as exc:
            report.errors.append(f"reading the refunds of order {order_id}: {exc.message}")
            continue
        report.refunds_checked += read
        report.refunds_changed += changed
