"""Order lifecycle: payment outcomes, receipt, refunds and disputes.

Every change of an order's status goes through :func:`_move`, which checks it against
``ORDER_TRANSITIONS`` and writes the audit entry with who did it. The ``apply_*`` functions
are the single place where provider facts (from webhooks or reconciliation) change our
state; they are idempotent and order-independent: a refund or dispute that arrives before
the success first applies the success, so every delivery order ends in the same state.

Provider calls are never made inside a database transaction: a service commits first,
then calls the provider, then records the result in a second transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import (
    DisputeFacts,
    PaymentError,
    PaymentFacts,
    PaymentProviderUnavailable,
    Refund,
    RefundFacts,
    RefundUpdate,
)
from stubcollector.container import payment_gateway
from stubcollector.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from stubcollector.domain.money import cents_to_decimal_string
from stubcollector.domain.statuses import (
    ORDER_TRANSITIONS,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    ensure_transition,
    order_refund_state,
    refund_status_advances,
)
from stubcollector.models import (
    StubDispute,
    StubListing,
    StubOrder,
    StubPayment,
    StubRefund,
    User,
    utcnow,
)
from stubcollector.observability import metrics
from stubcollector.services import audit, reservations
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

LOST_RESERVATION_REASON = (
    "Your payment arrived after your reservation had ended and the stub was no longer held "
    "for you, so it is being refunded in full."
)
DISPUTE_LOST_REASON = "The buyer's bank decided the dispute for the buyer."
REFUNDABLE_BY_BUYER = (OrderStatus.PAYMENT_COMPLETED,)
REFUNDABLE_BY_ADMIN = (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED)
DISPUTE_RETURNS = frozenset({"won", "warning_closed", "prevented"})
DISPUTE_TERMINAL = DISPUTE_RETURNS | {"lost"}


@dataclass(frozen=True)
class Actor:
    """Who caused a change, for the audit log."""

    user: User | None = None
    kind: str = "system"  # user, admin, system, webhook
    ip_address: str | None = None

    @classmethod
    def of(cls, user: User, ip_address: str | None = None) -> Actor:
        return cls(user, "admin" if user.is_admin else "user", ip_address)


WEBHOOK = Actor(kind="webhook")
SYSTEM = Actor(kind="system")


class OrderChanged(Conflict):
    """Someone else changed the order between our read and our write; safe to retry."""


class UnknownPayment(LookupError):
    """An event names a payment we do not know (yet): processing fails and is retried."""


# --- reading ---------------------------------------------------------------------------
def _load(session: Session, order_id: int, *, lock: bool = False) -> StubOrder:
    order = session.get(StubOrder, order_id, with_for_update=lock, populate_existing=True)
    if order is None:
        raise NotFound("order not found")
    return order


def require_party(order: StubOrder, user: User) -> None:
    """To anyone but its buyer, its seller and admins an order does not exist: the same
    ``NotFound`` as a missing id, so an id reveals nothing. Parties refused an action get
    ``PermissionDenied`` from the action itself."""
    if user.id not in (order.buyer_id, order.seller_id) and not user.is_admin:
        raise NotFound("order not found")


def _payment_of(session: Session, order_id: int) -> StubPayment | None:
    return session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).first()


def _lock_payment(session: Session, order_id: int) -> StubPayment | None:
    return session.scalars(
        select(StubPayment).where(StubPayment.order_id == order_id).with_for_update()
    ).first()


def _dispute_of(session: Session, order_id: int) -> StubDispute | None:
    return session.scalars(
        select(StubDispute)
        .where(StubDispute.order_id == order_id)
        .order_by(StubDispute.created_at.desc(), StubDispute.id.desc())
    ).first()


def _refunds_of(session: Session, order_id: int) -> list[StubRefund]:
    """The order's refunds, oldest first (our attempts and those the provider reported)."""
    return list(
        session.scalars(
            select(StubRefund).where(StubRefund.order_id == order_id).order_by(StubRefund.id)
        )
    )


def refund_key(order_id: int, attempt: int) -> str:
    """The idempotency key of a refund attempt. The first keeps the key refunds always had;
    a retry after a failed refund needs its own, or the provider would answer with the
    failed refund again."""
    return f"order:{order_id}:refund" if attempt == 1 else f"order:{order_id}:refund:{attempt}"


def _refund_dict(refund: StubRefund) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "attempt": refund.attempt,
        "status": refund.status,
        "amount_cents": refund.amount_cents,
        "failure_reason": refund.failure_reason,
        "requested_at": refund.created_at.isoformat(),
        "settled_at": None if refund.settled_at is None else refund.settled_at.isoformat(),
    }


def expected_payout_date(order: StubOrder) -> datetime | None:
    if order.payment_confirmed_at is None:
        return None
    return order.payment_confirmed_at + timedelta(days=order.seller_payout_schedule_days)


def order_dict(session: Session, order: StubOrder) -> dict[str, Any]:
    """The order as the API shows it to its buyer, seller or an admin."""
    payment = _payment_of(session, order.id)
    dispute = _dispute_of(session, order.id)
    listing = session.get(StubListing, order.stub_listing_id)
    payout = expected_payout_date(order)
    refunds = _refunds_of(session, order.id)
    latest = refunds[-1] if refunds else None

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "id": order.id,
        "order_status": order.order_status,
        "status_reason": order.status_reason,
        "listing_id": order.stub_listing_id,
        "listing_status": None if listing is None else listing.status,
        # Only the order's own hold, never another buyer's.
        "reserved_until": iso(listing.reserved_until)
        if listing is not None
        and listing.reserved_by_user_id == order.buyer_id
        and order.order_status in (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING)
        else None,
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "currency": order.currency,
        "total_amount_cents": order.total_amount_cents,
        "platform_fee_cents": order.platform_fee_cents,
        "seller_amount_cents": order.seller_amount_cents,
        "stripe_fee_cents": order.stripe_fee_cents,
        "total_amount": cents_to_decimal_string(order.total_amount_cents),
        "payment_status": None if payment is None else payment.payment_status,
        "payment_intent_id": None if payment is None else payment.payment_intent_id,
        "stripe_account_id": None if payment is None else payment.stripe_account_id,
        "charge_id": None if payment is None else payment.charge_id,
        "refund_id": None if payment is None else payment.refund_id,
        "amount_refunded_cents": 0 if payment is None else payment.amount_refunded_cents,
        # The latest refund's status in our terms (requested, pending, requires_action,
        # succeeded, failed, canceled) and what it means for the order: pending or failed.
        "refund_status": None if latest is None else latest.status,
        "refund_state": order_refund_state(
            None if payment is None else payment.payment_status,
            None if latest is None else latest.status,
        ),
        "refund": None if latest is None else _refund_dict(latest),
        "refunds": [_refund_dict(refund) for refund in refunds],
        "failure_message": None if payment is None else payment.failure_message,
        "dispute": None
        if dispute is None
        else {
            "dispute_id": dispute.dispute_id,
            "status": dispute.status,
            "reason": dispute.reason,
            "amount_cents": dispute.amount_cents,
            "funds_withdrawn_cents": dispute.funds_withdrawn_cents,
            "funds_reinstated_cents": dispute.funds_reinstated_cents,
            "evidence_due_by": iso(dispute.evidence_due_by),
        },
        "dispute_status": None if dispute is None else dispute.status,
        "seller_payout_schedule_days": order.seller_payout_schedule_days,
        "expected_payout_date": None if payout is None else payout.date().isoformat(),
        "created_at": iso(order.created_at),
        "payment_confirmed_at": iso(order.payment_confirmed_at),
        "completed_at": iso(order.completed_at),
        "cancelled_at": iso(order.cancelled_at),
        "refunded_at": iso(order.refunded_at),
        "disputed_at": iso(order.disputed_at),
    }


def get_order(viewer: User, order_id: int) -> dict[str, Any]:
    with transaction() as session:
        order = _load(session, order_id)
        require_party(order, viewer)
        return order_dict(session, order)


# --- transitions -----------------------------------------------------------------------
def _move(
    session: Session,
    order: StubOrder,
    target: OrderStatus,
    actor: Actor,
    *,
    reason: str | None = None,
    **details: Any,
) -> None:
    current = OrderStatus(order.order_status)
    ensure_transition(current, target, ORDER_TRANSITIONS, "order")
    # Compare-and-swap on the status we read: a concurrent writer (another worker handling
    # an event of the same order) makes this match nothing instead of being overwritten.
    # PostgreSQL already serialises us with FOR UPDATE; SQLite has no row locks.
    swapped = session.execute(
        update(StubOrder)
        .where(StubOrder.id == order.id, StubOrder.order_status == current.value)
        .values(order_status=target.value)
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderChanged("the order changed at the same time; try again")
    now = utcnow()
    order.order_status = target.value
    if reason is not None:
        order.status_reason = reason
    stamp = {
        OrderStatus.PAYMENT_COMPLETED: "payment_confirmed_at",
        OrderStatus.COMPLETED: "completed_at",
        OrderStatus.CANCELLED: "cancelled_at",
        OrderStatus.REFUNDED: "refunded_at",
        OrderStatus.DISPUTED: "disputed_at",
    }.get(target)
    if stamp is not None and getattr(order, stamp) is None:
        setattr(order, stamp, now)
    audit.record(
        session,
        action=f"order.{target.value}",
        object_type="order",
        object_id=order.id,
        actor=actor.user,
        actor_kind=actor.kind,
        before=current.value,
        after=target.value,
        ip_address=actor.ip_address,
        reason=reason,
        **details,
    )


# --- provider facts --------------------------------------------------------------------
def _find_payment(
    session: Session,
    *,
    payment_intent_id: str | None = None,
    charge_id: str | None = None,
    order_id: int | None = None,
) -> StubPayment | None:
    if payment_intent_id:
        found = session.scalars(
            select(StubPayment)
            .where(StubPayment.payment_intent_id == payment_intent_id)
            .with_for_update()
        ).first()
        if found is not None:
            return found
    if charge_id:
        found = session.scalars(
            select(StubPayment).where(StubPayment.charge_id == charge_id).with_for_update()
        ).first()
        if found is not None:
            return found
    if order_id is not None:
        return _payment_of(session, order_id)
    return None


def _record_success(order: StubOrder, payment: StubPayment, facts: PaymentFacts) -> None:
    if facts.charge_id and not payment.charge_id:
        payment.charge_id = facts.charge_id
    if facts.processing_fee_cents is not None:
        payment.stripe_processing_fee_cents = facts.processing_fee_cents
        order.stripe_fee_cents = facts.processing_fee_cents
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
    _record_success(order, payment, facts)
    status = OrderStatus(order.order_status)
    if status in (
        OrderStatus.PENDING,
        OrderStatus.PAYMENT_PROCESSING,
        OrderStatus.PAYMENT_FAILED,
    ):
        if reservations.sell_order_listing(session, order):
            _move(session, order, OrderStatus.PAYMENT_COMPLETED, actor, reason=None)
            order.status_reason = None
            return
        _move(session, order, OrderStatus.CANCELLED, actor, reason=LOST_RESERVATION_REASON)
        status = OrderStatus.CANCELLED
    if status is OrderStatus.CANCELLED and payment.amount_refunded_cents == 0:
        # The money arrived for an order that no longer holds its listing: give it back.
        order.status_reason = LOST_RESERVATION_REASON
        if payment.payment_status == PaymentStatus.SUCCEEDED and not _refunds_of(session, order.id):
            payment.payment_status = PaymentStatus.REFUND_PENDING.value
            refund = _open_attempt(session, order, payment)
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
        payment = _find_payment(
            session, payment_intent_id=facts.payment_intent_id, order_id=facts.order_id
        )
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        if payment.payment_intent_id != facts.payment_intent_id:
            raise UnknownPayment(f"{facts.payment_intent_id} is not the order's PaymentIntent")
        order = _load(session, payment.order_id, lock=True)
        _apply_paid(session, order, payment, facts, actor)
        refund_due = payment.payment_status == PaymentStatus.REFUND_PENDING
        order_id = order.id
    if refund_due:
        settle_refund(order_id, actor, revert_on_failure=False)
    return order_id


def _ignore_unless_ours(facts: PaymentFacts) -> None:
    """No payment row for this PaymentIntent: ours but not stored yet, or not ours at all."""
    if facts.order_id is not None:
        # Our metadata: the event beat checkout's last step; fail now, succeed on a retry.
        raise UnknownPayment(f"no payment for {facts.payment_intent_id} (order {facts.order_id})")
    log.info("ignoring %s: not a PaymentIntent of ours", facts.payment_intent_id)


def apply_payment_failed(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = _find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = _load(session, payment.order_id, lock=True)
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
            _move(
                session,
                order,
                OrderStatus.PAYMENT_FAILED,
                actor,
                reason=reason,
                failure_code=facts.failure_code,
            )
            reservations.release_order_listing(session, order, "payment failed")
        return order.id


def apply_payment_processing(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = _find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = _load(session, payment.order_id, lock=True)
        if order.order_status == OrderStatus.PENDING:
            payment.payment_status = PaymentStatus.PROCESSING.value
            _move(session, order, OrderStatus.PAYMENT_PROCESSING, actor)
        return order.id


def apply_payment_canceled(facts: PaymentFacts, actor: Actor = WEBHOOK) -> int | None:
    with transaction() as session:
        payment = _find_payment(session, payment_intent_id=facts.payment_intent_id)
        if payment is None:
            _ignore_unless_ours(facts)
            return None
        order = _load(session, payment.order_id, lock=True)
        if payment.payment_status != PaymentStatus.SUCCEEDED:
            payment.payment_status = PaymentStatus.CANCELED.value
        if OrderStatus(order.order_status) in (
            OrderStatus.PENDING,
            OrderStatus.PAYMENT_PROCESSING,
            OrderStatus.PAYMENT_FAILED,
        ):
            _move(
                session,
                order,
                OrderStatus.CANCELLED,
                actor,
                reason="The payment was cancelled before it went through.",
            )
            reservations.release_order_listing(session, order, "payment cancelled")
        return order.id


def _apply_full_refund(
    session: Session, order: StubOrder, payment: StubPayment, actor: Actor
) -> None:
    payment.payment_status = PaymentStatus.REFUNDED.value
    if payment.refunded_at is None:
        payment.refunded_at = utcnow()
    status = OrderStatus(order.order_status)
    if status is OrderStatus.REFUNDED:
        return
    if status is OrderStatus.DISPUTED:
        order.status_before_dispute = None
    listing_was_ours = status in (
        OrderStatus.PAYMENT_COMPLETED,
        OrderStatus.COMPLETED,
        OrderStatus.DISPUTED,
    )
    _move(session, order, OrderStatus.REFUNDED, actor, amount_cents=payment.amount_refunded_cents)
    if listing_was_ours:
        reservations.reactivate_order_listing(session, order)


def apply_refund(facts: RefundFacts, actor: Actor = WEBHOOK) -> int:
    """``charge.refunded``: record the refunds the charge lists, with their own statuses.

    The charge's ``amount_refunded`` counts pending refunds too, and Stripe no longer lists
    a charge's refunds unless asked: without the list, the event proves that the charge
    succeeded and nothing more; the refund's status comes from the create call's answer,
    the ``refund.*`` events and reconciliation.
    """
    with transaction() as session:
        payment, order = _charged_payment_and_order(
            session, facts.payment_intent_id, facts.charge_id, actor, what="charge"
        )
        if facts.charge_id and not payment.charge_id:
            payment.charge_id = facts.charge_id
        for update in facts.refunds:
            _record_refund_update(session, order, payment, update, actor)
        if not facts.refunds and facts.amount_refunded_cents > payment.amount_refunded_cents:
            log.info(
                "charge %s reports %s cents refunded; waiting for its refunds' own events",
                facts.charge_id,
                facts.amount_refunded_cents,
                extra={"order_id": order.id, "payment_intent": payment.payment_intent_id},
            )
        _settle_refund_state(session, order, payment, actor)
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
            _lock_payment(session, known_order)
            if known_order is not None
            else _find_payment(
                session, payment_intent_id=update.payment_intent_id, charge_id=update.charge_id
            )
        )
        if payment is None:
            log.info("ignoring refund %s: not a payment of ours", update.refund_id)
            return None
        order = _lock_order_of_charged_payment(session, payment, update.charge_id, actor)
        _record_refund_update(session, order, payment, update, actor)
        _settle_refund_state(session, order, payment, actor)
        return order.id


def _charged_payment_and_order(
    session: Session,
    payment_intent_id: str | None,
    charge_id: str | None,
    actor: Actor,
    *,
    what: str,
) -> tuple[StubPayment, StubOrder]:
    """The payment and its (locked) order for an event that proves the charge succeeded."""
    payment = _find_payment(session, payment_intent_id=payment_intent_id, charge_id=charge_id)
    if payment is None:
        raise UnknownPayment(f"no payment for {what} {charge_id}")
    return payment, _lock_order_of_charged_payment(session, payment, charge_id, actor)


def _lock_order_of_charged_payment(
    session: Session, payment: StubPayment, charge_id: str | None, actor: Actor
) -> StubOrder:
    """Refunds and disputes can arrive before ``payment_intent.succeeded``: only a
    successful charge can be refunded or disputed, so the success is applied first."""
    order = _load(session, payment.order_id, lock=True)
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


def _open_attempt(session: Session, order: StubOrder, payment: StubPayment) -> StubRefund:
    """Our refund attempt waiting for the provider's answer, or a new one.

    An attempt whose create call got no answer (network, provider down) stays
    ``requested`` and is asked again with its own key, so a repeat can never refund twice;
    only after an attempt failed or was canceled does the next one get a new key.
    """
    refunds = _refunds_of(session, order.id)
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


def _record_refund_update(
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


def _settle_refund_state(
    session: Session, order: StubOrder, payment: StubPayment, actor: Actor
) -> None:
    """Derive the payment's (and order's) refund state from its refunds.

    Only succeeded refunds count as refunded; the order becomes ``refunded`` once they
    cover the total. While a refund is pending at the provider (or our request is waiting
    for an answer) the payment stays ``refund_pending``; when every refund failed or was
    canceled the money is the seller's again (``succeeded``) and an admin may retry.
    """
    refunds = _refunds_of(session, order.id)
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


def apply_dispute(facts: DisputeFacts, actor: Actor = WEBHOOK) -> int:
    """Any ``charge.dispute.*`` event: record it and move the order to or from ``disputed``."""
    with transaction() as session:
        payment, order = _charged_payment_and_order(
            session, facts.payment_intent_id, facts.charge_id, actor, what="disputed charge"
        )
        dispute = session.scalars(
            select(StubDispute).where(StubDispute.dispute_id == facts.dispute_id)
        ).first()
        if dispute is None:
            dispute = StubDispute(
                order_id=order.id,
                dispute_id=facts.dispute_id,
                charge_id=facts.charge_id,
                status=facts.status,
                reason=facts.reason,
                amount_cents=facts.amount_cents,
                funds_withdrawn_cents=0,
                funds_reinstated_cents=0,
                evidence_due_by=facts.evidence_due_by,
            )
            session.add(dispute)
            audit.record(
                session,
                action="dispute.recorded",
                object_type="dispute",
                object_id=facts.dispute_id,
                actor_kind=actor.kind,
                after=facts.status,
                order_id=order.id,
                amount_cents=facts.amount_cents,
            )
        elif dispute.status not in DISPUTE_TERMINAL or facts.status in DISPUTE_TERMINAL:
            # A late, older event must not reopen a closed dispute.
            if dispute.status != facts.status:
                audit.record(
                    session,
                    action="dispute.status_changed",
                    object_type="dispute",
                    object_id=facts.dispute_id,
                    actor_kind=actor.kind,
                    before=dispute.status,
                    after=facts.status,
                    order_id=order.id,
                )
            dispute.status = facts.status
        dispute.funds_withdrawn_cents = max(
            dispute.funds_withdrawn_cents, facts.funds_withdrawn_cents
        )
        dispute.funds_reinstated_cents = max(
            dispute.funds_reinstated_cents, facts.funds_reinstated_cents
        )
        if dispute.status in DISPUTE_TERMINAL and dispute.closed_at is None:
            dispute.closed_at = utcnow()
        if dispute.evidence_due_by is None:
            dispute.evidence_due_by = facts.evidence_due_by
        session.flush()
        _settle_dispute_status(session, order, payment, dispute, actor)
        return order.id


def _settle_dispute_status(
    session: Session, order: StubOrder, payment: StubPayment, dispute: StubDispute, actor: Actor
) -> None:
    status = OrderStatus(order.order_status)
    if dispute.status in DISPUTE_RETURNS:
        if status is OrderStatus.DISPUTED:
            previous = OrderStatus(order.status_before_dispute or OrderStatus.PAYMENT_COMPLETED)
            _move(session, order, previous, actor, reason=None, dispute_id=dispute.dispute_id)
            order.status_reason = None
            order.status_before_dispute = None
            payment.payment_status = (
                PaymentStatus.REFUNDED.value
                if previous is OrderStatus.REFUNDED
                else PaymentStatus.SUCCEEDED.value
            )
        return
    if status is not OrderStatus.DISPUTED:
        if OrderStatus.DISPUTED not in ORDER_TRANSITIONS.get(status, frozenset()):
            log.warning("dispute %s on order %s in %s", dispute.dispute_id, order.id, status)
            return
        order.status_before_dispute = status.value
        _move(session, order, OrderStatus.DISPUTED, actor, dispute_id=dispute.dispute_id)
        payment.payment_status = PaymentStatus.DISPUTED.value
    if dispute.status == "lost":
        order.status_reason = DISPUTE_LOST_REASON


# --- buyer and admin actions -----------------------------------------------------------
def complete_order(user: User, order_id: int, ip_address: str | None = None) -> dict[str, Any]:
    """The buyer confirms receipt of a paid order."""
    with transaction() as session:
        order = _load(session, order_id, lock=True)
        require_party(order, user)
        if order.buyer_id != user.id:
            raise PermissionDenied("only the buyer can confirm receipt")
        if order.order_status != OrderStatus.PAYMENT_COMPLETED:
            raise InvalidTransition(
                f"only a paid order can be completed (this one is {order.order_status})"
            )
        payment = _payment_of(session, order.id)
        if payment is not None and payment.payment_status == PaymentStatus.REFUND_PENDING:
            raise Conflict("this order is being refunded")
        _move(session, order, OrderStatus.COMPLETED, Actor.of(user, ip_address))
        return order_dict(session, order)


def request_refund(
    user: User, order_id: int, *, reason: str | None = None, ip_address: str | None = None
) -> dict[str, Any]:
    """Refund in full (fee included): the buyer before completion, or an admin.

    The order becomes ``refunded`` only once the provider says the refund succeeded; until
    then it shows a pending refund (``refund_state``). After a failed or canceled refund
    only an admin may try again, as a new attempt with its own idempotency key.
    """
    actor = Actor.of(user, ip_address)
    with transaction() as session:
        # Lock order as the event handlers do (payment, then order): no deadlock with them.
        payment = _lock_payment(session, order_id)
        order = _load(session, order_id, lock=True)
        require_party(order, user)
        is_buyer = order.buyer_id == user.id
        if not (is_buyer or user.is_admin):
            raise PermissionDenied("only the buyer or an admin can refund this order")
        status = OrderStatus(order.order_status)
        refunds = _refunds_of(session, order.id)
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
        attempt = _open_attempt(session, order, payment)
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
        return order_dict(session, _load(session, order_id))


def settle_refund(order_id: int, actor: Actor, *, revert_on_failure: bool) -> Refund | None:
    """Ask the provider for the refund attempt a ``refund_pending`` payment waits on, and
    record the answer (which may well be ``pending``: the outcome then comes later).

    Safe to repeat: the attempt's idempotency key makes the provider answer a repeat with
    the same refund. A refusal (``PaymentError``) fails the attempt and gives the payment
    back to ``succeeded`` for an admin to retry. Without an answer
    (``PaymentProviderUnavailable``) the attempt stays ``requested``: with
    ``revert_on_failure`` the payment goes back to ``succeeded`` (the user may try again,
    with the same key), otherwise it stays ``refund_pending`` for the next reconciliation.
    """
    with transaction() as session:
        payment = _lock_payment(session, order_id)
        if payment is None or payment.payment_status != PaymentStatus.REFUND_PENDING:
            return None
        order = _load(session, order_id, lock=True)
        refunds = _refunds_of(session, order_id)
        waiting = [
            r for r in refunds if r.attempt is not None and r.status == RefundStatus.REQUESTED
        ]
        if not waiting and any(RefundStatus(r.status).is_open for r in refunds):
            return None  # the provider has it; its events or reconciliation settle it
        attempt = waiting[-1] if waiting else _open_attempt(session, order, payment)
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
            payment = _lock_payment(session, order_id)
            order = _load(session, order_id, lock=True)
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
            _settle_refund_state(session, order, payment, actor)
        raise
    except PaymentProviderUnavailable as exc:
        with transaction() as session:
            payment = _payment_of(session, order_id)
            if (
                revert_on_failure
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
            )
        raise
    with transaction() as session:
        payment = _lock_payment(session, order_id)
        order = _load(session, order_id, lock=True)
        answered = session.get(StubRefund, attempt_id, populate_existing=True)
        assert payment is not None
        _record_refund_update(
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
        _settle_refund_state(session, order, payment, actor)
    return refund


def recheck_refunds(order_id: int, actor: Actor = SYSTEM) -> tuple[int, int]:
    """Re-read the order's refunds that are pending at the provider (reconciliation of a
    missed event); returns (refunds read, refunds whose status changed). Each refund read
    gets ``provider_checked_at``, so that the periodic run can take turns."""
    with transaction() as session:
        payment = _payment_of(session, order_id)
        if payment is None:
            return 0, 0
        open_refunds = [
            (r.refund_id, RefundStatus(r.status))
            for r in _refunds_of(session, order_id)
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


def payout_dates(order_ids: list[int]) -> dict[int, date]:
    """Expected payout day of each paid order among ``order_ids`` (unpaid ones are left out)."""
    if not order_ids:
        return {}
    with transaction() as session:
        rows = session.execute(
            select(
                StubOrder.id, StubOrder.payment_confirmed_at, StubOrder.seller_payout_schedule_days
            ).where(StubOrder.id.in_(order_ids), StubOrder.payment_confirmed_at.is_not(None))
        ).all()
    return {
        order_id: (paid_at + timedelta(days=days)).date()
        for order_id, paid_at, days in rows
        if paid_at is not None
    }
