"""What each order cost: the provider's fees, recorded from the provider's own objects.

One fee reader for every path (issue 16 points 1 and 2): :func:`record_charge_costs` asks
the gateway for a payment's ``ChargeCosts`` (the PaymentIntent re-read with its charge's
balance transaction expanded on the seller's account, and the platform's balance
transactions of that charge) and records each fee once as a ``StubOrderCost`` with whose
balance paid it. The webhook handlers call it after ``payment_intent.succeeded``, on
``charge.updated`` (when the balance transaction arrives: with asynchronous capture it is
often missing at the success) and on ``application_fee.created``; reconciliation calls it
for every paid charge whose costs are not recorded yet. :func:`record_dispute_costs` does
the same for a dispute's fees after each ``charge.dispute.*`` event.

Provider calls happen outside transactions; a failure to read leaves the costs for the
next try and never fails the event that triggered the read (``quietly``). The order's
``stripe_fee_cents`` is the charge's processing fee, whoever paid it (the seller when the
account pays Stripe's fees itself).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import (
    PaymentError,
    PaymentProviderUnavailable,
    ProviderFee,
)
from stubcollector.container import payment_gateway
from stubcollector.domain.economics import CostKind
from stubcollector.models import StubDispute, StubOrder, StubOrderCost, StubPayment, utcnow
from stubcollector.services import audit
from stubcollector.services.orders.state import WEBHOOK, Actor, lock_payment
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostsRead:
    """What one read of a payment's (or dispute's) costs found."""

    order_id: int
    settled: bool
    recorded: int


def record_charge_costs(order_id: int, actor: Actor = WEBHOOK) -> CostsRead:
    """Read the charge's fees from the provider and record the new ones (idempotent).

    Nothing is read for an order whose charge has not succeeded, nor again once its
    processing fee is recorded. ``settled=False`` means the provider has no balance
    transaction for the charge yet: read again later.
    """
    with transaction() as session:
        payment = session.scalars(
            select(StubPayment).where(StubPayment.order_id == order_id)
        ).first()
        if payment is None or payment.processed_at is None:
            return CostsRead(order_id, settled=False, recorded=0)
        if payment.costs_recorded_at is not None:
            # Read already: charge.updated also comes for other changes of the charge.
            return CostsRead(order_id, settled=True, recorded=0)
        account_id, pi_id = payment.stripe_account_id, payment.payment_intent_id
    costs = payment_gateway().charge_costs(account_id, pi_id)
    if not costs.settled:
        log.info(
            "the charge of order %s has no balance transaction yet; its fees are read later",
            order_id,
            extra={"order_id": order_id, "payment_intent": pi_id},
        )
        return CostsRead(order_id, settled=False, recorded=0)
    with transaction() as session:
        payment = lock_payment(session, order_id)
        order = session.get(StubOrder, order_id, with_for_update=True)
        assert payment is not None
        assert order is not None
        if costs.application_fee_id and payment.application_fee_id is None:
            payment.application_fee_id = costs.application_fee_id
        recorded = _record(session, order_id, costs.fees, actor, dispute_id=None)
        if any(fee.kind is CostKind.PROCESSING_FEE for fee in costs.fees):
            total = _recorded_total(session, order_id, CostKind.PROCESSING_FEE)
            order.stripe_fee_cents = payment.stripe_processing_fee_cents = total
            if payment.costs_recorded_at is None:
                payment.costs_recorded_at = utcnow()
        # Settled without a processing fee anywhere: Stripe has not itemised what it billed
        # the platform (yet); reconciliation asks again until RECHECK_HORIZON.
    return CostsRead(order_id, settled=True, recorded=recorded)


def order_of_charge(charge_id: str | None, payment_intent_id: str | None = None) -> int | None:
    """The order whose payment is this charge (or PaymentIntent); None if not ours."""
    with transaction() as session:
        for column, value in (
            (StubPayment.charge_id, charge_id),
            (StubPayment.payment_intent_id, payment_intent_id),
        ):
            if value:
                order_id = session.scalar(select(StubPayment.order_id).where(column == value))
                if order_id is not None:
                    return int(order_id)
    return None


def record_dispute_costs(dispute_id: str, actor: Actor = WEBHOOK) -> CostsRead | None:
    """Read a dispute's fees (its balance transactions and the platform's) and record the
    new ones; None for a dispute we do not hold."""
    with transaction() as session:
        found = session.execute(
            select(StubDispute.order_id, StubPayment.stripe_account_id)
            .join(StubPayment, StubPayment.order_id == StubDispute.order_id)
            .where(StubDispute.dispute_id == dispute_id)
        ).first()
    if found is None:
        return None
    order_id, account_id = found
    costs = payment_gateway().dispute_costs(account_id, dispute_id)
    with transaction() as session:
        recorded = _record(session, order_id, costs.fees, actor, dispute_id=dispute_id)
    return CostsRead(order_id, settled=True, recorded=recorded)


def record_charge_costs_quietly(order_id: int, actor: Actor = WEBHOOK) -> CostsRead | None:
    """:func:`record_charge_costs` for an event that is about something else (a payment's
    success): a provider that cannot answer now leaves the costs to reconciliation."""
    try:
        return record_charge_costs(order_id, actor)
    except (PaymentError, PaymentProviderUnavailable) as exc:
        log.warning(
            "could not read the fees of order %s now (%s); reconciliation reads them later",
            order_id,
            exc.message,
            extra={"order_id": order_id},
        )
        return None


def record_dispute_costs_quietly(dispute_id: str, actor: Actor = WEBHOOK) -> CostsRead | None:
    try:
        return record_dispute_costs(dispute_id, actor)
    except (PaymentError, PaymentProviderUnavailable) as exc:
        log.warning(
            "could not read the fees of dispute %s now (%s); its next event reads them",
            dispute_id,
            exc.message,
            extra={"dispute_id": dispute_id},
        )
        return None


def _recorded_total(session: Session, order_id: int, kind: CostKind) -> int:
    return sum(
        session.scalars(
            select(StubOrderCost.amount_cents).where(
                StubOrderCost.order_id == order_id, StubOrderCost.kind == kind.value
            )
        )
    )


def _record(
    session: Session,
    order_id: int,
    fees: Iterable[ProviderFee],
    actor: Actor,
    *,
    dispute_id: str | None,
) -> int:
    """Insert the fees not recorded yet (one per kind and balance transaction)."""
    recorded = 0
    for fee in fees:
        exists = session.scalar(
            select(StubOrderCost.id).where(
                StubOrderCost.kind == fee.kind.value,
                StubOrderCost.balance_transaction_id == fee.balance_transaction_id,
            )
        )
        if exists is not None:
            continue
        session.add(
            StubOrderCost(
                order_id=order_id,
                dispute_id=dispute_id,
                kind=fee.kind.value,
                payer=fee.payer.value,
                amount_cents=fee.amount_cents,
                balance_transaction_id=fee.balance_transaction_id,
                description=(fee.description or "")[:255] or None,
                occurred_at=fee.created or utcnow(),
            )
        )
        session.flush()
        audit.record(
            session,
            action="order.cost_recorded",
            object_type="order",
            object_id=order_id,
            actor_kind=actor.kind,
            kind=fee.kind.value,
            payer=fee.payer.value,
            amount_cents=fee.amount_cents,
            balance_transaction=fee.balance_transaction_id,
            dispute_id=dispute_id,
        )
        recorded += 1
    return recorded
