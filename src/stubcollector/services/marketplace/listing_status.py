"""Every change of a listing's status, in one place, and how each avoids double-selling.

A listing moves ``active`` → ``payment_pending`` (a buyer's hold while they pay) → ``sold``,
back to ``active`` when the hold is released or lapses or a sale is refunded, and to
``cancelled`` when its seller (or an admin) withdraws it. Each change here is a
compare-and-swap on the listing row (:func:`_swap`): the ``UPDATE`` only matches if the
row is still in the state the change expects, and the change is audited only if it
matched. Two buyers racing both read "active", both try the swap, and the database lets
exactly one ``UPDATE`` match — on PostgreSQL through row locks and re-evaluation of the
``WHERE`` clause, on SQLite because writers are serialised. The loser sees zero rows
changed. No check-then-write, no application lock.

The changes, by who makes them:

- checkout: :func:`reserve` / :func:`reserve_listing` (take), :func:`release` (give back);
- the payment's outcome (``services.orders``): :func:`sell_order_listing`,
  :func:`release_order_listing`, :func:`reactivate_order_listing` after a refund;
- the seller: :func:`change_terms` (price, description) and :func:`withdraw`, both only
  while the listing is active (a buyer may have reserved it a moment ago);
- the expiry sweep (``checkout.release_expired``): :func:`lapsed_holds` and
  :func:`release_lapsed_hold`.

Functions here take the caller's session and never commit, and never call the payment
provider: checkout, the sweep, selling and the order services combine them with their own
changes in one transaction. Creating a listing is an ``INSERT`` decided by a unique index
(``selling.create_listing``), not a change of status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.domain.errors import Conflict, NotFound, PermissionDenied
from stubcollector.domain.statuses import ListingStatus, OrderStatus
from stubcollector.models import StubListing, StubOrder, User, utcnow
from stubcollector.services import audit

T = TypeVar("T")

# The stored values (the column is text; queries compare with these).
ACTIVE: Final = ListingStatus.ACTIVE.value
PENDING: Final = ListingStatus.PAYMENT_PENDING.value
SOLD: Final = ListingStatus.SOLD.value
CANCELLED: Final = ListingStatus.CANCELLED.value


def _swap(
    session: Session,
    listing_id: int,
    *,
    expected: Sequence[ColumnElement[bool]],
    values: Mapping[str, object],
    action: str,
    before: str,
    after: str,
    **audit_fields: Any,
) -> bool:
    """Write ``values`` to the listing only if its row still matches ``expected``, and
    record ``action`` in the audit log if it did. Returns whether the row changed.

    ``audit_fields`` go to :func:`audit.record` as they are (``actor``, ``actor_kind``,
    ``actor_user_id`` and the entry's details, in the order given).
    """
    result = session.execute(
        update(StubListing)
        .where(StubListing.id == listing_id, *expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        action=action,
        object_type="listing",
        object_id=listing_id,
        before=before,
        after=after,
        **audit_fields,
    )
    return True


def _same_or_null(column: InstrumentedAttribute[T], value: T | None) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    return column == value


# --- reading a listing's status ------------------------------------------------------------


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


def live_listing_filter() -> ColumnElement[bool]:
    """SQL condition for listings a buyer can reserve now (active, or with an expired hold)."""
    now = utcnow()
    return or_(
        StubListing.status == ACTIVE,
        and_(StubListing.status == PENDING, StubListing.reserved_until <= now),
    )


# --- checkout: take and give back ----------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    listing_id: int
    buyer_id: int
    reserved_until: datetime
    # True when the buyer already held the listing (a repeated checkout call).
    already_held: bool
    # The buyer whose expired hold this reservation replaced, if any.
    replaced_buyer_id: int | None


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
    held = {
        "status": PENDING,
        "reserved_by_user_id": buyer_id,
        "reserved_until": until,
        "updated_at": now,
    }
    # Compare-and-swap on exactly the state we read.
    if not _swap(
        session,
        listing_id,
        expected=[
            StubListing.status == listing.status,
            _same_or_null(StubListing.reserved_by_user_id, listing.reserved_by_user_id),
            _same_or_null(StubListing.reserved_until, listing.reserved_until),
        ],
        values=held,
        action="listing.reserved",
        before=status.value,
        after=PENDING,
        actor_kind="user",
        actor_user_id=buyer_id,
        buyer_id=buyer_id,
        reserved_until=until.isoformat(),
        replaced_buyer_id=previous_holder,
    ):
        raise Conflict("another buyer reserved this listing a moment ago")
    # The row now holds exactly what the UPDATE wrote: keep the object in step without
    # reading it back.
    for column, value in held.items():
        set_committed_value(listing, column, value)
    return Reservation(listing_id, buyer_id, until, False, previous_holder)


_RELEASED: Final[Mapping[str, object]] = {
    "status": ACTIVE,
    "reserved_by_user_id": None,
    "reserved_until": None,
}


def release(session: Session, listing_id: int, *, buyer_id: int | None = None, reason: str) -> bool:
    """Make a reserved listing ``active`` again; only if ``buyer_id`` (when given) holds it.

    Returns whether anything changed, so callers can be idempotent.
    """
    expected = [StubListing.status == PENDING]
    if buyer_id is not None:
        expected.append(StubListing.reserved_by_user_id == buyer_id)
    return _swap(
        session,
        listing_id,
        expected=expected,
        values={**_RELEASED, "updated_at": utcnow()},
        action="listing.released",
        before=PENDING,
        after=ACTIVE,
        reason=reason,
        buyer_id=buyer_id,
    )


# --- the payment's outcome -----------------------------------------------------------------


def release_order_listing(session: Session, order: StubOrder, reason: str) -> None:
    """Put the order's listing back on sale after its payment failed or was cancelled,
    only if it is still held for this order's buyer (a newer hold is someone else's)."""
    _swap(
        session,
        order.stub_listing_id,
        expected=[
            StubListing.status == PENDING,
            StubListing.reserved_by_user_id == order.buyer_id,
        ],
        values={**_RELEASED, "updated_at": utcnow()},
        action="listing.released",
        before=PENDING,
        after=ACTIVE,
        reason=reason,
        order_id=order.id,
    )


def sell_order_listing(session: Session, order: StubOrder) -> bool:
    """Mark the order's listing sold when its payment succeeded, only if it is still this
    buyer's to take; False when the listing is no longer theirs (the order then lost it)."""
    now = utcnow()
    held = (StubListing.status == PENDING) & (StubListing.reserved_by_user_id == order.buyer_id)
    # After a decline the listing was released; a retried card may still win it if
    # nobody else holds it by now.
    takeable = (
        held | (StubListing.status == ACTIVE)
        if OrderStatus(order.order_status) is OrderStatus.PAYMENT_FAILED
        else held
    )
    return _swap(
        session,
        order.stub_listing_id,
        expected=[takeable],
        values={
            "status": SOLD,
            "reserved_by_user_id": None,
            "reserved_until": None,
            "sold_at": now,
            "updated_at": now,
        },
        action="listing.sold",
        before=PENDING,
        after=SOLD,
        order_id=order.id,
    )


def reactivate_order_listing(session: Session, order: StubOrder) -> None:
    """A refunded sale puts the stub back on sale (unless the seller cancelled it)."""
    _swap(
        session,
        order.stub_listing_id,
        expected=[StubListing.status == SOLD],
        values={"status": ACTIVE, "sold_at": None, "updated_at": utcnow()},
        action="listing.reactivated",
        before=SOLD,
        after=ACTIVE,
        order_id=order.id,
    )


# --- the seller: only while nobody is buying -----------------------------------------------


def _change_if_active(
    session: Session, listing_id: int, values: Mapping[str, object], **audited: Any
) -> None:
    """Apply ``values`` only if the listing is still active: a buyer may have just reserved
    it, after the caller checked (``Conflict`` then)."""
    if not _swap(
        session,
        listing_id,
        expected=[StubListing.status == ACTIVE],
        values={**values, "updated_at": utcnow()},
        before=ACTIVE,
        **audited,
    ):
        raise Conflict("a buyer reserved this listing a moment ago; it cannot be changed now")


def change_terms(
    session: Session,
    listing_id: int,
    changes: Mapping[str, object],
    *,
    actor: User,
    price_before_cents: int,
) -> None:
    """The seller's new price (``asking_price_cents``) and/or description of an active
    listing."""
    _change_if_active(
        session,
        listing_id,
        changes,
        action="listing.updated",
        after=ACTIVE,
        actor=actor,
        price_before_cents=price_before_cents,
        price_after_cents=changes.get("asking_price_cents", price_before_cents),
    )


def withdraw(session: Session, listing_id: int, *, actor: User, now: datetime) -> None:
    """Cancel an active listing (a status; the row stays as history)."""
    _change_if_active(
        session,
        listing_id,
        {"status": CANCELLED, "cancelled_at": now},
        action="listing.cancelled",
        after=CANCELLED,
        actor=actor,
    )


# --- the expiry sweep ----------------------------------------------------------------------


def lapsed_holds(session: Session, now: datetime) -> list[tuple[int, int | None]]:
    """``(listing id, holder's id)`` of every hold that ran out by ``now``."""
    rows = session.execute(
        select(StubListing.id, StubListing.reserved_by_user_id).where(
            StubListing.status == PENDING, StubListing.reserved_until <= now
        )
    )
    return [(listing_id, holder_id) for listing_id, holder_id in rows]


def release_lapsed_hold(
    session: Session, listing_id: int, *, buyer_id: int | None, now: datetime
) -> bool:
    """Put a listing whose hold ran out back on sale; False if the hold was renewed (or
    released) since :func:`lapsed_holds` saw it."""
    return _swap(
        session,
        listing_id,
        expected=[StubListing.status == PENDING, StubListing.reserved_until <= now],
        values={**_RELEASED, "updated_at": now},
        action="listing.reservation_expired",
        before=PENDING,
        after=ACTIVE,
        buyer_id=buyer_id,
    )
