"""What an order looks like to the people and pages that read it.

One order as its buyer, seller or an admin sees it (:func:`get_order`, and the view the
order actions answer with), a user's purchases and sales (:func:`my_orders`), sellers'
payout dates (:func:`payout_dates`) and the count of orders by status for the admin
dashboard and the metrics (:func:`orders_by_status`). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.domain.money import cents_to_decimal_string, format_cents
from stubcollector.domain.statuses import OrderStatus, order_refund_state
from stubcollector.extensions import db
from stubcollector.models import (
    Stub,
    StubDispute,
    StubListing,
    StubOrder,
    StubPayment,
    StubRefund,
    User,
)
from stubcollector.services.orders.state import load_order, payment_of, refunds_of, require_party
from stubcollector.services.transaction import transaction


def _dispute_of(session: Session, order_id: int) -> StubDispute | None:
    return session.scalars(
        select(StubDispute)
        .where(StubDispute.order_id == order_id)
        .order_by(StubDispute.created_at.desc(), StubDispute.id.desc())
    ).first()


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
    payment = payment_of(session, order.id)
    dispute = _dispute_of(session, order.id)
    listing = session.get(StubListing, order.stub_listing_id)
    payout = expected_payout_date(order)
    refunds = refunds_of(session, order.id)
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
        order = load_order(session, order_id)
        require_party(order, viewer)
        return order_dict(session, order)


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


# --- a user's orders --------------------------------------------------------------------
ORDER_ROLES = ("all", "purchases", "sales")


@dataclass(frozen=True)
class OrderPage:
    orders: list[dict[str, Any]]
    page: int
    per_page: int
    total: int


def my_orders(user_id: int, *, role: str = "all", page: int = 1, per_page: int) -> OrderPage:
    """The user's purchases and sales, newest first, with the stub and the other party."""
    buyer = aliased(User, name="buyer")
    seller = aliased(User, name="seller")
    if role == "purchases":
        who: ColumnElement[bool] = StubOrder.buyer_id == user_id
    elif role == "sales":
        who = StubOrder.seller_id == user_id
    else:
        who = or_(StubOrder.buyer_id == user_id, StubOrder.seller_id == user_id)
    rows = db.session.execute(
        select(
            StubOrder.id,
            StubOrder.buyer_id,
            StubOrder.seller_id,
            StubOrder.stub_listing_id,
            StubOrder.order_status,
            StubOrder.status_reason,
            StubOrder.total_amount_cents,
            StubOrder.platform_fee_cents,
            StubOrder.seller_amount_cents,
            StubOrder.currency,
            StubOrder.created_at,
            StubOrder.updated_at,
            StubOrder.payment_confirmed_at,
            StubOrder.completed_at,
            StubOrder.cancelled_at,
            StubOrder.refunded_at,
            StubListing.stub_id,
            Stub.event_name,
            Stub.performer,
            Stub.venue,
            Stub.event_date,
            buyer.username,
            buyer.display_name,
            seller.username,
            seller.display_name,
            StubPayment.payment_status,
            select(StubRefund.status)
            .where(StubRefund.order_id == StubOrder.id)
            .order_by(StubRefund.id.desc())
            .limit(1)
            .correlate(StubOrder)
            .scalar_subquery(),
        )
        .join(StubListing, StubListing.id == StubOrder.stub_listing_id)
        .join(Stub, Stub.id == StubListing.stub_id)
        .join(buyer, buyer.id == StubOrder.buyer_id)
        .join(seller, seller.id == StubOrder.seller_id)
        .outerjoin(StubPayment, StubPayment.order_id == StubOrder.id)
        .where(who)
        .order_by(StubOrder.created_at.desc(), StubOrder.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if page == 1 and len(rows) < per_page:
        total = len(rows)
    else:
        total = int(db.session.scalar(select(func.count(StubOrder.id)).where(who)) or 0)
    return OrderPage([_order_payload(row, user_id) for row in rows], page, per_page, total)


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _order_payload(row: Row[Any], user_id: int) -> dict[str, Any]:
    (
        order_id,
        buyer_id,
        seller_id,
        listing_id,
        status,
        reason,
        total,
        fee,
        seller_amount,
        currency,
        created_at,
        updated_at,
        confirmed_at,
        completed_at,
        cancelled_at,
        refunded_at,
        stub_id,
        event_name,
        performer,
        venue,
        event_date,
        buyer_name,
        buyer_display,
        seller_name,
        seller_display,
        payment_status,
        latest_refund,
    ) = row
    is_sale = seller_id == user_id
    counterpart = (
        {"id": buyer_id, "username": buyer_name, "display_name": buyer_display or buyer_name}
        if is_sale
        else {
            "id": seller_id,
            "username": seller_name,
            "display_name": seller_display or seller_name,
        }
    )
    return {
        "id": order_id,
        "role": "seller" if is_sale else "buyer",
        "order_status": status,
        "status_reason": reason,
        "listing_id": listing_id,
        "stub": {
            "id": stub_id,
            "event_name": event_name,
            "performer": performer,
            "venue": venue,
            "event_date": _iso(event_date),
        },
        "counterpart": counterpart,
        "currency": currency,
        "total_amount_cents": total,
        "total_amount_display": format_cents(total, currency),
        # The fee split is the seller's business; the buyer sees what they paid.
        "platform_fee_cents": fee if is_sale else None,
        "platform_fee_display": format_cents(fee, currency) if is_sale else None,
        "seller_amount_cents": seller_amount if is_sale else None,
        "seller_amount_display": format_cents(seller_amount, currency) if is_sale else None,
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
        "payment_confirmed_at": _iso(confirmed_at),
        "completed_at": _iso(completed_at),
        "cancelled_at": _iso(cancelled_at),
        "refunded_at": _iso(refunded_at),
        "refund_state": order_refund_state(payment_status, latest_refund),
    }


# --- counts ------------------------------------------------------------------------------
def orders_by_status() -> dict[str, int]:
    """How many orders are in each status (all time)."""
    with transaction() as session:
        rows = session.execute(
            select(StubOrder.order_status, func.count()).group_by(StubOrder.order_status)
        ).all()
    return {str(status): int(count) for status, count in rows}
