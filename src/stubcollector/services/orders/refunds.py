"""Refunds asked for, re-read and reported: the entry points of the refund flow.

A buyer (before confirming receipt) or an admin asks for a full refund
(:func:`request_refund`); reconciliation re-reads refunds still pending at the provider
(:func:`recheck_refunds`); the ``charge.refunded`` and ``refund.*`` events report them
(:func:`apply_refund`, :func:`apply_refund_update`). All of them end in the refund ledger
(``refund_ledger``), which records each refund and settles what it means for the order:
the order becomes ``refunded`` only once the provider says a refund succeeded.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from stubcollector.adapters.payments.ports import RefundFacts, RefundUpdate
from stubcollector.container import payment_gateway
from stubcollector.domain.errors import Conflict, InvalidTransition, PermissionDenied
from stubcollector.domain.statuses import (
    ORDER_TRANSITIONS,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    ensure_transition,
    refund_status_advances,
)
from stubcollector.models import StubPayment, StubRefund, User, utcnow
from stubcollector.services import audit
from stubcollector.services.orders.payments import (
    charged_payment_and_order,
    lock_order_of_charged_payment,
)
from stubcollector.services.orders.refund_ledger import (
    open_refund_attempt,
    record_refund_update,
    settle_refund,
    settle_refund_state,
)
from stubcollector.services.orders.state import (
    SYSTEM,
    WEBHOOK,
    Actor,
    find_payment,
    load_order,
    lock_payment,
    payment_of,
    refunds_of,
    require_party,
)
from stubcollector.services.orders.views import OrderView, order_view
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

REFUNDABLE_BY_BUYER = (OrderStatus.PAYMENT_COMPLETED,)
REFUNDABLE_BY_ADMIN = (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED)


def request_refund(
    user: User, order_id: int, *, reason: str | None = None, ip_address: str | None = None
) -> OrderView:
    """Refund in full (fee included): the buyer before completion, or an admin.

    The order becomes ``refunded`` only once the provider says the refund succeeded; until
    then it shows a pending refund (``refund_state``). After a failed or canceled refund
    only an admin may try again, as a new attempt with its own idempotency key.
    """
    actor = Actor.of(user, ip_address)
    with transaction() as session:
        # Lock order as the event handlers do (payment, then order): no deadlock with them.
        payment = lock_payment(session, order_id)
        order = load_order(session, order_id, lock=True)
        require_party(order, user)
        is_buyer = order.buyer_id == user.id
        if not (is_buyer or user.is_admin):
            raise PermissionDenied("only the buyer or an admin can refund this order")
        status = OrderStatus(order.order_status)
        refunds = refunds_of(session, order.id)
        retry = (
            payment is not None
            and payment.payment_status == PaymentStatus.SUCCEEDED
            and bool(refunds)
            and RefundStatus(refunds[-1].status).is_unsuccessful
        )
        if payment is not None and payment.payment_status == PaymentStatus.REFUND_PENDING:
            raise Conflict("a refund for this order is already in progress")
        if status is OrderStatus.REFUNDED and not retry:
            raise InvalidTransition("this order has already been refunded")
        if retry and not user.is_admin:
            raise PermissionDenied(
                "the last refund of this order did not go through; our team will retry it"
            )
        allowed = REFUNDABLE_BY_ADMIN if user.is_admin else REFUNDABLE_BY_BUYER
        if retry:
            # The money is still the seller's after a failed refund, whatever became of the
            # sale (a lost reservation's automatic refund, a refund that bounced).
            allowed = (*allowed, OrderStatus.CANCELLED, OrderStatus.REFUNDED)
        if status not in allowed:
            if status is OrderStatus.COMPLETED:
                raise PermissionDenied("a completed order can only be refunded by an admin")
            raise InvalidTransition(f"only a paid order can be refunded (this one is {status})")
        if status is not OrderStatus.REFUNDED:
            ensure_transition(status, OrderStatus.REFUNDED, ORDER_TRANSITIONS, "order")
        claimed = session.execute(
            update(StubPayment)
            .where(
                StubPayment.order_id == order.id,
                StubPayment.payment_status == PaymentStatus.SUCCEEDED.value,
            )
            .values(payment_status=PaymentStatus.REFUND_PENDING.value, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            raise Conflict("a refund for this order is already in progress")
        assert payment is not None
        attempt = open_refund_attempt(session, order, payment)
        audit.record(
            session,
            action="order.refund_requested",
            object_type="order",
            object_id=order.id,
            actor=user,
            before=status.value,
            after=status.value,
            ip_address=ip_address,
            reason=reason,
            attempt=attempt.attempt,
        )
        if not is_buyer:
            # An admin acting on someone else's order: searchable as an admin action.
            audit.record_admin_action(
                session,
                admin=user,
                action="order_refund_requested",
                object_type="order",
                object_id=order.id,
                before=status.value,
                after=OrderStatus.REFUNDED.value,
                ip_address=ip_address,
                buyer_id=order.buyer_id,
                reason=reason,
                attempt=attempt.attempt,
            )
    settle_refund(order_id, actor, revert_on_failure=True)
    with transaction() as session:
        return order_view(session, load_order(session, order_id))


def recheck_refunds(order_id: int, actor: Actor = SYSTEM) -> tuple[int, int]:
    """Re-read the order's refunds that are pending at the provider (reconciliation of a
    missed event); returns (refunds read, refunds whose status changed). Each refund read
    gets ``provider_checked_at``, so that the periodic run can take turns."""
    with transaction() as session:
        payment = payment_of(session, order_id)
        if payment is None:
            return 0, 0
        open_refunds = [
            (r.refund_id, RefundStatus(r.status))
            for r in refunds_of(session, order_id)
            if r.refund_id is not None
            and r.status in (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)
        ]
        account_id, pi_id = payment.stripe_account_id, payment.payment_intent_id
    read = changed = 0
    for refund_id, before in open_refunds:
        try:
            refund = payment_gateway().retrieve_refund(account_id, refund_id)
        finally:
            with transaction() as session:
                session.execute(
                    update(StubRefund)
                    .where(StubRefund.refund_id == refund_id)
                    # Not a change of the refund: its updated_at stays.
                    .values(provider_checked_at=utcnow(), updated_at=StubRefund.updated_at)
                    .execution_options(synchronize_session=False)
                )
        read += 1
        apply_refund_update(
            RefundUpdate(
                refund_id=refund.refund_id,
                status=refund.status,
                amount_cents=refund.amount_cents,
                payment_intent_id=refund.payment_intent_id or pi_id,
                failure_reason=refund.failure_reason,
            ),
            actor,
        )
        if refund_status_advances(before, refund.status):
            changed += 1
    return read, changed


# --- what the provider reports ---------------------------------------------------------
def apply_refund(facts: RefundFacts, actor: Actor = WEBHOOK) -> int:
    """``charge.refunded``: record the refunds the charge lists, with their own statuses.

    The charge's ``amount_refunded`` counts pending refunds too, and Stripe no longer lists
    a charge's refunds unless asked: without the list, the event proves that the charge
    succeeded and nothing more; the refund's status comes from the create call's answer,
    the ``refund.*`` events and reconciliation.
    """
    with transaction() as session:
        payment, order = charged_payment_and_order(
            session, facts.payment_intent_id, facts.charge_id, actor, what="charge"
        )
        if facts.charge_id and not payment.charge_id:
            payment.charge_id = facts.charge_id
        for update in facts.refunds:
            record_refund_update(session, order, payment, update, actor)
        if not facts.refunds and facts.amount_refunded_cents > payment.amount_refunded_cents:
            log.info(
                "charge %s reports %s cents refunded; waiting for its refunds' own events",
                facts.charge_id,
                facts.amount_refunded_cents,
                extra={"order_id": order.id, "payment_intent": payment.payment_intent_id},
            )
        settle_refund_state(session, order, payment, actor)
        return order.id


def apply_refund_update(update: RefundUpdate, actor: Actor = WEBHOOK) -> int | None:
    """``refund.created/updated/failed``, ``charge.refund.updated`` or a re-read refund.

    Idempotent and order-independent: a refund's status only moves forward
    (``refund_status_advances``), so a duplicate or an older event changes nothing. A refund
    we do not know yet (made on the provider's dashboard, or reported before our own
    request recorded the answer) is recorded for its order; one on a payment that is not
    ours is ignored (returns None).
    """
    with transaction() as session:
        known_order = session.scalars(
            select(StubRefund.order_id).where(StubRefund.refund_id == update.refund_id)
        ).first()
        payment = (
            lock_payment(session, known_order)
            if known_order is not None
            else find_payment(
                session, payment_intent_id=update.payment_intent_id, charge_id=update.charge_id
            )
        )
        if payment is None:
            log.info("ignoring refund %s: not a payment of ours", update.refund_id)
            return None
        order = lock_order_of_charged_payment(session, payment, update.charge_id, actor)
        record_refund_update(session, order, payment, update, actor)
        settle_refund_state(session, order, payment, actor)
        return order.id
