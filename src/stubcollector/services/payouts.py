"""Sellers' payouts to their banks, as the provider reports them.

Stripe pays a seller's available balance out by itself (daily, once the hold has passed);
the platform learns of each payout from ``payout.*`` events on the Connect endpoint, which
:func:`apply_payout` records in ``seller_payouts``. A payout's status only moves forward
(``domain.statuses.payout_status_advances``): Stripe warns that a payout "might initially
show as paid, then change to failed", so a ``payout.failed`` wins over a ``payout.paid``
whichever arrives first. A failed payout is flagged to the seller (the money is back in
their Stripe balance and their bank details need fixing), logged and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from stubcollector.adapters.payments.ports import PayoutFacts
from stubcollector.domain.statuses import PayoutStatus, payout_status_advances
from stubcollector.models import SellerPayout, User
from stubcollector.observability import metrics
from stubcollector.services import audit
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

RECENT_PAYOUTS = 10


@dataclass(frozen=True)
class PayoutView:
    """One payout as the seller sees it."""

    payout_id: str
    amount_cents: int
    currency: str
    status: PayoutStatus
    arrival_date: date | None
    failure_code: str | None
    failure_message: str | None
    created_at: datetime | None

    @property
    def failed(self) -> bool:
        return self.status is PayoutStatus.FAILED


def _moment(unix: int) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if unix > 0 else None


def apply_payout(account_id: str | None, facts: PayoutFacts) -> int | None:
    """Record what the provider says about one payout of ``account_id``; returns the
    seller's id, or None for a payout that is not of one of our sellers' accounts."""
    if account_id is None or facts.payout_id is None:
        return None
    reported = PayoutStatus.from_provider(facts.status)
    arrival = _moment(facts.arrival_date)
    with transaction() as session:
        seller_id = session.scalar(select(User.id).where(User.stripe_account_id == account_id))
        if seller_id is None:
            return None
        payout = session.scalars(
            select(SellerPayout).where(SellerPayout.payout_id == facts.payout_id).with_for_update()
        ).first()
        before: PayoutStatus | None = None
        if payout is None:
            payout = SellerPayout(
                seller_id=seller_id,
                account_id=account_id,
                payout_id=facts.payout_id,
                amount_cents=max(facts.amount_cents, 0),
                currency=facts.currency,
                status=reported.value,
                arrival_date=arrival.date() if arrival else None,
                provider_created_at=_moment(facts.created),
            )
            session.add(payout)
        else:
            before = PayoutStatus(payout.status)
            if not payout_status_advances(before, reported):
                return seller_id  # an older report, or the same one again
            payout.status = reported.value
            if arrival is not None:
                payout.arrival_date = arrival.date()
        if reported is PayoutStatus.FAILED:
            payout.failure_code = facts.failure_code
            payout.failure_message = facts.failure_message
        session.flush()
        audit.record(
            session,
            action=f"payout.{reported.value}",
            object_type="payout",
            object_id=facts.payout_id,
            actor_kind="webhook",
            before=before.value if before else None,
            after=reported.value,
            account=account_id,
            seller_id=seller_id,
            amount_cents=facts.amount_cents,
            arrival_date=facts.arrival_date,
            failure_code=facts.failure_code,
            failure_message=facts.failure_message,
        )
    if reported is PayoutStatus.FAILED:
        log.warning(
            "payout %s of %s failed (%s): %s",
            facts.payout_id,
            account_id,
            facts.failure_code,
            facts.failure_message,
            extra={
                "account_id": account_id,
                "payout_id": facts.payout_id,
                "failure_code": facts.failure_code,
                "after_paid": before is PayoutStatus.PAID,
            },
        )
        metrics.payment_failures.labels(reason="payout_failed").inc()
    return seller_id


def recent_payouts(seller_id: int, *, limit: int = RECENT_PAYOUTS) -> tuple[PayoutView, ...]:
    """The seller's latest payouts, newest first."""
    with transaction() as session:
        rows = session.scalars(
            select(SellerPayout)
            .where(SellerPayout.seller_id == seller_id)
            .order_by(SellerPayout.provider_created_at.desc().nulls_last(), SellerPayout.id.desc())
            .limit(limit)
        ).all()
        return tuple(
            PayoutView(
                payout_id=row.payout_id,
                amount_cents=row.amount_cents,
                currency=row.currency,
                status=PayoutStatus(row.status),
                arrival_date=row.arrival_date,
                failure_code=row.failure_code,
                failure_message=row.failure_message,
                created_at=row.provider_created_at,
            )
            for row in rows
        )


def payout_problem(recent: tuple[PayoutView, ...]) -> PayoutView | None:
    """The failed payout the seller should act on: the newest failed one, unless a later
    payout has been paid since (the bank details work again). ``recent`` newest first."""
    for payout in recent:
        if payout.status is PayoutStatus.PAID:
            return None
        if payout.failed:
            return payout
    return None
