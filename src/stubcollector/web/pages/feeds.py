"""What the start page shows, behind functions the marketplace can later fill in.

Pages render listings as :class:`ListingCard` (the ``listing_card`` macro in
``templates/macros/ui.html``), so the template does not depend on how the marketplace
service shapes its results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


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


def recent_listings(*, limit: int) -> Sequence[ListingCard]:
    """The newest listings on sale, newest first.

    The marketplace service owns the rules for what is on sale (expired reservations,
    sellers who cannot take charges); until it is wired in here the start page shows its
    empty state rather than querying listing tables itself.
    """
    del limit
    return ()


def seller_listings(seller_id: int, *, limit: int) -> Sequence[ListingCard]:
    """A seller's listings on sale, for their public profile (the marketplace fills it in)."""
    del seller_id, limit
    return ()
