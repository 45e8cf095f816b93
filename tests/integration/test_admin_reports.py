"""services.admin: platform totals per day/week, order and dispute lists, audit-log filters.

Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrized): the day grouping is
SQL on both, and both must agree on UTC day boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask

from stubcollector.domain.errors import ValidationFailed
from stubcollector.extensions import db
from stubcollector.models import (
    AuditLogEntry,
    StubDispute,
    StubListing,
    StubOrder,
    StubOrderCost,
    StubPayment,
)
from stubcollector.services import admin
from stubcollector.services.orders import views
from tests.support.factories import StubFactory, UserFactory

DAY = date(2026, 3, 2)  # a Monday


def at(day_offset: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=UTC) + timedelta(
        days=day_offset
    )


def make_order(
    total: int,
    fee: int,
    *,
    status: str = "payment_completed",
    paid: datetime | None = None,
    refunded: datetime | None = None,
    created: datetime | None = None,
    charged: datetime | None = None,
) -> StubOrder:
    """An order; its charge succeeded at ``charged`` (by default when it was paid: a late
    payment of a cancelled order is charged without the order ever being paid)."""
    seller, buyer = UserFactory.create(), UserFactory.create()
    stub = StubFactory.create(owner=seller)
    listing = StubListing(
        stub_id=stub.id, seller_id=seller.id, asking_price_cents=total, status="sold"
    )
    db.session.add(listing)
    db.session.flush()
    order = StubOrder(
        buyer_id=buyer.id,
        seller_id=seller.id,
        stub_listing_id=listing.id,
        order_status=status,
        total_amount_cents=total,
        platform_fee_cents=fee,
        seller_amount_cents=total - fee,
        payment_confirmed_at=paid,
        refunded_at=refunded,
        created_at=created or paid or at(0),
    )
    db.session.add(order)
    db.session.flush()
    db.session.add(
        StubPayment(
            order_id=order.id,
            stripe_account_id="acct_report",
            payment_intent_id=f"pi_report_{order.id}",
            idempotency_key=f"order:{order.id}:payment_intent",
            amount_total_cents=total,
            platform_fee_cents=fee,
            amount_refunded_cents=total if refunded else 0,
            payment_status="refunded" if refunded else "succeeded",
            processed_at=charged or paid,
        )
    )
    db.session.commit()
    return order


def open_dispute(order: StubOrder, when: datetime, *, closed: bool = False) -> None:
    db.session.add(
        StubDispute(
            order_id=order.id,
            dispute_id=f"dp_report_{order.id}",
            status="lost" if closed else "needs_response",
            amount_cents=order.total_amount_cents,
            created_at=when,
            closed_at=when if closed else None,
        )
    )
    db.session.commit()


def test_totals_per_utc_day_with_empty_days_filled(app: Flask) -> None:
    make_order(1000, 100, paid=at(0, 0, 0, 0))
    make_order(2500, 250, paid=at(0, 23, 59, 59))
    refunded = make_order(5000, 500, status="refunded", paid=at(2), refunded=at(3, 8))
    make_order(9900, 990, paid=at(1, 23, 59, 59) + timedelta(days=3))  # day 5: after the range
    make_order(7700, 770, paid=at(0) - timedelta(days=1))  # the day before the range
    open_dispute(refunded, at(2, 18))

    totals = admin.platform_totals(DAY, DAY + timedelta(days=3))

    assert [t.start for t in totals] == [DAY + timedelta(days=n) for n in range(4)]
    first, second, third, fourth = totals
    assert (first.sales_count, first.sales_cents, first.fees_cents) == (2, 3500, 350)
    assert (second.sales_count, second.sales_cents, second.disputes_count) == (0, 0, 0)
    assert (third.sales_count, third.sales_cents, third.disputes_count) == (1, 5000, 1)
    assert (fourth.refunds_count, fourth.refunds_cents, fourth.fees_refunded_cents) == (
        1,
        5000,
        500,
    )
    assert fourth.net_fees_cents == -500
    assert sum(t.net_fees_cents for t in totals) == 350
    assert all(isinstance(t.sales_cents, int) for t in totals)


def cost(order: StubOrder, kind: str, payer: str, cents: int, when: datetime) -> None:
    db.session.add(
        StubOrderCost(
            order_id=order.id,
            kind=kind,
            payer=payer,
            amount_cents=cents,
            balance_transaction_id=f"txn_{kind}_{order.id}_{cents}_{when:%d%H%M%S}",
            occurred_at=when,
        )
    )
    if kind == "processing_fee":  # as services.orders.costs marks a charge's fees read
        payment = db.session.query(StubPayment).filter_by(order_id=order.id).one()
        payment.costs_recorded_at = when
    db.session.commit()


def test_net_revenue_counts_what_stripe_took_and_fees_really_earned(app: Flask) -> None:
    """Issue 16 point 1: gross fees, Stripe's costs, refunds (automatic ones of cancelled
    orders included, whose fee was earned with the late charge and then given back), lost
    disputes, dispute fees and net revenue."""
    sold = make_order(5000, 500, paid=at(0))
    cost(sold, "processing_fee", "platform", 175, at(0))
    # A late payment for a cancelled order: charged, then refunded automatically. Its fee
    # was taken with the charge and went back with the refund; Stripe kept its fee.
    late = make_order(2500, 250, status="refunded", charged=at(0, 13), refunded=at(0, 14))
    cost(late, "processing_fee", "platform", 103, at(0, 13))
    # A seller who pays Stripe's fee: not the platform's cost.
    seller_pays = make_order(1000, 100, paid=at(1))
    cost(seller_pays, "processing_fee", "seller", 59, at(1))
    # A dispute lost, with its received and countered fees on the platform.
    disputed = make_order(3000, 300, status="disputed", paid=at(1))
    cost(disputed, "processing_fee", "platform", 117, at(1))
    open_dispute(disputed, at(1, 15), closed=True)
    cost(disputed, "dispute_fee", "platform", 1500, at(1, 15))
    cost(disputed, "dispute_fee", "platform", 1500, at(1, 16))
    # A charge whose fee Stripe has not reported yet.
    make_order(2000, 200, paid=at(1, 20))

    total = admin.totals_over(admin.platform_totals(DAY, DAY + timedelta(days=1)))

    # Sales are orders paid; fees come from every charge that succeeded.
    assert (total.sales_count, total.sales_cents) == (4, 11000)
    assert (total.charges_count, total.fees_cents) == (5, 1350)
    assert (total.refunds_count, total.refunds_cents, total.fees_refunded_cents) == (
        1,
        2500,
        250,
    )
    assert total.net_fees_cents == 1100
    assert (total.stripe_fees_cents, total.dispute_fees_cents) == (175 + 103 + 117, 3000)
    assert (total.disputes_lost_count, total.disputes_lost_cents) == (1, 3000)
    assert total.costs_unknown_count == 1
    assert total.net_revenue_cents == 1100 - 395 - 3000


def test_totals_per_week_start_on_monday(app: Flask) -> None:
    make_order(1000, 100, paid=at(1))  # Tuesday of week 1
    make_order(2000, 200, paid=at(6, 23))  # Sunday of week 1
    make_order(4000, 400, paid=at(7, 0))  # Monday of week 2

    weeks = admin.platform_totals(DAY + timedelta(days=1), DAY + timedelta(days=9), period="week")

    assert [w.start for w in weeks] == [DAY, DAY + timedelta(days=7)]
    assert [(w.sales_count, w.sales_cents, w.fees_cents) for w in weeks] == [
        (2, 3000, 300),
        (1, 4000, 400),
    ]


def test_totals_refuse_bad_ranges(app: Flask) -> None:
    with pytest.raises(ValidationFailed):
        admin.platform_totals(DAY, DAY - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        admin.platform_totals(DAY, DAY, period="month")
    with pytest.raises(ValidationFailed):
        admin.platform_totals(DAY, DAY + timedelta(days=400))


def test_orders_filter_by_status_and_page_newest_first(app: Flask) -> None:
    orders = [make_order(1000 + n, 100, created=at(n), paid=at(n)) for n in range(3)]
    make_order(3000, 300, status="refunded", paid=at(5), refunded=at(6), created=at(5))

    first = admin.list_orders(status="payment_completed", per_page=2)
    assert first.total == 3
    assert [row.id for row in first.items] == [orders[2].id, orders[1].id]
    assert first.has_next
    second = admin.list_orders(status="payment_completed", page=2, per_page=2)
    assert [row.id for row in second.items] == [orders[0].id]
    assert not second.has_next
    assert admin.list_orders(status="refunded").total == 1
    assert admin.list_orders().total == 4
    assert admin.list_orders().items[0].event_name
    with pytest.raises(ValidationFailed):
        admin.list_orders(status="lost")
    with pytest.raises(ValidationFailed):
        admin.list_orders(per_page=1000)
    assert views.orders_by_status() == {"payment_completed": 3, "refunded": 1}


def test_disputes_open_only(app: Flask) -> None:
    open_one = make_order(1000, 100, status="disputed", paid=at(0))
    closed_one = make_order(2000, 200, status="disputed", paid=at(0))
    open_dispute(open_one, at(1))
    open_dispute(closed_one, at(2), closed=True)
    assert [d.order_id for d in admin.list_disputes().items] == [closed_one.id, open_one.id]
    only_open = admin.list_disputes(open_only=True)
    assert [d.order_id for d in only_open.items] == [open_one.id]
    assert only_open.items[0].order_status == "disputed"


def test_audit_log_filters(app: Flask) -> None:
    alice = UserFactory.create(username="alice")
    bob = UserFactory.create(username="bob")

    def entry(action: str, object_id: str, actor_id: int | None, when: datetime) -> None:
        db.session.add(
            AuditLogEntry(
                action=action,
                object_type="order",
                object_id=object_id,
                actor_user_id=actor_id,
                actor_kind="user" if actor_id else "webhook",
                created_at=when,
                details={"amount_cents": 500},
            )
        )

    entry("order.created", "1", alice.id, at(0))
    entry("order.payment_completed", "1", None, at(0, 13))
    entry("order.completed", "1", alice.id, at(2))
    entry("order.created", "2", bob.id, at(3, 23, 59, 59))
    db.session.commit()

    everything = admin.audit_log()
    assert everything.total == 4
    assert everything.items[0].action == "order.created"  # newest first
    assert everything.items[0].actor_username == "bob"
    assert everything.items[0].details == {"amount_cents": 500}

    def actions(**filters: object) -> list[str]:
        found = admin.audit_log(admin.AuditFilters(**filters))  # type: ignore[arg-type]
        return [f"{e.action}#{e.object_id}" for e in found.items]

    assert actions(action="order.created") == ["order.created#2", "order.created#1"]
    assert actions(object_type="order", object_id="1") == [
        "order.completed#1",
        "order.payment_completed#1",
        "order.created#1",
    ]
    assert actions(actor="ALICE") == ["order.completed#1", "order.created#1"]
    assert actions(actor=str(bob.id)) == ["order.created#2"]
    assert actions(since=DAY + timedelta(days=2), until=DAY + timedelta(days=3)) == [
        "order.created#2",
        "order.completed#1",
    ]
    assert actions(until=DAY) == ["order.payment_completed#1", "order.created#1"]
    assert actions(object_type="user") == []
    paged = admin.audit_log(page=2, per_page=3)
    assert (paged.total, len(paged.items), paged.pages) == (4, 1, 2)
    assert admin.audit_actions() == ["order.completed", "order.created", "order.payment_completed"]
    with pytest.raises(ValidationFailed):
        admin.audit_log(admin.AuditFilters(since=DAY, until=DAY - timedelta(days=1)))
