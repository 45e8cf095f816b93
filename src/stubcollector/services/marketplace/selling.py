"""Selling: a seller lists a stub, changes its price or description, withdraws it, and sees
their own listings.

Writes own their transaction. The one-live-listing-per-stub rule is decided by the
database (a partial unique index), and "cannot change a listing under a buyer" by a
conditional ``UPDATE`` (``listing_status.change_terms`` / ``withdraw``), not by a
check-then-write. After a write this process forgets its cached browse totals, so the
seller sees their change counted at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.container import settings
from stubcollector.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from stubcollector.domain.money import FeeSplit, parse_price_cents
from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, User, utcnow
from stubcollector.services import audit, checkout
from stubcollector.services.marketplace import listing_status
from stubcollector.services.marketplace.browsing import DEFAULT_PER_PAGE, get_listing, totals
from stubcollector.services.marketplace.listing_status import ACTIVE, CANCELLED, PENDING, SOLD
from stubcollector.services.marketplace.views import (
    LISTINGS,
    ListingPage,
    ListingView,
    listing_select,
    listing_view,
)
from stubcollector.services.onboarding import seller_readiness_problems
from stubcollector.services.transaction import transaction

# --- what a seller keeps --------------------------------------------------------------------


@dataclass(frozen=True)
class SellingTerms:
    """The fee rule a seller lists under, as the listing forms show it before listing
    (PRODUCT.md, "Fee floor"): the platform keeps ``fee_percent`` of the item price, at least
    ``fee_minimum_cents``; prices start at ``min_price_cents``. When the seller's account
    pays Stripe's processing fee itself (``STRIPE_ACCOUNT_LIABILITY=stripe``), Stripe takes it
    from their balance on top."""

    fee_basis_points: int
    fee_percent: str
    fee_minimum_cents: int
    min_price_cents: int
    seller_pays_processing_fee: bool

    def split(self, price_cents: int) -> FeeSplit:
        """What a sale at ``price_cents`` gives the platform and the seller."""
        return FeeSplit.for_total(price_cents, settings().stripe_platform_fee)

    def preview(self, raw_price: object) -> FeeSplit | None:
        """The split for a price as typed in a form, or None while it is not a valid price."""
        if not isinstance(raw_price, str) or not raw_price.strip():
            return None
        try:
            return self.split(_asking_price(raw_price))
        except ValidationFailed:
            return None


def selling_terms() -> SellingTerms:
    config = settings()
    rate = config.stripe_platform_fee
    return SellingTerms(
        fee_basis_points=rate.basis_points,
        fee_percent=rate.percent_text,
        fee_minimum_cents=rate.minimum_cents,
        min_price_cents=config.listing_min_price_cents,
        seller_pays_processing_fee=config.stripe_account_liability == "stripe",
    )


# --- the seller's own listings -------------------------------------------------------------


def seller_listings(
    seller_id: int, *, status: str | None = None, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> ListingPage:
    """A seller's own listings in every state (newest first), optionally one state."""
    now = utcnow()
    conditions: list[ColumnElement[bool]] = [LISTINGS.c.seller_id == seller_id]
    if status == ACTIVE:
        conditions.append(listing_status.live_listing_filter())
    elif status == PENDING:
        conditions += [StubListing.status == PENDING, StubListing.reserved_until > now]
    elif status is not None:
        conditions.append(StubListing.status == status)
    offset = (page - 1) * per_page
    rows = list(
        db.session.execute(
            listing_select()
            .where(*conditions)
            .order_by(LISTINGS.c.listed_at.desc(), LISTINGS.c.id.desc())
            .limit(per_page + 1)
            .offset(offset)
        )
    )
    has_next = len(rows) > per_page
    del rows[per_page:]
    if not has_next and (rows or page == 1):
        total = offset + len(rows)
    else:
        # Private and per seller: an exact count over the seller's index is cheap.
        total = int(
            db.session.scalar(select(func.count()).select_from(StubListing).where(*conditions)) or 0
        )
    return ListingPage(
        listings=tuple(listing_view(row, seller_id, now) for row in rows),
        page=page,
        per_page=per_page,
        total=total,
        has_next=has_next,
    )


def stub_listing(seller_id: int, stub_id: int) -> ListingView | None:
    """The stub's live listing (on sale, reserved or sold), for its owner's stub page.

    ``None`` when the stub is not on the marketplace (never listed, or cancelled since).
    """
    row = db.session.execute(
        listing_select()
        .where(
            LISTINGS.c.stub_id == stub_id,
            LISTINGS.c.seller_id == seller_id,
            LISTINGS.c.status.in_([ACTIVE, PENDING, SOLD]),
        )
        .order_by(LISTINGS.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else listing_view(row, seller_id, utcnow())


# --- listing, changing, withdrawing --------------------------------------------------------


def create_listing(
    seller: User, *, stub_id: int, asking_price: object, description: str | None = None
) -> ListingView:
    """List a stub from ``seller``'s collection. One live listing per stub.

    A seller whose connected account cannot take charges is refused with ``Conflict``
    (409) naming what is missing: a buyer could not pay for the listing anyway.
    """
    price = _asking_price(asking_price)
    with transaction() as session:
        stub = session.get(Stub, stub_id)
        if stub is None:
            raise NotFound("stub not found")
        if stub.owner_id != seller.id:
            # A private stub does not exist for anyone but its owner (as in the collection
            # API); only one that is on the market anyway may be called "not yours".
            on_market = session.scalar(
                select(StubListing.id)
                .where(StubListing.stub_id == stub_id, StubListing.status.in_([ACTIVE, PENDING]))
                .limit(1)
            )
            if on_market is None:
                raise NotFound("stub not found")
            raise PermissionDenied("you can only list stubs from your own collection")
        if not seller.can_accept_payments:
            problems = "; ".join(seller_readiness_problems(seller))
            raise Conflict(
                f"your account cannot take card payments yet: {problems}", field="seller"
            )
        existing = session.scalar(
            select(StubListing.id).where(
                StubListing.stub_id == stub_id,
                StubListing.status.in_([ACTIVE, PENDING, SOLD]),
            )
        )
        if existing is not None:
            raise _already_listed(existing)
        listing = StubListing(
            stub_id=stub_id,
            seller_id=seller.id,
            asking_price_cents=price,
            description=(description or "").strip() or None,
        )
        session.add(listing)
        try:
            session.flush()
        except IntegrityError:
            # Two requests listing the same stub at once: the partial unique index decided.
            raise _already_listed(None) from None
        audit.record(
            session,
            action="listing.created",
            object_type="listing",
            object_id=listing.id,
            actor=seller,
            after=ACTIVE,
            price_cents=price,
            stub_id=stub_id,
        )
        listing_id = listing.id
    totals.clear()
    return get_listing(listing_id, viewer_id=seller.id)


def _asking_price(raw: object) -> int:
    """The price in cents, at least ``LISTING_MIN_PRICE_CENTS`` (the fee floor needs it)."""
    return parse_price_cents(raw, field="asking_price", minimum=settings().listing_min_price_cents)


def _already_listed(listing_id: int | None) -> Conflict:
    which = f" (listing {listing_id})" if listing_id is not None else ""
    return Conflict(f"this stub is already listed{which}", field="stub_id")


_UNCHANGED: Final = object()


def update_listing(
    user: User,
    listing_id: int,
    *,
    asking_price: object = _UNCHANGED,
    description: object = _UNCHANGED,
) -> ListingView:
    """Change price or description; only the seller, and only while nobody is buying it."""
    changes: dict[str, Any] = {}
    if asking_price is not _UNCHANGED:
        changes["asking_price_cents"] = _asking_price(asking_price)
    if description is not _UNCHANGED:
        changes["description"] = (
            description.strip() or None if isinstance(description, str) else None
        )
    if not changes:
        raise ValidationFailed("body", "change at least one of asking_price, description")
    listing = _listing_for_change(user, listing_id, admin_may=False)
    before_price = listing.asking_price_cents
    _ensure_changeable(listing, "edited")
    with transaction() as session:
        listing_status.change_terms(
            session, listing_id, changes, actor=user, price_before_cents=before_price
        )
    totals.clear()
    return get_listing(listing_id, viewer_id=user.id)


def cancel_listing(user: User, listing_id: int) -> ListingView:
    """Withdraw a listing (a status; the row stays). Cancelling twice is harmless."""
    listing = _listing_for_change(user, listing_id, admin_may=True)
    if listing.status == CANCELLED:
        return get_listing(listing_id, viewer_id=user.id)
    _ensure_changeable(listing, "cancelled")
    now = utcnow()
    with transaction() as session:
        listing_status.withdraw(session, listing_id, actor=user, now=now)
        if user.id != listing.seller_id:
            # Moderation: an admin withdrew someone else's listing.
            audit.record_admin_action(
                session,
                admin=user,
                action="listing_cancelled",
                object_type="listing",
                object_id=listing_id,
                before=ACTIVE,
                after=CANCELLED,
                seller_id=listing.seller_id,
            )
    totals.clear()
    return get_listing(listing_id, viewer_id=user.id)


def _listing_for_change(user: User, listing_id: int, *, admin_may: bool) -> StubListing:
    listing = db.session.get(StubListing, listing_id, populate_existing=True)
    if listing is None:
        raise NotFound("listing not found")
    if listing.seller_id != user.id and not (admin_may and user.is_admin):
        raise PermissionDenied("only the seller can change this listing")
    if listing_status.is_reservation_expired(listing):
        # Release the lapsed hold (and cancel its unpaid order) the way the sweep does, so
        # that whatever the sweep does for such orders happens here too.
        checkout.release_expired()
        db.session.refresh(listing)
    return listing


def _ensure_changeable(listing: StubListing, verb: str) -> None:
    status = listing_status.effective_status(listing)
    if status is ListingStatus.PAYMENT_PENDING:
        raise Conflict(
            f"a buyer is paying for this listing; it cannot be {verb} until the reservation ends"
        )
    if status is ListingStatus.SOLD:
        raise Conflict(f"this listing has been sold and cannot be {verb}")
    if status is ListingStatus.CANCELLED:
        raise Conflict(f"this listing was cancelled and cannot be {verb}; list the stub again")
