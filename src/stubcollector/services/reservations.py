"""Holding a listing for one buyer while they pay, without ever double-selling.

A reservation is a compare-and-swap on the listing row: the UPDATE only matches if the
listing is still in the state we read (active, or reserved with an expired hold). Two
buyers racing both read "active", both try the swap, and the database lets exactly one
UPDATE match — on PostgreSQL through row locks and re-evaluation of the WHERE clause, on
SQLite because writers are serialised. The loser sees zero rows changed and gets a
``Conflict``. No check-then-write, no application lock.

The payment's outcome then settles the listing, with the same kind of conditional update:
sold to the order (:func:`sell_order_listing`), released when the payment failed
(:func:`release_order_listing`), or back on sale after a refund
(:func:`reactivate_order_listing`).

Functions here take the caller's session and never commit: checkout, the sweep and the
order services combine them with order changes in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.domain.errors import Conflict, NotFound, PermissionDenied
from stubcollector.domain.statuses import OPEN_ORDER_STATUSES, ListingStatus, OrderStatus
from stubcollector.models import StubListing, StubOrder, utcnow
from stubcollector.services import audit

T = TypeVar("T")


@dataclass(frozen=True)
class Reservation:
    listing_id: int
    buyer_id: int
    reserved_until: datetime
    # True when the buyer already held the listing (a repeated checkout call).
    already_held: bool
    # The buyer whose expired hold this reservation replaced, if any.
    replaced_buyer_id: int | None


def is_reservation_expired(listing: StubListing, now: datetime | None = None) -> bool:
    return (
        listing.status == ListingStatus.PAYMENT_PENDING
        and listing.reserved_until is not None
        and listing.reserved_until <= (now or utcnow())
    )


def effective_status(listing: StubListing, now: datetime | None = None) -> ListingStatus:
    """The status a reader should see: an expired hold reads as ``active`` before any sweep."""
    if is_reservation_expired(listing, now):
        return ListingStatus.ACTIVE
    return ListingStatus(listing.status)


def reserve(
    session: Session,
    listing_id: int,
    buyer_id: int,
    *,
    minutes: int,
    now: datetime | None = None,
) -> Reservation:
    """Hold ``listing_id`` for ``buyer_id`` for ``minutes``; ``Conflict`` if someone else has it."""
    listing = session.get(StubListing, listing_id, populate_existing=True)
    if listing is None:
        raise NotFound("listing not found")
    return reserve_listing(session, listing, buyer_id, minutes=minutes, now=now)


def reserve_listing(
    session: Session,
    listing: StubListing,
    buyer_id: int,
    *,
    minutes: int,
    now: datetime | None = None,
) -> Reservation:
    """:func:`reserve` for a listing the caller has just read in this transaction.

    The compare-and-swap checks the row against exactly what ``listing`` holds, so a stale
    object can only make the swap miss (``Conflict``), never double-book.
    """
    now = now or utcnow()
    listing_id = listing.id
    if listing.seller_id == buyer_id:
        raise PermissionDenied("you cannot buy your own listing")
    status = ListingStatus(listing.status)
    if status is ListingStatus.PAYMENT_PENDING and not is_reservation_expired(listing, now):
        if listing.reserved_by_user_id == buyer_id:
            assert listing.reserved_until is not None
            return Reservation(listing.id, buyer_id, listing.reserved_until, True, None)
        raise Conflict("this listing is reserved by another buyer; try again later")
    if status in (ListingStatus.SOLD, ListingStatus.CANCELLED):
        raise Conflict(f"this listing is no longer for sale ({status.value})")

    until = now + timedelta(minutes=minutes)
    previous_holder = listing.reserved_by_user_id
    # Compare-and-swap on exactly the state we read.
    swapped = session.execute(
        update(StubListing)
        .where(
            StubListing.id == listing_id,
            StubListing.status == listing.status,
            _same_or_null(StubListing.reserved_by_user_id, listing.reserved_by_user_id),
            _same_or_null(StubListing.reserved_until, listing.reserved_until),
        )
        .values(
            status=ListingStatus.PAYMENT_PENDING.value,
            reserved_by_user_id=buyer_id,
            reserved_until=until,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("another buyer reserved this listing a moment ago")
    # The row now holds exactly what the UPDATE wrote: keep the object in step without
    # reading it back.
    for column, value in (
        ("status", ListingStatus.PAYMENT_PENDING.value),
        ("reserved_by_user_id", buyer_id),
        ("reserved_until", until),
        ("updated_at", now),
    ):
        set_committed_value(listing, column, value)
    audit.record(
        session,
        action="listing.reserved",
        object_type="listing",
        object_id=listing_id,
        actor_kind="user",
        actor_user_id=buyer_id,
        before=status.value,
        after=ListingStatus.PAYMENT_PENDING.value,
        buyer_id=buyer_id,
        reserved_until=until.isoformat(),
        replaced_buyer_id=previous_holder,
    )
    return Reservation(listing_id, buyer_id, until, False, previous_holder)


def _same_or_null(column: InstrumentedAttribute[T], value: T | None) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    return column == value


def release(session: Session, listing_id: int, *, buyer_id: int | None = None, reason: str) -> bool:
    """Make a reserved listing ``active`` again; only if ``buyer_id`` (when given) holds it.

    Returns whether anything changed, so callers can be idempotent.
    """
    conditions = [
        StubListing.id == listing_id,
        StubListing.status == ListingStatus.PAYMENT_PENDING.value,
    ]
    if buyer_id is not None:
        conditions.append(StubListing.reserved_by_user_id == buyer_id)
    result = session.execute(
        update(StubListing)
        .where(*conditions)
        .values(
            status=ListingStatus.ACTIVE.value,
            reserved_by_user_id=None,
            reserved_until=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        audit.record(
            session,
            action="listing.released",
            object_type="listing",
            object_id=listing_id,
            before=ListingStatus.PAYMENT_PENDING.value,
            after=ListingStatus.ACTIVE.value,
            reason=reason,
            buyer_id=buyer_id,
        )
    return changed


@dataclass(frozen=True)
class ExpiredReservation:
    listing_id: int
    buyer_id: int | None
    # Open orders of that buyer for that listing, now cancelled; their PaymentIntents must
    # be cancelled at the provider after the transaction commits.
    cancelled_order_ids: tuple[int, ...]


EXPIRY_REASON = (
    "Your reservation expired before the payment went through; the listing is on sale again."
)


def release_expired(session: Session, *, now: datetime | None = None) -> list[ExpiredReservation]:
    """Release every expired hold and cancel the orders that held it (the sweep's core)."""
    now = now or utcnow()
    expired = session.execute(
        select(StubListing.id, StubListing.reserved_by_user_id).where(
            StubListing.status == ListingStatus.PAYMENT_PENDING.value,
            StubListing.reserved_until <= now,
        )
    ).all()
    results = []
    for listing_id, buyer_id in expired:
        # Conditional again: a buyer may have renewed the hold since we looked.
        released = session.execute(
            update(StubListing)
            .where(
                StubListing.id == listing_id,
                StubListing.status == ListingStatus.PAYMENT_PENDING.value,
                StubListing.reserved_until <= now,
            )
            .values(
                status=ListingStatus.ACTIVE.value,
                reserved_by_user_id=None,
                reserved_until=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not released.rowcount:  # type: ignore[attr-defined]
            continue
        audit.record(
            session,
            action="listing.reservation_expired",
            object_type="listing",
            object_id=listing_id,
            before=ListingStatus.PAYMENT_PENDING.value,
            after=ListingStatus.ACTIVE.value,
            buyer_id=buyer_id,
        )
        cancelled = cancel_open_orders(session, listing_id, buyer_id, now=now, reason=EXPIRY_REASON)
        results.append(ExpiredReservation(listing_id, buyer_id, cancelled))
    return results


def cancel_open_orders(
    session: Session, listing_id: int, buyer_id: int | None, *, now: datetime, reason: str
) -> tuple[int, ...]:
    """Cancel the not-yet-paid orders that held ``listing_id``; returns their ids."""
    conditions = [
        StubOrder.stub_listing_id == listing_id,
        StubOrder.order_status.in_([status.value for status in OPEN_ORDER_STATUSES]),
    ]
    if buyer_id is not None:
        conditions.append(StubOrder.buyer_id == buyer_id)
    orders = session.scalars(select(StubOrder).where(and_(*conditions))).all()
    for order in orders:
        before = order.order_status
        order.order_status = OrderStatus.CANCELLED.value
        order.cancelled_at = now
        order.status_reason = reason
        audit.record(
            session,
            action="order.cancelled",
            object_type="order",
            object_id=order.id,
            before=before,
            after=OrderStatus.CANCELLED.value,
            reason=reason,
        )
    session.flush()
    return tuple(order.id for order in orders)


# --- an order's listing after its payment's outcome ------------------------------------
def release_order_listing(session: Session, order: StubOrder, reason: str) -> None:
    """Put the order's listing back on sale after its payment failed or was cancelled,
    only if it is still held for this order's buyer (a newer hold is someone else's)."""
    released = session.execute(
        update(StubListing)
        .where(
            StubListing.id == order.stub_listing_id,
            StubListing.status == ListingStatus.PAYMENT_PENDING.value,
            StubListing.reserved_by_user_id == order.buyer_id,
        )
        .values(
            status=ListingStatus.ACTIVE.value,
            reserved_by_user_id=None,
            reserved_until=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if released.rowcount:  # type: ignore[attr-defined]
        audit.record(
            session,
            action="listing.released",
            object_type="listing",
            object_id=order.stub_listing_id,
            before=ListingStatus.PAYMENT_PENDING.value,
            after=ListingStatus.ACTIVE.value,
            reason=reason,
            order_id=order.id,
        )


def sell_order_listing(session: Session, order: StubOrder) -> bool:
    """Mark the order's listing sold when its payment succeeded, only if it is still this
    buyer's to take; False when the listing is no longer theirs (the order then lost it)."""
    now = utcnow()
    status = OrderStatus(order.order_status)
    held = (StubListing.status == ListingStatus.PAYMENT_PENDING.value) & (
        StubListing.reserved_by_user_id == order.buyer_id
    )
    # After a decline the listing was released; a retried card may still win it if
    # nobody else holds it by now.
    condition = (
        held | (StubListing.status == ListingStatus.ACTIVE.value)
        if (status is OrderStatus.PAYMENT_FAILED)
        else held
    )
    sold = session.execute(
        update(StubListing)
        .where(StubListing.id == order.stub_listing_id, condition)
        .values(
            status=ListingStatus.SOLD.value,
            reserved_by_user_id=None,
            reserved_until=None,
            sold_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not sold.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        action="listing.sold",
        object_type="listing",
        object_id=order.stub_listing_id,
        before=ListingStatus.PAYMENT_PENDING.value,
        after=ListingStatus.SOLD.value,
        order_id=order.id,
    )
    return True


def reactivate_order_listing(session: Session, order: StubOrder) -> None:
    """A refunded sale puts the stub back on sale (unless the seller cancelled it)."""
    reopened = session.execute(
        update(StubListing)
        .where(
            StubListing.id == order.stub_listing_id,
            StubListing.status == ListingStatus.SOLD.value,
        )
        .values(status=ListingStatus.ACTIVE.value, sold_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if reopened.rowcount:  # type: ignore[attr-defined]
        audit.record(
            session,
            action="listing.reactivated",
            object_type="listing",
            object_id=order.stub_listing_id,
            before=ListingStatus.SOLD.value,
            after=ListingStatus.ACTIVE.value,
            order_id=order.id,
        )


def live_listing_filter() -> ColumnElement[bool]:
    """SQL condition for listings a buyer can reserve now (active, or with an expired hold)."""
    now = utcnow()
    return or_(
        StubListing.status == ListingStatus.ACTIVE.value,
        and_(
            StubListing.status == ListingStatus.PAYMENT_PENDING.value,
            StubListing.reserved_until <= now,
        ),
    )
