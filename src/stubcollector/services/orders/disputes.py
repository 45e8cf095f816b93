"""Charge disputes (chargebacks): recording them and moving the order to and from ``disputed``.

Every ``charge.dispute.*`` event carries the dispute as it is now (``DisputeFacts``);
:func:`apply_dispute` records it once per dispute id, in a transaction of its own, and then
follows its status on the order. An open dispute moves the order to ``disputed``
(remembering where it was); a dispute won or closed in the seller's favour moves it back; a
lost one leaves it ``disputed`` with the reason. A late, older event never reopens a closed
dispute. A dispute on an order that had already given its listing up (refunded, or
cancelled with its late payment refunded) does not take the listing back: it may have been
sold to someone else since (``models.order.HOLDS_LISTING_SQL``).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import DisputeFacts
from stubcollector.domain.disputes import ANSWERABLE_STATUSES
from stubcollector.domain.statuses import ORDER_TRANSITIONS, OrderStatus, PaymentStatus
from stubcollector.models import StubDispute, StubOrder, StubPayment, utcnow
from stubcollector.services import audit
from stubcollector.services.orders.payments import (
    LOST_RESERVATION_REASON,
    charged_payment_and_order,
)
from stubcollector.services.orders.state import WEBHOOK, Actor, UnknownPayment, find_payment, move
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

DISPUTE_LOST_REASON = "The buyer's bank decided the dispute for the buyer."
# Dispute statuses that give the order back its status before the dispute.
DISPUTE_RETURNS = frozenset({"won", "warning_closed", "prevented"})
DISPUTE_TERMINAL = DISPUTE_RETURNS | {"lost"}


def apply_dispute(facts: DisputeFacts, actor: Actor = WEBHOOK) -> int:
    """Any ``charge.dispute.*`` event: record it and move the order to or from ``disputed``.

    Two transactions, so that a dispute is never lost: the dispute itself is saved first,
    whatever happens to its order; then the order follows it. Should the second step fail
    (a collision with another writer, a state nobody foresaw), the dispute is already on
    record, visible and answerable, and the event is retried for the order's sake.
    """
    order_id = _record_dispute(facts, actor)
    with transaction() as session:
        payment, order = charged_payment_and_order(
            session, facts.payment_intent_id, facts.charge_id, actor, what="disputed charge"
        )
        dispute = session.scalars(
            select(StubDispute).where(StubDispute.dispute_id == facts.dispute_id)
        ).one()
        _settle_dispute_status(session, order, payment, dispute, actor)
    return order_id


def _record_dispute(facts: DisputeFacts, actor: Actor) -> int:
    """Save the dispute as the provider holds it now (its own transaction); its order id."""
    with transaction() as session:
        payment = find_payment(
            session, payment_intent_id=facts.payment_intent_id, charge_id=facts.charge_id
        )
        if payment is None:
            raise UnknownPayment(f"no payment for disputed charge {facts.charge_id}")
        order_id = payment.order_id
        dispute = session.scalars(
            select(StubDispute).where(StubDispute.dispute_id == facts.dispute_id)
        ).first()
        if dispute is None:
            dispute = StubDispute(
                order_id=order_id,
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
                order_id=order_id,
                amount_cents=facts.amount_cents,
            )
            if facts.status in ANSWERABLE_STATUSES:
                announce_needs_response(session, dispute, order_id)
        elif dispute.status != facts.status and (
            # A late, older event must not reopen a closed dispute.
            dispute.status not in DISPUTE_TERMINAL or facts.status in DISPUTE_TERMINAL
        ):
            waits_now = (
                facts.status in ANSWERABLE_STATUSES and dispute.status not in ANSWERABLE_STATUSES
            )
            audit.record(
                session,
                action="dispute.status_changed",
                object_type="dispute",
                object_id=facts.dispute_id,
                actor=actor.user,
                actor_kind=actor.kind,
                before=dispute.status,
                after=facts.status,
                order_id=order_id,
            )
            dispute.status = facts.status
            if waits_now:
                announce_needs_response(session, dispute, order_id)
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
        return order_id


def announce_needs_response(session: Session, dispute: StubDispute, order_id: int) -> None:
    """A dispute now waits for evidence: tell the order's seller and the admins.

    The seam for notifications (PRODUCT.md, "Notifications": "dispute opened (seller and
    admins, with the evidence deadline)"): for now an audit entry ``dispute.needs_response``
    naming who is to be told, and the banner every page shows them
    (``services.orders.evidence.needs_response_summary``); the notifications issue creates
    the in-app notification and the email here, in this same transaction (its outbox).
    """
    seller_id = session.scalar(select(StubOrder.seller_id).where(StubOrder.id == order_id))
    audit.record(
        session,
        action="dispute.needs_response",
        object_type="dispute",
        object_id=dispute.dispute_id,
        actor_kind="system",
        after=dispute.status,
        order_id=order_id,
        notify_user_id=seller_id,
        notify_admins=True,
        evidence_due_by=(dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None),
    )
    log.info(
        "dispute %s on order %s needs a response by %s",
        dispute.dispute_id,
        order_id,
        dispute.evidence_due_by,
        extra={"order_id": order_id, "dispute_id": dispute.dispute_id},
    )


def _settle_dispute_status(
    session: Session, order: StubOrder, payment: StubPayment, dispute: StubDispute, actor: Actor
) -> None:
    status = OrderStatus(order.order_status)
    if dispute.status in DISPUTE_RETURNS:
        if status is OrderStatus.DISPUTED:
            previous = OrderStatus(order.status_before_dispute or OrderStatus.PAYMENT_COMPLETED)
            move(session, order, previous, actor, reason=None, dispute_id=dispute.dispute_id)
            order.status_reason = None
            order.status_before_dispute = None
            # What the refunds say, not what the order was: a cancelled order's automatic
            # refund may have gone through, or not, while the dispute was open.
            payment.payment_status = (
                PaymentStatus.REFUNDED.value
                if payment.amount_refunded_cents >= payment.amount_total_cents
                else PaymentStatus.SUCCEEDED.value
            )
            if previous is OrderStatus.CANCELLED:
                order.status_reason = LOST_RESERVATION_REASON
        return
    if status is not OrderStatus.DISPUTED:
        if OrderStatus.DISPUTED not in ORDER_TRANSITIONS.get(status, frozenset()):
            log.warning("dispute %s on order %s in %s", dispute.dispute_id, order.id, status)
            return
        order.status_before_dispute = status.value
        move(session, order, OrderStatus.DISPUTED, actor, dispute_id=dispute.dispute_id)
        payment.payment_status = PaymentStatus.DISPUTED.value
    if dispute.status == "lost":
        order.status_reason = DISPUTE_LOST_REASON
