"""Each order's refunds as we record them, and what they mean for its payment and status.

A refund is a ``StubRefund`` row: our own *attempts* (numbered, each with its idempotency
key, :func:`refund_key`) and refunds the provider reported that we did not ask for. This
module opens attempts, asks the provider for the one waiting (:func:`settle_refund`),
records what the provider says about any refund (:func:`record_refund_update`, a status
only ever moves forward) and derives the payment's and the order's refund state from all
of them (:func:`settle_refund_state`): only succeeded refunds count as refunded.

It sits below ``payments``, ``refunds`` and ``disputes``: a payment that arrives for an
order that lost its listing opens a refund attempt here too.

Provider calls are never made inside a database transaction: :func:`settle_refund`
commits the attempt first, then asks the provider, then records the answer in a second
transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import (
    PaymentError,
    PaymentProviderUnavailable,
    Refund,
    RefundUpdate,
    RequestInProgress,
)
from stubcollector.container import payment_gateway
from stubcollector.domain.errors import InvalidTransition
from stubcollector.domain.statuses import (
    LISTING_RELEASED_ORDER_STATUSES,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    refund_status_advances,
)
from stubcollector.models import StubOrder, StubPayment, StubRefund, utcnow
from stubcollector.observability import metrics
from stubcollector.services import audit, idempotency
from stubcollector.services.marketplace import listing_status
from stubcollector.services.orders.state import (
    Actor,
    load_order,
    lock_payment,
    move,
    payment_of,
    refunds_of,
)
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)


def refund_key(order_id: int, attempt: int) -> str:
    """The idempotency key of a new refund attempt (stored on it, and read from there for
    every repeat). A retry after a failed refund needs its own, or the provider would
    answer with the failed refund again."""
    if attempt == 1:
        return idempotency.key("order", order_id, "refund")
    return idempotency.key("order", order_id, "refund", attempt)


def open_refund_attempt(session: Session, order: StubOrder, payment: StubPayment) -> StubRefund:
    """Our refund attempt waiting for the provider's answer, or a new one.

    An attempt whose create call got no answer (network, provider down) stays
    ``requested`` and is asked again with its own key, so a repeat can never refund twice;
    only after an attempt failed or was canceled does the next one get a new key.
    """
    refunds = refunds_of(session, order.id)
    for refund in reversed(refunds):
        if refund.attempt is not None and refund.status == RefundStatus.REQUESTED:
            return refund
    remaining = payment.amount_total_cents - payment.amount_refunded_cents
    if remaining <= 0:
        raise InvalidTransition("this order has already been refunded")
    attempt = max((r.attempt for r in refunds if r.attempt is not None), default=0) + 1
    refund = StubRefund(
        order_id=order.id,
        attempt=attempt,
        idempotency_key=refund_key(order.id, attempt),
        status=RefundStatus.REQUESTED.value,
        amount_cents=remaining,
    )
    session.add(refund)
    session.flush()
    return refund


# --- asking the provider ---------------------------------------------------------------
def settle_refund(order_id: int, actor: Actor, *, revert_on_failure: bool) -> Refund | None:
    """Ask the provider for the refund attempt a ``refund_pending`` payment waits on, and
    record the answer (which may well be ``pending``: the outcome then comes later).

    Safe to repeat: the attempt's idempotency key makes the provider answer a repeat with
    the same refund. A refusal (``PaymentError``) fails the attempt and gives the payment
    back to ``succeeded`` for an admin to retry. Without an answer
    (``PaymentProviderUnavailable``) the attempt stays ``requested``: with
    ``revert_on_failure`` the payment goes back to ``succeeded`` (the user may try again,
    with the same key), otherwise it stays ``refund_pending`` for the next reconciliation.
    A key still in use at the provider (``RequestInProgress``) is neither: nothing is
    reverted or raised, and reconciliation asks again with the same key.
    """
    with transaction() as session:
        payment = lock_payment(session, order_id)
        if payment is None or payment.payment_status != PaymentStatus.REFUND_PENDING:
            return None
        order = load_order(session, order_id, lock=True)
        refunds = refunds_of(session, order_id)
        waiting = [
            r for r in refunds if r.attempt is not None and r.status == RefundStatus.REQUESTED
        ]
        if not waiting and any(RefundStatus(r.status).is_open for r in refunds):
            return None  # the provider has it; its events or reconciliation settle it
        attempt = waiting[-1] if waiting else open_refund_attempt(session, order, payment)
        attempt_id, key = attempt.id, attempt.idempotency_key
        assert key is not None
        account_id, pi_id = payment.stripe_account_id, payment.payment_intent_id
        # Derived from the order, so that every retry sends the same parameters under the
        # same idempotency key (a different reason would be an idempotency error).
        reason = None if order.order_status == OrderStatus.CANCELLED else "requested_by_customer"
    try:
        refund = payment_gateway().refund(account_id, pi_id, idempotency_key=key, reason=reason)
    except PaymentError as exc:
        # Refused: the provider keeps this answer for the key, so the attempt is over.
        with transaction() as session:
            payment = lock_payment(session, order_id)
            order = load_order(session, order_id, lock=True)
            refused = session.get(StubRefund, attempt_id, populate_existing=True)
            assert payment is not None
            if refused is not None and refused.status == RefundStatus.REQUESTED:
                refused.status = RefundStatus.FAILED.value
                refused.failure_reason = exc.message
                refused.settled_at = utcnow()
                session.flush()
                _audit_refund_change(
                    session, order, payment, refused, RefundStatus.REQUESTED, actor
                )
            settle_refund_state(session, order, payment, actor)
        raise
    except PaymentProviderUnavailable as exc:
        # Key in use: an earlier request with this key is still running at the provider
        # (a user's click racing reconciliation, say). The refund may well be happening:
        # the payment stays claimed and the attempt waiting, and reconciliation asks again
        # with the same key, whose answer is then that request's outcome.
        in_progress = isinstance(exc, RequestInProgress)
        with transaction() as session:
            payment = payment_of(session, order_id)
            if (
                revert_on_failure
                and not in_progress
                and payment is not None
                and (payment.payment_status == PaymentStatus.REFUND_PENDING)
            ):
                payment.payment_status = PaymentStatus.SUCCEEDED.value
            audit.record(
                session,
                action="order.refund_unanswered",
                object_type="order",
                object_id=order_id,
                actor=actor.user,
                actor_kind=actor.kind,
                error=exc.message,
                idempotency_key=key,
                in_progress=in_progress,
            )
        if in_progress:
            log.info(
                "refund of order %s: key %s in use at the provider; asked again later",
                order_id,
                key,
                extra={"order_id": order_id, "idempotency_key": key},
            )
            return None
        raise
    with transaction() as session:
        payment = lock_payment(session, order_id)
        order = load_order(session, order_id, lock=True)
        answered = session.get(StubRefund, attempt_id, populate_existing=True)
        assert payment is not None
        record_refund_update(
            session,
            order,
            payment,
            RefundUpdate(
                refund_id=refund.refund_id,
                status=refund.status,
                amount_cents=refund.amount_cents,
                payment_intent_id=pi_id,
                failure_reason=refund.failure_reason,
            ),
            actor,
            attempt=answered,
        )
        settle_refund_state(session, order, payment, actor)
    return refund


# --- recording what the provider says --------------------------------------------------
def record_refund_update(
    session: Session,
    order: StubOrder,
    payment: StubPayment,
    update: RefundUpdate,
    actor: Actor,
    *,
    attempt: StubRefund | None = None,
) -> StubRefund:
    """Apply what the provider says about one refund to its row (``attempt`` when it is
    the answer to our own create call) and audit the change."""
    found = session.scalars(
        select(StubRefund).where(StubRefund.refund_id == update.refund_id)
    ).first()
    if attempt is not None and attempt.refund_id not in (None, update.refund_id):
        log.warning(
            "refund attempt %s of order %s answered %s, not %s",
            attempt.attempt,
            order.id,
            update.refund_id,
            attempt.refund_id,
        )
        attempt = None
    refund = attempt or found
    if refund is None:
        # A refund we did not ask for, or whose request has not recorded its answer yet.
        refund = StubRefund(
            order_id=order.id,
            refund_id=update.refund_id,
            status=RefundStatus.REQUESTED.value,
            amount_cents=update.amount_cents or payment.amount_total_cents,
        )
        session.add(refund)
        session.flush()
        audit.record(
            session,
            action="order.refund_reported",
            object_type="order",
            object_id=order.id,
            actor_kind=actor.kind,
            after=update.status.value,
            refund_id=update.refund_id,
            amount_cents=update.amount_cents,
        )
    elif found is not None and found.id != refund.id:
        # The provider told us about our own refund before our request recorded its
        # answer: one refund, kept under our attempt with the furthest status seen.
        if refund_status_advances(RefundStatus(refund.status), RefundStatus(found.status)):
            refund.status = found.status
            refund.failure_reason = found.failure_reason
            refund.settled_at = found.settled_at
        session.delete(found)
        session.flush()
    if refund.refund_id is None:
        refund.refund_id = update.refund_id
    if update.amount_cents > 0:
        refund.amount_cents = update.amount_cents
    before = RefundStatus(refund.status)
    if refund_status_advances(before, update.status):
        refund.status = update.status.value
        if update.failure_reason:
            refund.failure_reason = update.failure_reason
        if not update.status.is_open and refund.settled_at is None:
            refund.settled_at = utcnow()
        session.flush()
        _audit_refund_change(session, order, payment, refund, before, actor)
    elif update.failure_reason and refund.status == update.status and not refund.failure_reason:
        refund.failure_reason = update.failure_reason
    return refund


def _audit_refund_change(
    session: Session,
    order: StubOrder,
    payment: StubPayment,
    refund: StubRefund,
    before: RefundStatus,
    actor: Actor,
) -> None:
    status = RefundStatus(refund.status)
    details: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "attempt": refund.attempt,
        "amount_cents": refund.amount_cents,
    }
    if status.is_unsuccessful:
        action = "order.refund_failed"
        details["failure_reason"] = refund.failure_reason
        log.error(
            "refund %s of order %s %s: %s",
            refund.refund_id,
            order.id,
            status.value,
            refund.failure_reason or "no reason given",
            extra={
                "order_id": order.id,
                "payment_intent": payment.payment_intent_id,
                "refund_id": refund.refund_id,
                "account_id": payment.stripe_account_id,
                "failure_reason": refund.failure_reason,
                "attempt": refund.attempt,
            },
        )
        metrics.payment_failures.labels(reason=f"refund_{status.value}").inc()
    elif status is RefundStatus.SUCCEEDED:
        action = "order.refund_succeeded"
    else:
        action = "order.refund_pending"
    audit.record(
        session,
        action=action,
        object_type="order",
        object_id=order.id,
        actor=actor.user,
        actor_kind=actor.kind,
        before=before.value,
        after=status.value,
        **details,
    )


def settle_refund_state(
    session: Session, order: StubOrder, payment: StubPayment, actor: Actor
) -> None:
    """Derive the payment's (and order's) refund state from its refunds.

    Only succeeded refunds count as refunded; the order becomes ``refunded`` once they
    cover the total. While a refund is pending at the provider (or our request is waiting
    for an answer) the payment stays ``refund_pending``; when every refund failed or was
    canceled the money is the seller's again (``succeeded``) and an admin may retry.
    """
    refunds = refunds_of(session, order.id)
    with_ids = [r for r in refunds if r.refund_id is not None]
    if with_ids:
        payment.refund_id = with_ids[-1].refund_id
    refunded = min(
        payment.amount_total_cents,
        sum(r.amount_cents for r in refunds if r.status == RefundStatus.SUCCEEDED),
    )
    before = payment.amount_refunded_cents
    payment.amount_refunded_cents = refunded
    if refunded >= payment.amount_total_cents:
        _apply_full_refund(session, order, payment, actor)
        return
    status = PaymentStatus(payment.payment_status)
    provider_open = any(
        r.status in (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION) for r in refunds
    )
    awaiting_answer = status is PaymentStatus.REFUND_PENDING and any(
        r.status == RefundStatus.REQUESTED for r in refunds
    )
    if status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED):
        payment.payment_status = (
            PaymentStatus.REFUND_PENDING.value
            if provider_open or awaiting_answer
            else PaymentStatus.SUCCEEDED.value
        )
        if status is PaymentStatus.REFUNDED:
            # A refund that had succeeded failed after all (a card refund can bounce): the
            # money is back with the seller and the buyer has not got it.
            payment.refunded_at = None
    if before < refunded:
        audit.record(
            session,
            action="order.partially_refunded",
            object_type="order",
            object_id=order.id,
            actor=actor.user,
            actor_kind=actor.kind,
            amount_refunded_cents=refunded,
        )


def _apply_full_refund(
    session: Session, order: StubOrder, payment: StubPayment, actor: Actor
) -> None:
    payment.payment_status = PaymentStatus.REFUNDED.value
    if payment.refunded_at is None:
        payment.refunded_at = utcnow()
    status = OrderStatus(order.order_status)
    if status is OrderStatus.REFUNDED:
        return
    # A disputed order holds its listing only if it did when the dispute came (a cancelled
    # order's late payment, refunded now, never did).
    listing_was_ours = status in (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED) or (
        status is OrderStatus.DISPUTED
        and order.status_before_dispute not in LISTING_RELEASED_ORDER_STATUSES
    )
    if status is OrderStatus.DISPUTED:
        order.status_before_dispute = None
    move(session, order, OrderStatus.REFUNDED, actor, amount_cents=payment.amount_refunded_cents)
    if listing_was_ours:
        listing_status.reactivate_order_listing(session, order)
