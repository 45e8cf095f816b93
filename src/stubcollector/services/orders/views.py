"""What an order looks like to the people and pages that read it.

One order as its buyer, seller or an admin sees it (:func:`get_order`, and the view the
order actions answer with), a user's purchases and sales (:func:`my_orders`; the sales
that were paid apart from checkouts that were not, and how many of each:
:func:`order_counts`) and the count of orders by status for the admin dashboard and the
metrics (:func:`orders_by_status`). Reads only.

What the seller gets from an order is worked out by ``domain.seller_money`` from what
happened to it (paid or not, refunds, disputes, Stripe's fee where the seller pays it),
never read off the split made at checkout: a refunded order gives nothing and no payout
date, a declined one was never a sale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from stubcollector.container import settings
from stubcollector.domain.economics import CostKind, FeePayer
from stubcollector.domain.money import cents_to_decimal_string, format_cents
from stubcollector.domain.seller_money import (
    SALE_STATUSES,
    UNPAID_STATUSES,
    OrderMoney,
    fee_returned_cents,
    payout_expected,
    seller_receives_cents,
)
from stubcollector.domain.statuses import (
    ListingStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    order_refund_state,
)
from stubcollector.extensions import db
from stubcollector.models import (
    Stub,
    StubDispute,
    StubListing,
    StubOrder,
    StubOrderCost,
    StubPayment,
    StubRefund,
    User,
)
from stubcollector.services.orders.state import load_order, payment_of, refunds_of, require_party
from stubcollector.services.results import PAGE_ONLY
from stubcollector.services.transaction import transaction


# --- one order -------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundView:
    """One refund of an order: our attempt (``attempt`` numbered) or one the provider
    reported (``attempt`` None)."""

    refund_id: str | None
    attempt: int | None
    status: RefundStatus
    amount_cents: int
    failure_reason: str | None
    requested_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, refund: StubRefund) -> RefundView:
        return cls(
            refund_id=refund.refund_id,
            attempt=refund.attempt,
            status=RefundStatus(refund.status),
            amount_cents=refund.amount_cents,
            failure_reason=refund.failure_reason,
            requested_at=refund.created_at,
            settled_at=refund.settled_at,
        )


@dataclass(frozen=True)
class DisputeView:
    """The order's latest dispute, as the provider last reported it."""

    dispute_id: str
    status: str
    reason: str | None
    amount_cents: int
    funds_withdrawn_cents: int
    funds_reinstated_cents: int
    evidence_due_by: datetime | None

    @classmethod
    def of(cls, dispute: StubDispute) -> DisputeView:
        return cls(
            dispute_id=dispute.dispute_id,
            status=dispute.status,
            reason=dispute.reason,
            amount_cents=dispute.amount_cents,
            funds_withdrawn_cents=dispute.funds_withdrawn_cents,
            funds_reinstated_cents=dispute.funds_reinstated_cents,
            evidence_due_by=dispute.evidence_due_by,
        )


@dataclass(frozen=True)
class OrderView:
    """The order as its buyer, its seller and admins see it (``GET /api/payments/orders/<id>``
    and the order page). Fields are in the order of the API's keys."""

    id: int
    order_status: OrderStatus
    status_reason: str | None
    listing_id: int
    listing_status: ListingStatus | None
    # Only the order's own hold, never another buyer's.
    reserved_until: datetime | None
    buyer_id: int
    seller_id: int
    currency: str
    total_amount_cents: int
    platform_fee_cents: int
    seller_amount_cents: int
    stripe_fee_cents: int | None
    # Who pays stripe_fee_cents: the seller only with STRIPE_ACCOUNT_LIABILITY=stripe.
    stripe_fee_paid_by: Literal["platform", "seller"]
    # What the seller gets as things stand (domain.seller_money); None while unpaid.
    seller_receives_cents: int | None
    total_amount: str
    payment_status: PaymentStatus | None
    payment_intent_id: str | None
    stripe_account_id: str | None
    charge_id: str | None
    refund_id: str | None
    amount_refunded_cents: int
    # The latest refund's status in our terms (requested, pending, requires_action,
    # succeeded, failed, canceled) and what it means for the order: pending or failed.
    refund_status: RefundStatus | None
    refund_state: str | None
    refund: RefundView | None
    refunds: tuple[RefundView, ...]
    failure_message: str | None
    dispute: DisputeView | None
    dispute_status: str | None
    seller_payout_schedule_days: int
    # None when no payout is to come (unpaid, refunded or being refunded, disputed).
    expected_payout_date: date | None
    created_at: datetime
    payment_confirmed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    disputed_at: datetime | None
    # The seller's statement on the order page (what seller_receives_cents is made of).
    refunded_from_seller_cents: int = field(default=0, metadata=PAGE_ONLY)
    platform_fee_kept_cents: int = field(default=0, metadata=PAGE_ONLY)
    dispute_withdrawn_cents: int = field(default=0, metadata=PAGE_ONLY)
    # Dispute fees out of the seller's balance (only where their account carries losses).
    dispute_fees_cents: int = field(default=0, metadata=PAGE_ONLY)


def seller_pays_stripe_fee() -> bool:
    """Stripe's processing fee comes out of the seller's balance only when their account was
    created with ``fees.payer = account`` (``STRIPE_ACCOUNT_LIABILITY=stripe``)."""
    return settings().stripe_account_liability == "stripe"


def _dispute_of(session: Session, order_id: int) -> StubDispute | None:
    return session.scalars(
        select(StubDispute)
        .where(StubDispute.order_id == order_id)
        .order_by(StubDispute.created_at.desc(), StubDispute.id.desc())
    ).first()


def _withdrawn_by_disputes(session: Session, order_id: int) -> int:
    """What the order's disputes withdrew from the seller and did not reinstate."""
    withdrawn = session.scalar(
        select(
            func.coalesce(
                func.sum(StubDispute.funds_withdrawn_cents - StubDispute.funds_reinstated_cents),
                0,
            )
        ).where(StubDispute.order_id == order_id)
    )
    return max(0, int(withdrawn or 0))


def _seller_dispute_fees(
    order_id: ColumnElement[int] | InstrumentedAttribute[int] | int,
) -> ScalarSelect[int]:
    """The dispute fees Stripe took from the seller's balance for the order (recorded from its
    balance transactions; negative rows are fees given back), 0 when there are none: only
    where the seller's account carries its losses (domain.seller_money)."""
    return (
        select(func.coalesce(func.sum(StubOrderCost.amount_cents), 0))
        .where(
            StubOrderCost.order_id == order_id,
            StubOrderCost.kind == CostKind.DISPUTE_FEE,
            StubOrderCost.payer == FeePayer.SELLER,
        )
        .scalar_subquery()
    )


def expected_payout_date(
    money: OrderMoney, paid_at: datetime | None, hold_days: int
) -> date | None:
    """When the seller's payout is due: payment day plus the hold, while one is to come."""
    if paid_at is None or not payout_expected(money):
        return None
    return (paid_at + timedelta(days=hold_days)).date()


def order_view(session: Session, order: StubOrder) -> OrderView:
    """``order`` with its payment, refunds, latest dispute and listing, read in ``session``."""
    payment = payment_of(session, order.id)
    dispute = _dispute_of(session, order.id)
    listing = session.get(StubListing, order.stub_listing_id)
    refunds = tuple(RefundView.of(refund) for refund in refunds_of(session, order.id))
    latest = refunds[-1] if refunds else None
    status = OrderStatus(order.order_status)
    seller_pays = seller_pays_stripe_fee()
    money = OrderMoney(
        status=status,
        paid=order.payment_confirmed_at is not None,
        total_cents=order.total_amount_cents,
        platform_fee_cents=order.platform_fee_cents,
        stripe_fee_cents=order.stripe_fee_cents,
        seller_pays_stripe_fee=seller_pays,
        # Out of the seller's balance as soon as made: succeeded and on their way.
        refunded_cents=sum(r.amount_cents for r in refunds if not r.status.is_unsuccessful),
        dispute_withdrawn_cents=_withdrawn_by_disputes(session, order.id),
        dispute_fees_cents=int(session.scalar(select(_seller_dispute_fees(order.id))) or 0),
    )
    holds = (
        listing is not None
        and listing.reserved_by_user_id == order.buyer_id
        and status in (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING)
    )
    return OrderView(
        id=order.id,
        order_status=status,
        status_reason=order.status_reason,
        listing_id=order.stub_listing_id,
        listing_status=None if listing is None else ListingStatus(listing.status),
        reserved_until=listing.reserved_until if holds and listing is not None else None,
        buyer_id=order.buyer_id,
        seller_id=order.seller_id,
        currency=order.currency,
        total_amount_cents=order.total_amount_cents,
        platform_fee_cents=order.platform_fee_cents,
        seller_amount_cents=order.seller_amount_cents,
        stripe_fee_cents=order.stripe_fee_cents,
        stripe_fee_paid_by="seller" if seller_pays else "platform",
        seller_receives_cents=seller_receives_cents(money),
        total_amount=cents_to_decimal_string(order.total_amount_cents),
        payment_status=None if payment is None else PaymentStatus(payment.payment_status),
        payment_intent_id=None if payment is None else payment.payment_intent_id,
        stripe_account_id=None if payment is None else payment.stripe_account_id,
        charge_id=None if payment is None else payment.charge_id,
        refund_id=None if payment is None else payment.refund_id,
        amount_refunded_cents=0 if payment is None else payment.amount_refunded_cents,
        refund_status=None if latest is None else latest.status,
        refund_state=order_refund_state(
            None if payment is None else payment.payment_status,
            None if latest is None else latest.status,
        ),
        refund=latest,
        refunds=refunds,
        failure_message=None if payment is None else payment.failure_message,
        dispute=None if dispute is None else DisputeView.of(dispute),
        dispute_status=None if dispute is None else dispute.status,
        seller_payout_schedule_days=order.seller_payout_schedule_days,
        expected_payout_date=expected_payout_date(
            money, order.payment_confirmed_at, order.seller_payout_schedule_days
        ),
        created_at=order.created_at,
        payment_confirmed_at=order.payment_confirmed_at,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        refunded_at=order.refunded_at,
        disputed_at=order.disputed_at,
        refunded_from_seller_cents=min(money.refunded_cents, money.total_cents),
        platform_fee_kept_cents=order.platform_fee_cents
        - fee_returned_cents(
            order.platform_fee_cents, order.total_amount_cents, money.refunded_cents
        ),
        dispute_withdrawn_cents=money.dispute_withdrawn_cents,
        dispute_fees_cents=money.dispute_fees_cents,
    )


def get_order(viewer: User, order_id: int) -> OrderView:
    """The order for one of its parties or an admin; to anyone else ``NotFound``."""
    with transaction() as session:
        order = load_order(session, order_id)
        require_party(order, viewer)
        return order_view(session, order)


# --- a user's orders -------------------------------------------------------------------
@dataclass(frozen=True)
class OrderStub:
    """The stub an order is for, as the order lists show it."""

    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    event_date: date | None


@dataclass(frozen=True)
class Counterpart:
    """The other party of an order: the buyer of a sale, the seller of a purchase."""

    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class OrderRow:
    """One order in a user's list of purchases and sales (``GET /api/marketplace/my-orders``
    and the orders pages). The fee split and what the seller gets are the seller's business:
    a buyer's row has None there."""

    id: int
    role: Literal["buyer", "seller"]
    order_status: OrderStatus
    status_reason: str | None
    listing_id: int
    stub: OrderStub
    counterpart: Counterpart
    currency: str
    total_amount_cents: int
    total_amount_display: str
    platform_fee_cents: int | None
    platform_fee_display: str | None
    seller_amount_cents: int | None
    seller_amount_display: str | None
    created_at: datetime
    updated_at: datetime
    payment_confirmed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    refund_state: str | None
    # Refunds the provider confirmed (both parties see them).
    amount_refunded_cents: int
    # The seller's row: what they get as things stand (None while unpaid) and when.
    seller_receives_cents: int | None
    seller_receives_display: str | None
    expected_payout_date: date | None


@dataclass(frozen=True)
class OrderPage:
    """One page of a user's orders, and how many there are in all."""

    orders: tuple[OrderRow, ...]
    page: int
    per_page: int
    total: int


def my_orders(
    user_id: int,
    *,
    role: str = "all",
    paid: bool | None = None,
    page: int = 1,
    per_page: int,
) -> OrderPage:
    """The user's purchases and sales, newest first, with the stub and the other party.

    ``role``: ``purchases``, ``sales`` or ``all``. ``paid``: True for orders the buyer paid
    (sales, refunded or disputed ones included), False for checkouts that were not (or not
    yet) paid, None for both. The total is counted only when the page does not already show
    it (a first page that is not full).
    """
    buyer = aliased(User, name="buyer")
    seller = aliased(User, name="seller")
    if role == "purchases":
        who: ColumnElement[bool] = StubOrder.buyer_id == user_id
    elif role == "sales":
        who = StubOrder.seller_id == user_id
    else:
        who = or_(StubOrder.buyer_id == user_id, StubOrder.seller_id == user_id)
    if paid is not None:
        who = who & StubOrder.order_status.in_(SALE_STATUSES if paid else UNPAID_STATUSES)
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
            StubOrder.stripe_fee_cents,
            StubOrder.seller_payout_schedule_days,
            StubPayment.amount_refunded_cents,
            # Out of the seller's balance as soon as made: succeeded and on their way.
            select(func.coalesce(func.sum(StubRefund.amount_cents), 0))
            .where(
                StubRefund.order_id == StubOrder.id,
                StubRefund.status.not_in([RefundStatus.FAILED, RefundStatus.CANCELED]),
            )
            .correlate(StubOrder)
            .scalar_subquery(),
            select(
                func.coalesce(
                    func.sum(
                        StubDispute.funds_withdrawn_cents - StubDispute.funds_reinstated_cents
                    ),
                    0,
                )
            )
            .where(StubDispute.order_id == StubOrder.id)
            .correlate(StubOrder)
            .scalar_subquery(),
            _seller_dispute_fees(StubOrder.id).correlate(StubOrder),
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
    seller_pays = seller_pays_stripe_fee()
    return OrderPage(
        tuple(_order_row(row, user_id, seller_pays) for row in rows), page, per_page, total
    )


def _order_row(row: Row[Any], user_id: int, seller_pays: bool) -> OrderRow:
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
        stripe_fee,
        hold_days,
        amount_refunded,
        refunds_out,
        dispute_withdrawn,
        dispute_fees,
    ) = row
    is_sale = seller_id == user_id
    order_status = OrderStatus(status)
    money = OrderMoney(
        status=order_status,
        paid=confirmed_at is not None,
        total_cents=total,
        platform_fee_cents=fee,
        stripe_fee_cents=stripe_fee,
        seller_pays_stripe_fee=seller_pays,
        refunded_cents=int(refunds_out or 0),
        dispute_withdrawn_cents=max(0, int(dispute_withdrawn or 0)),
        dispute_fees_cents=int(dispute_fees or 0),
    )
    receives = seller_receives_cents(money) if is_sale else None
    counterpart = (
        Counterpart(buyer_id, buyer_name, buyer_display or buyer_name)
        if is_sale
        else Counterpart(seller_id, seller_name, seller_display or seller_name)
    )
    return OrderRow(
        id=order_id,
        role="seller" if is_sale else "buyer",
        order_status=order_status,
        status_reason=reason,
        listing_id=listing_id,
        stub=OrderStub(stub_id, event_name, performer, venue, event_date),
        counterpart=counterpart,
        currency=currency,
        total_amount_cents=total,
        total_amount_display=format_cents(total, currency),
        # The fee split is the seller's business; the buyer sees what they paid.
        platform_fee_cents=fee if is_sale else None,
        platform_fee_display=format_cents(fee, currency) if is_sale else None,
        seller_amount_cents=seller_amount if is_sale else None,
        seller_amount_display=format_cents(seller_amount, currency) if is_sale else None,
        created_at=created_at,
        updated_at=updated_at,
        payment_confirmed_at=confirmed_at,
        completed_at=completed_at,
        cancelled_at=cancelled_at,
        refunded_at=refunded_at,
        refund_state=order_refund_state(payment_status, latest_refund),
        amount_refunded_cents=int(amount_refunded or 0),
        seller_receives_cents=receives,
        seller_receives_display=None if receives is None else format_cents(receives, currency),
        expected_payout_date=expected_payout_date(money, confirmed_at, hold_days)
        if is_sale
        else None,
    )


@dataclass(frozen=True)
class OrderCounts:
    """How many orders a user has on each tab of the orders page, and the newest of each."""

    purchases: int
    sales: int
    unpaid_checkouts: int
    latest_purchase_at: datetime | None
    latest_sale_at: datetime | None


def order_counts(user_id: int) -> OrderCounts:
    """Purchases, paid sales and unpaid checkouts of ``user_id``'s listings, in one query."""
    is_purchase = StubOrder.buyer_id == user_id
    is_sale = (StubOrder.seller_id == user_id) & StubOrder.order_status.in_(SALE_STATUSES)
    is_unpaid = (StubOrder.seller_id == user_id) & StubOrder.order_status.in_(UNPAID_STATUSES)

    def counted(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(
            counted(is_purchase),
            counted(is_sale),
            counted(is_unpaid),
            func.max(case((is_purchase, StubOrder.created_at))),
            func.max(case((is_sale, StubOrder.created_at))),
        ).where(or_(StubOrder.buyer_id == user_id, StubOrder.seller_id == user_id))
    ).one()
    return OrderCounts(
        purchases=int(row[0]),
        sales=int(row[1]),
        unpaid_checkouts=int(row[2]),
        latest_purchase_at=row[3],
        latest_sale_at=row[4],
    )


# --- counts ----------------------------------------------------------------------------
def orders_by_status() -> dict[str, int]:
    """How many orders are in each status (all time)."""
    with transaction() as session:
        rows = session.execute(
            select(StubOrder.order_status, func.count()).group_by(StubOrder.order_status)
        ).all()
    return {str(status): int(count) for status, count in rows}
