"""What the start page and public profiles show of the marketplace.

Pages render listings as :class:`ListingCard` (the ``listing_card`` macro in
``templates/macros/ui.html``), so the template does not depend on how the marketplace
service shapes its results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask import url_for

from stubcollector.services.marketplace import browsing
from stubcollector.services.marketplace.views import ListingView


@dataclass(frozen=True)
class ListingCard:
    """One listing as a card: what a browsing buyer needs to decide to click."""

    url: str
    title: str
    price_cents: int
    performer: str | None = None
    venue: str | None = None
    event_date: date | None = None
    thumbnail_url: str | None = None
    seller_name: str | None = None
    status: str = "active"


def card_for(listing: ListingView) -> ListingCard:
    """A marketplace listing as a card."""
    stub = listing.stub
    return ListingCard(
        url=url_for("marketplace.listing", listing_id=listing.id),
        title=stub.event_name or stub.performer or "Ticket stub",
        price_cents=listing.asking_price_cents,
        performer=stub.performer if stub.event_name else None,
        venue=stub.venue,
        event_date=stub.event_date,
        thumbnail_url=url_for("stubs.thumbnail", stub_id=listing.stub_id),
        seller_name=listing.seller.display_name,
        status=listing.status,
    )


def recent_listings(*, limit: int) -> Sequence[ListingCard]:
    """The newest listings on sale, newest first (the marketplace decides what is on sale)."""
    found = browsing.browse(browsing.listing_filters(), per_page=limit)
    return [card_for(listing) for listing in found.listings]


def seller_listings(seller_id: int, *, limit: int) -> Sequence[ListingCard]:
    """A seller's listings on sale, newest first, for their public profile."""
    found = browsing.browse(browsing.listing_filters(seller_id=seller_id), per_page=limit)
    return [card_for(listing) for listing in found.listings]
