"""How a sale goes: the provider's payment outcomes, and the buyer's receipt.

The ``apply_payment_*`` functions are the single place where what the provider says about
a PaymentIntent (``PaymentFacts``, from a webhook or reconciliation's re-read) changes an
order. They are idempotent and order-independent: a success sells the listing to the order
(or, when the order lost its reservation meanwhile, cancels it and refunds the buyer); a
failure or cancellation releases the listing. Refund and dispute events prove the charge
succeeded, so they apply the success first (:func:`charged_payment_and_order`), whatever
order the events arrive in.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import PaymentFacts
from stubcollector.domain.errors import Conflict, InvalidTransition, PermissionDenied
from stubcollector.domain.statuses import OrderStatus, PaymentStatus
from stubcollector.models import StubOrder, StubPayment, User, utcnow
from stubcollector.services import audit
from stubcollector.services.marketplace import listing_status
from stubcollector.services.orders.refund_ledger import open_refund_attempt, settle_refund
from stubcollector.services.orders.state import (
    WEBHOOK,
    Actor,
    UnknownPayment,
    find_payment,
    load_order,
    move,
    payment_of,
    refunds_of,
    require_party,
)
from stubcollector.services.orders.views import OrderView, order_view
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

LOST_RESERVATION_REASON = (
    "Your payment arrived after your reservation had ended and the stub was no longer held "
    "for you, so it is being refunded in full."
)


# --- the charge succeeded --------------------------------------------------------------
def _record_success(payment: StubPayment, facts: PaymentFacts) -> None:
    if facts.charge_id and not payment.charge_id:
        payment.charge_id = facts.charge_id
    # Stripe's fees are not read here: events carry `latest_charge` as an id, and the
    # charge's balance transaction may come later still. services.orders.costs reads and
    # records them (the order's stripe_fee_cents included) once the payment is applied.
    if payment.processed_at is None:
        payment.processed_at = utcnow()
    if payment.payment_status in (
        PaymentStatus.REQUIRES_PAYMENT_METHOD,
        PaymentStatus.PROCESSING,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELED,
    ):
        payment.payment_status = PaymentStatus.SUCCEEDED.value
        payment.failure_code = payment.failure_message = None


def _apply_paid(
    session: Session, order: StubOrder, payment: StubPayment, facts: PaymentFacts, actor: Actor
) -> None:
    """The charge succeeded: sell the listing to this order, or refund if it was lost."""
    _record_success(payment, facts)
    status = OrderStatus(order.order_status)
    if status in (
        OrderStatus.PENDING,
        OrderStatus.PAYMENT_PROCESSING,
        OrderStatus.PAYMENT_FAILED,
    ):
        if listing_status.sell_order_listing(session, order):
            move(session, order, OrderStatus.PAYMENT_COMPLETED, actor, reason=None)
            order.status_reason = None
            return
        move(session, order, OrderStatus.CANCELLED, actor, reason=LOST_RESERVATION_REASON)
        status = OrderStatus.CANCELLED
    if status is OrderStatus.CANCELLED and payment.amount_refunded_cents == 0:
        # The money arrived for an order that no longer holds its listing: give it back.
        order.status_reason = LOST_RESERVATION_REASON
        if payment.payment_status == PaymentStatus.SUCCEEDED and not refunds_of(session, order.id):
            payment.payment_status = PaymentStatus.REFUND_PENDING.value
            refund = open_refund_attempt(session, order, payment)
            audit.record(
                session,
                action="order.auto_refund_requested",
                object_type="order",
                object_id=order.id,
                actor_kind=actor.kind,
                before=status.value,
                after=status.value,
                reason=LOST_RESERVATION_REASON,
                attempt=refund.attempt,
            )


def apply_payment_succeeded(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    """``payment_intent.succeeded``: returns the order id (None if not ours)."""
    with transaction() as session:
        payment = find_payment(
            session, payment_intent_id=facts.payment_intent_id, order_id=facts.order_id
        )
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        if payment.payment_intent_id != facts.payment_intent_id:
            raise UnknownPayment(f"{facts.payment_intent_id} is not the order's PaymentIntent")
        order = load_order(session, payment.order_id, lock=True)
        _apply_paid(session, order, payment, facts, actor)
        refund_due = payment.payment_status == PaymentStatus.REFUND_PENDING
        order_id = order.id
    if refund_due:
        settle_refund(order_id, actor, revert_on_failure=False)
    return order_id


# --- the other outcomes ----------------------------------------------------------------
def _ignore_unless_ours(facts: PaymentFacts) -> None:
    """No payment row for this PaymentIntent: ours but not stored yet, or not ours at all."""
    if facts.order_id is not None:
        # Our metadata: the event beat checkout's last step; fail now, succeed on a retry.
        raise UnknownPayment(f"no payment for {facts.payment_intent_id} (order {facts.order_id})")
    log.info("ignoring %s: not a PaymentIntent of ours", facts.payment_intent_id)


def apply_payment_failed(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = load_order(session, payment.order_id, lock=True)
        if payment.payment_status in (
            PaymentStatus.REQUIRES_PAYMENT_METHOD,
            PaymentStatus.PROCESSING,
            PaymentStatus.FAILED,
        ):
            payment.payment_status = PaymentStatus.FAILED.value
            payment.failure_code = facts.failure_code
            payment.failure_message = facts.failure_message
        if OrderStatus(order.order_status) in (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING):
            reason = "The payment failed" + (
                f": {facts.failure_message}" if facts.failure_message else "."
            )
            move(
                session,
                order,
                OrderStatus.PAYMENT_FAILED,
                actor,
                reason=reason,
                failure_code=facts.failure_code,
            )
            listing_status.release_order_listing(session, order, "payment failed")
        return order.id


def apply_payment_processing(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = load_order(session, payment.order_id, lock=True)
        if order.order_status == OrderStatus.PENDING:
            payment.payment_status = PaymentStatus.PROCESSING.value
            move(session, order, OrderStatus.PAYMENT_PROCESSING, actor)
        return order.id


def apply_payment_canceled(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = load_order(session, payment.order_id, lock=True)
        if payment.payment_status != PaymentStatus.SUCCEEDED:
            payment.payment_status = PaymentStatus.CANCELED.value
        if OrderStatus(order.order_status) in (
            OrderStatus.PENDING,
            OrderStatus.PAYMENT_PROCESSING,
            OrderStatus.PAYMENT_FAILED,
        ):
            move(
                session,
                order,
                OrderStatus.CANCELLED,
                actor,
                reason="The payment was cancelled before it went through.",
            )
            listing_status.release_order_listing(session, order, "payment cancelled")
        return order.id


# --- for refunds and disputes: the success first ---------------------------------------
def charged_payment_and_order(
    session: Session,
    payment_intent_id: str | None,
    charge_id: str | None,
    actor: Actor,
    *,
    what: str,
) -> tuple[StubPayment, StubOrder]:
    """The payment and its (locked) order for an event that proves the charge succeeded."""
    payment = find_payment(session, payment_intent_id=payment_intent_id, charge_id=charge_id)
    if payment is None:
        raise UnknownPayment(f"no payment for {what} {charge_id}")
    return payment, lock_order_of_charged_payment(session, payment, charge_id, actor)


def lock_order_of_charged_payment(
    session: Session, payment: StubPayment, charge_id: str | None, actor: Actor
) -> StubOrder:
    """Refunds and disputes can arrive before ``payment_intent.succeeded``: only a
    successful charge can be refunded or disputed, so the success is applied first."""
    order = load_order(session, payment.order_id, lock=True)
    if OrderStatus(order.order_status) in (
        OrderStatus.PENDING,
        OrderStatus.PAYMENT_PROCESSING,
        OrderStatus.PAYMENT_FAILED,
    ):
        _apply_paid(
            session,
            order,
            payment,
            PaymentFacts(payment.payment_intent_id, charge_id=charge_id),
            actor,
        )
    return order


# --- the buyer's receipt ---------------------------------------------------------------
def complete_order(user: User, order_id: int, ip_address: str | None = None) -> OrderView:
    """The buyer confirms receipt of a paid order."""
    with transaction() as session:
        order = load_order(session, order_id, lock=True)
        require_party(order, user)
        if order.buyer_id != user.id:
            raise PermissionDenied("only the buyer can confirm receipt")
        if order.order_status != OrderStatus.PAYMENT_COMPLETED:
            raise InvalidTransition(
                f"only a paid order can be completed (this one is {order.order_status})"
            )
        payment = payment_of(session, order.id)
        if payment is not None and payment.payment_status == PaymentStatus.REFUND_PENDING:
            raise Conflict("this order is being refunded")
        move(session, order, OrderStatus.COMPLETED, Actor.of(user, ip_address))
        return order_view(session, order)
