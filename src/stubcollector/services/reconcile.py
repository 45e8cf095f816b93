"""Reconciliation: recover from missed or failed webhooks by re-reading the provider.

Safe to run any time and any number of times: every step applies provider state through
the same idempotent handlers the webhooks use (the ``apply_*`` functions of
``services.orders``). Run by ``flask payments reconcile`` and, so that nobody has to, by
the scheduler every ``RECONCILE_EVERY_SECONDS`` (the job ``payments.reconcile``); failed
events are retried there with a backoff that grows with their attempt counter
(``webhooks.retry_failed``). It also reads the fees of paid charges whose fees are not
recorded yet (``services.orders.costs``): a charge's balance transaction can arrive up to an
hour after the payment.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from stubcollector.adapters.jobs import periodic
from stubcollector.adapters.payments.ports import (
    CheckoutStatus,
    PaymentError,
    PaymentFacts,
    PaymentProviderUnavailable,
)
from stubcollector.container import payment_gateway
from stubcollector.domain.errors import DomainError
from stubcollector.domain.statuses import OrderStatus, PaymentStatus, RefundStatus
from stubcollector.models import StubOrder, StubPayment, StubRefund, utcnow
from stubcollector.services import webhooks
from stubcollector.services.orders import costs, payments, refund_ledger, refunds
from stubcollector.services.orders.state import SYSTEM
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

# Re-reading stuck payments from the provider, bounded so that the periodic run stays a
# trickle of API calls however many buyers are mid-checkout (Stripe's rate limits are per
# account and shared with checkout itself):
# - an order is only re-read once it has been quiet this long (webhooks arrive within
#   seconds; a pending order is usually a buyer still typing their card number);
RECHECK_QUIET = timedelta(minutes=5)
# - a payment re-read less than this long ago waits its turn;
RECHECK_INTERVAL = timedelta(minutes=30)
# - orders stuck for longer than this are left alone (a declined payment nobody retried);
RECHECK_HORIZON = UNDELIVERED_WINDOW
# - at most this many per run, least recently checked first.
RECHECK_BATCH = 100


@dataclass
class ReconcileReport:
    payments_checked: int = 0
    payments_changed: int = 0
    costs_checked: int = 0
    costs_recorded: int = 0
    refunds_settled: int = 0
    refunds_checked: int = 0
    refunds_changed: int = 0
    events_recovered: int = 0
    events_retried: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def reconcile(*, backoff: bool = False) -> ReconcileReport:
    """One pass.

    ``backoff`` (the periodic job): retry a failed event only once its attempt counter's
    delay has passed, and re-read only stuck payments that are due (``RECHECK_*``). Without
    it (an operator's ``flask payments reconcile``) every failed event is retried and every
    stuck payment within the horizon is re-read now.
    """
    report = ReconcileReport()
    due = _payments_to_recheck(utcnow(), periodic=backoff)
    _recover_undelivered(report, sorted({account_id for _o, account_id, _p, _s in due}))
    report.events_retried = webhooks.retry_failed(backoff=backoff)
    _recheck_payments(report, due)
    _settle_pending_refunds(report, periodic=backoff)
    _record_missing_costs(report, periodic=backoff)
    return report


@periodic("payments.reconcile", every=RECONCILE_EVERY_SECONDS)
def reconcile_periodically() -> dict[str, Any]:
    """The scheduler's run: what ``flask payments reconcile`` does, errors to the log."""
    report = reconcile(backoff=True)
    for error in report.errors:
        log.warning("reconcile: %s", error)
    return asdict(report)


def _quiet_and_due(
    changed_at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    checked_at: InstrumentedAttribute[datetime | None],
    now: datetime,
) -> list[ColumnElement[bool]]:
    """The periodic run's turns: quiet for ``RECHECK_QUIET``, not re-read for
    ``RECHECK_INTERVAL`` (or never)."""
    return [
        changed_at <= now - RECHECK_QUIET,
        or_(checked_at.is_(None), checked_at <= now - RECHECK_INTERVAL),
    ]


def _payments_to_recheck(now: datetime, *, periodic: bool) -> list[Row[tuple[int, str, str, str]]]:
    """(order id, account, PaymentIntent, order status) of the stuck payments to re-read."""
    conditions = [
        StubOrder.order_status.in_([s.value for s in STUCK_ORDER_STATUSES]),
        StubOrder.created_at >= now - RECHECK_HORIZON,
    ]
    if periodic:
        conditions += _quiet_and_due(StubOrder.updated_at, StubPayment.provider_checked_at, now)
    with transaction() as session:
        return list(
            session.execute(
                select(
                    StubPayment.order_id,
                    StubPayment.stripe_account_id,
                    StubPayment.payment_intent_id,
                    StubOrder.order_status,
                )
                .join(StubOrder, StubOrder.id == StubPayment.order_id)
                .where(*conditions)
                .order_by(StubPayment.provider_checked_at.asc().nulls_first(), StubOrder.id)
                .limit(RECHECK_BATCH if periodic else None)
            ).all()
        )


def _accounts_with_pending_refunds() -> list[str]:
    with transaction() as session:
        return list(
            session.scalars(
                select(StubPayment.stripe_account_id)
                .where(StubPayment.payment_status == PaymentStatus.REFUND_PENDING.value)
                .distinct()
            )
        )


def _recover_undelivered(report: ReconcileReport, accounts: list[str]) -> None:
    """List the events the provider could not deliver: the platform's own (accounts,
    payouts), then those of the sellers' accounts whose payments are being re-read or
    refunded — direct-charge events live on the seller's account, not the platform's."""
    since = utcnow() - UNDELIVERED_WINDOW
    types = tuple(webhooks.HANDLERS)
    searched = sorted(set(accounts) | set(_accounts_with_pending_refunds()))
    for account_id in [None, *searched]:
        try:
            missed = payment_gateway().undelivered_events(
                since=since, types=types, account_id=account_id
            )
        except (PaymentError, PaymentProviderUnavailable) as exc:
            where = account_id or "the platform"
            report.errors.append(f"listing undelivered events of {where}: {exc.message}")
            continue
        for event in missed:
            # Read through the API with our key, so authentic without a signature.
            if not webhooks.store(event).duplicate:
                report.events_recovered += 1


def _recheck_payments(report: ReconcileReport, stuck: list[Row[tuple[int, str, str, str]]]) -> None:
    for order_id, account_id, pi_id, before in stuck:
        report.payments_checked += 1
        try:
            state = payment_gateway().retrieve_payment(account_id, pi_id)
            facts = PaymentFacts(
                payment_intent_id=pi_id,
                order_id=order_id,
                charge_id=state.charge_id,
                failure_code=state.failure_code,
                failure_message=state.failure_message,
            )
            if state.status is CheckoutStatus.SUCCEEDED:
                # A refund of it, if any, comes from its own (recovered) events: the charge's
                # refunded total counts pending refunds too.
                payments.apply_payment_succeeded(facts, SYSTEM)
            elif state.status is CheckoutStatus.CANCELED:
                payments.apply_payment_canceled(facts, SYSTEM)
            elif state.status is CheckoutStatus.PROCESSING:
                payments.apply_payment_processing(facts, SYSTEM)
            elif state.failure_code and before != OrderStatus.PAYMENT_FAILED:
                payments.apply_payment_failed(facts, SYSTEM)
        except DomainError as exc:
            report.errors.append(f"order {order_id}: {exc.message}")
            continue
        finally:
            _mark_checked(order_id)
        with transaction() as session:
            after = session.get(StubOrder, order_id, populate_existing=True)
            if after is not None and after.order_status != before:
                report.payments_changed += 1


def _mark_checked(order_id: int) -> None:
    with transaction() as session:
        session.execute(
            update(StubPayment)
            .where(StubPayment.order_id == order_id)
            .values(provider_checked_at=utcnow())
        )


def _refunds_to_recheck(now: datetime, *, periodic: bool) -> list[int]:
    """Orders with refunds pending at the provider to re-read; the periodic run takes the
    quiet ones in turns, like stuck payments (a refund can stay pending for days)."""
    conditions: list[ColumnElement[bool]] = [
        StubRefund.status.in_([RefundStatus.PENDING.value, RefundStatus.REQUIRES_ACTION.value]),
        StubRefund.refund_id.is_not(None),
    ]
    if periodic:
        conditions += _quiet_and_due(StubRefund.updated_at, StubRefund.provider_checked_at, now)
    with transaction() as session:
        found = session.scalars(
            select(StubRefund.order_id)
            .where(*conditions)
            .order_by(StubRefund.provider_checked_at.asc().nulls_first(), StubRefund.id)
            .limit(RECHECK_BATCH if periodic else None)
        ).all()
    return list(dict.fromkeys(found))


def _settle_pending_refunds(report: ReconcileReport, *, periodic: bool = False) -> None:
    """Refunds waiting on us (a create call that got no answer) are asked again with their
    own key; refunds pending at the provider are re-read, in case their outcome's event was
    missed (the periodic run: quiet ones, in turns, ``RECHECK_*``)."""
    with transaction() as session:
        pending = session.scalars(
            select(StubPayment.order_id).where(
                StubPayment.payment_status == PaymentStatus.REFUND_PENDING.value
            )
        ).all()
    for order_id in pending:
        try:
            if refund_ledger.settle_refund(order_id, SYSTEM, revert_on_failure=False):
                report.refunds_settled += 1
        except DomainError as exc:
            report.errors.append(f"refund of order {order_id}: {exc.message}")
    for order_id in _refunds_to_recheck(utcnow(), periodic=periodic):
        try:
            read, changed = refunds.recheck_refunds(order_id, SYSTEM)
        except DomainError as exc:
            report.errors.append(f"reading the refunds of order {order_id}: {exc.message}")
            continue
        report.refunds_checked += read
        report.refunds_changed += changed


def _costs_to_read(now: datetime, *, periodic: bool) -> list[int]:
    """Orders whose charge succeeded but whose fees are not recorded yet: the balance
    transaction came after the success (or its events were missed). Within the horizon
    only; the periodic run takes those quiet since the success, in turns (``RECHECK_*``)."""
    conditions: list[ColumnElement[bool]] = [
        StubPayment.processed_at.is_not(None),
        StubPayment.processed_at >= now - RECHECK_HORIZON,
        StubPayment.costs_recorded_at.is_(None),
    ]
    if periodic:
        conditions += _quiet_and_due(StubPayment.processed_at, StubPayment.provider_checked_at, now)
    with transaction() as session:
        return list(
            session.scalars(
                select(StubPayment.order_id)
                .where(*conditions)
                .order_by(StubPayment.provider_checked_at.asc().nulls_first(), StubPayment.id)
                .limit(RECHECK_BATCH if periodic else None)
            )
        )


def _record_missing_costs(report: ReconcileReport, *, periodic: bool) -> None:
    """The fee reader again, for paid charges whose fees are still unknown."""
    for order_id in _costs_to_read(utcnow(), periodic=periodic):
        report.costs_checked += 1
        try:
            read = costs.record_charge_costs(order_id, SYSTEM)
        except DomainError as exc:
            report.errors.append(f"reading the fees of order {order_id}: {exc.message}")
            continue
        finally:
            _mark_checked(order_id)
        report.costs_recorded += read.recorded
