"""What a listing looks like to the people and pages that read it, and the query shape
that reads it.

Every read of listings (browsing, one listing, a seller's own listings) selects
:data:`LISTING_COLUMNS` from the listing joined with its stub and its seller
(:func:`listing_select`) and turns each row into a :class:`ListingView` with
:func:`listing_view`. Reads are shaped for speed because browsing is the busiest page:
plain columns (no ORM objects), timestamps read straight to the API's ISO text
(:class:`IsoTimestamp`), rows turned into results directly. Whether the viewer can buy a
listing (:func:`purchase_status`) is worked out per viewer from the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Row, Select, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import UserDefinedType

from stubcollector.container import settings
from stubcollector.domain.money import cents_to_decimal_string, format_cents
from stubcollector.domain.statuses import ListingStatus
from stubcollector.models import Stub, StubListing, User
from stubcollector.services.accounts import PublicProfile, build_public_profile
from stubcollector.services.marketplace.listing_status import ACTIVE, CANCELLED, PENDING, SOLD

REASON_SOLD = "this listing has been sold"
REASON_CANCELLED = "this listing was withdrawn by the seller"
REASON_RESERVED = "another buyer is paying for this listing; try again later"
REASON_OWN = "this is your listing"
REASON_SELLER_NOT_READY = "seller is not set up to receive payments"
REASON_SELLER_DISCONNECTED = (
    "the seller can no longer be paid (they disconnected their Stripe account from Stub Collector)"
)


def reason_below_minimum(minimum_cents: int) -> str:
    """Why a listing priced under ``LISTING_MIN_PRICE_CENTS`` cannot be bought: it was listed
    before the minimum was raised (the fee floor needs it), and only its seller can fix it."""
    return (
        f"this listing's price is below the {format_cents(minimum_cents)} minimum; "
        "the seller has to raise it before it can be bought"
    )


# --- what a reader sees --------------------------------------------------------------------


@dataclass(frozen=True)
class ListedStub:
    """The stub of a listing, as anyone who may see the listing sees it; fields in the order
    of the API's keys."""

    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    city: str | None
    event_date: date | None
    event_time: str | None  # "HH:MM"
    section: str | None
    row: str | None
    seat: str | None
    face_value_cents: int | None
    face_value_display: str | None
    currency: str | None


@dataclass(frozen=True)
class ListingView:
    """A listing with its stub and seller as one viewer sees it (``GET
    /api/marketplace/listings/<id>``, each listing of a page, the listing pages); fields in
    the order of the API's keys.

    ``status`` is the effective status: a hold that has run out reads as ``active`` (with
    no ``reserved_until``) before the sweep releases it. The four ``*_at`` timestamps stay
    the ISO 8601 text the query produced (:class:`IsoTimestamp`): that text is what the
    API has always written (on SQLite with all six decimals, which ``isoformat`` drops for
    a whole second), and browsing builds no datetime per listing only to format it again.
    Pages read :attr:`listed`.
    """

    id: int
    stub_id: int
    seller_id: int
    seller_name: str
    status: ListingStatus
    asking_price: str  # the API's decimal string, "12.50"
    asking_price_cents: int
    price_display: str
    currency: str
    description: str | None
    listed_at: str
    updated_at: str
    sold_at: str | None
    cancelled_at: str | None
    reserved_until: datetime | None
    reserved_by_you: bool
    can_purchase: bool
    purchase_status_reason: str | None
    stub: ListedStub
    seller: PublicProfile

    @property
    def listed(self) -> datetime:
        """When the listing was put on sale."""
        return datetime.fromisoformat(self.listed_at)


_STATUSES: Final[Mapping[str, ListingStatus]] = {status.value: status for status in ListingStatus}


# --- how a listing is read -----------------------------------------------------------------


class IsoTimestamp(UserDefinedType[str]):
    """Read a UTC timestamp column straight to ISO-8601 text (the API's form).

    Skips building a datetime only to format it again: SQLite stores these columns as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (see ``models.base.UTCDateTime``); PostgreSQL's
    driver returns an aware datetime.
    """

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "TIMESTAMP"

    def result_processor(
        self,
        dialect: Dialect,
        coltype: object,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> Callable[[Any], str | None]:
        if dialect.name == "sqlite":
            return lambda value: None if value is None else f"{value[:10]}T{value[11:]}+00:00"
        return lambda value: None if value is None else value.astimezone(UTC).isoformat()


# Core tables, not ORM entities: listing reads run prebuilt statements and read plain rows
# (ORM statement building and compiling cost more than the query).
LISTINGS = StubListing.__table__
STUBS = Stub.__table__
USERS = User.__table__

# Every column a listing needs, in the order listing_view unpacks them.
LISTING_COLUMNS = (
    LISTINGS.c.id,
    LISTINGS.c.stub_id,
    LISTINGS.c.seller_id,
    LISTINGS.c.asking_price_cents,
    LISTINGS.c.currency,
    LISTINGS.c.description,
    LISTINGS.c.status,
    LISTINGS.c.reserved_by_user_id,
    LISTINGS.c.reserved_until,
    type_coerce(LISTINGS.c.listed_at, IsoTimestamp()).label("listed_at"),
    type_coerce(LISTINGS.c.updated_at, IsoTimestamp()).label("updated_at"),
    type_coerce(LISTINGS.c.sold_at, IsoTimestamp()).label("sold_at"),
    type_coerce(LISTINGS.c.cancelled_at, IsoTimestamp()).label("cancelled_at"),
    STUBS.c.event_name,
    STUBS.c.performer,
    STUBS.c.venue,
    STUBS.c.city,
    STUBS.c.event_date,
    STUBS.c.event_time,
    STUBS.c.section,
    STUBS.c.row,
    STUBS.c.seat,
    STUBS.c.face_value_cents,
    STUBS.c.currency.label("stub_currency"),
    USERS.c.username,
    USERS.c.display_name,
    USERS.c.seller_bio,
    USERS.c.location,
    USERS.c.created_at.label("seller_since"),
    USERS.c.stripe_account_id,
    USERS.c.stripe_charges_enabled,
    USERS.c.stripe_account_deauthorized_at,
)
LISTING_JOINS = LISTINGS.join(STUBS, STUBS.c.id == LISTINGS.c.stub_id).join(
    USERS, USERS.c.id == LISTINGS.c.seller_id
)


def listing_select() -> Select[Any]:
    return select(*LISTING_COLUMNS).select_from(LISTING_JOINS)


def purchase_status(
    *,
    status: str,
    seller_id: int,
    seller_can_take_payments: bool,
    holder_id: int | None,
    viewer_id: int | None,
    price_cents: int | None = None,
    minimum_price_cents: int = 0,
    seller_disconnected: bool = False,
) -> tuple[bool, str | None]:
    """Whether ``viewer_id`` can buy a listing in effective ``status`` now, and why not.

    Anonymous viewers see what a logged-in buyer would see; checkout asks them to log in.
    A price under the minimum is said before "this is your listing", so that its seller
    reads what to do about it.
    ``seller_disconnected``: the seller's account left the platform
    (``account.application.deauthorized``), so nobody can pay them.
    """
    if status == SOLD:
        return False, REASON_SOLD
    if status == CANCELLED:
        return False, REASON_CANCELLED
    if price_cents is not None and price_cents < minimum_price_cents:
        return False, reason_below_minimum(minimum_price_cents)
    if viewer_id is not None and viewer_id == seller_id:
        return False, REASON_OWN
    if status == PENDING and (viewer_id is None or holder_id != viewer_id):
        return False, REASON_RESERVED
    if seller_disconnected:
        return False, REASON_SELLER_DISCONNECTED
    if not seller_can_take_payments:
        return False, REASON_SELLER_NOT_READY
    return True, None


def listing_view(row: Row[Any], viewer_id: int | None, now: datetime) -> ListingView:
    """The listing of ``row`` (read with :data:`LISTING_COLUMNS`) as ``viewer_id`` sees it
    at ``now``."""
    (
        listing_id,
        stub_id,
        seller_id,
        price,
        currency,
        description,
        status,
        holder_id,
        reserved_until,
        listed_at,
        updated_at,
        sold_at,
        cancelled_at,
        event_name,
        performer,
        venue,
        city,
        event_date,
        event_time,
        section,
        row_name,
        seat,
        face_value,
        stub_currency,
        username,
        display_name,
        bio,
        location,
        seller_since,
        account_id,
        charges_enabled,
        deauthorized_at,
    ) = row
    if status == PENDING and reserved_until is not None and reserved_until <= now:
        # An expired hold reads as active before any sweep runs.
        status, holder_id, reserved_until = ACTIVE, None, None
    seller_ready = bool(account_id and charges_enabled and deauthorized_at is None)
    can_purchase, reason = purchase_status(
        status=status,
        seller_id=seller_id,
        seller_can_take_payments=seller_ready,
        holder_id=holder_id,
        viewer_id=viewer_id,
        price_cents=price,
        minimum_price_cents=settings().listing_min_price_cents,
        seller_disconnected=deauthorized_at is not None,
    )
    return ListingView(
        id=listing_id,
        stub_id=stub_id,
        seller_id=seller_id,
        seller_name=username,
        status=_STATUSES[status],
        asking_price=cents_to_decimal_string(price),
        asking_price_cents=price,
        price_display=format_cents(price, currency),
        currency=currency,
        description=description,
        listed_at=listed_at,
        updated_at=updated_at,
        sold_at=sold_at,
        cancelled_at=cancelled_at,
        reserved_until=reserved_until,
        reserved_by_you=viewer_id is not None and holder_id == viewer_id,
        can_purchase=can_purchase,
        purchase_status_reason=reason,
        stub=ListedStub(
            id=stub_id,
            event_name=event_name,
            performer=performer,
            venue=venue,
            city=city,
            event_date=event_date,
            event_time=event_time,
            section=section,
            row=row_name,
            seat=seat,
            face_value_cents=face_value,
            # In the currency printed on the stub; none shown when nobody knows it.
            face_value_display=(
                None if face_value is None else format_cents(face_value, stub_currency)
            ),
            currency=stub_currency,
        ),
        seller=build_public_profile(
            user_id=seller_id,
            username=username,
            display_name=display_name,
            bio=bio,
            location=location,
            member_since=seller_since,
            can_sell=seller_ready,
        ),
    )


@dataclass(frozen=True)
class ListingPage:
    """One page of listings (browse, a seller's own); fields in the order of the API's keys."""

    listings: tuple[ListingView, ...]
    page: int
    per_page: int
    total: int
    has_next: bool
    next_cursor: str | None = None
