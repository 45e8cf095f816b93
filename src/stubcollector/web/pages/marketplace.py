"""The public marketplace: browse and search listings, one listing with its seller.

- ``marketplace.index`` (``/marketplace``): a search box; filters (price range in dollars,
  event dates, venue, seller), sort and pages (24 a page) over the marketplace's browse;
  invalid filters answer 422 with the errors next to the fields. Listings are cards
  (``feeds.card_for``, ``macros/ui.html``'s ``listing_card`` with ``show_seller=true``).
- ``marketplace.listing`` (``/marketplace/listings/<id>``): photo, event facts, price, the
  seller's public profile (stats, verified badge; a deactivated seller's past listing shows
  the listing's own summary) and whether the viewer can buy it, or why not.

"Buy now" posts (with its CSRF token) to ``checkout.start``; without that endpoint the
listing page says checkout opens soon rather than linking nowhere. A missing listing is the
404 error page, never JSON.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from stubcollector.domain.errors import NotFound, ValidationFailed
from stubcollector.services import accounts
from stubcollector.services.marketplace import browsing
from stubcollector.web.current import optional_user
from stubcollector.web.pages.feeds import card_for
from stubcollector.web.pages.forms import show_errors
from stubcollector.web.pages.market_forms import MarketFilterForm
from stubcollector.web.pages.pagination import Pagination

bp = Blueprint("marketplace", __name__, url_prefix="/marketplace")

PER_PAGE = 24
FILTER_FIELDS = ("min_price", "max_price", "date_from", "date_to", "venue", "seller")


@bp.get("")
def index() -> ResponseReturnValue:
    viewer = optional_user()
    form = MarketFilterForm(formdata=request.args)
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    cards = []
    pagination = Pagination(1, PER_PAGE, 0)
    if form.validate():
        try:
            filters = browsing.listing_filters(
                q=form.q.data or None,
                min_price=(form.min_price.data or "").strip().lstrip("$") or None,
                max_price=(form.max_price.data or "").strip().lstrip("$") or None,
                date_from=form.date_from.data,
                date_to=form.date_to.data,
                venue=(form.venue.data or "").strip() or None,
                seller=(form.seller.data or "").strip().lstrip("@") or None,
                sort=form.sort.data or "newest",
            )
        except ValidationFailed as error:
            show_errors(form, error)
        else:
            found = browsing.browse(
                filters,
                page=page_number,
                per_page=PER_PAGE,
                viewer_id=viewer.id if viewer else None,
            )
            cards = [card_for(listing) for listing in found.listings]
            pagination = Pagination(found.page, found.per_page, found.total)
    searching = any(request.args.get(name) for name in ("q", *FILTER_FIELDS))
    filters_open = any(request.args.get(name) for name in FILTER_FIELDS) or bool(form.errors)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "marketplace/index.html",
        form=form,
        cards=cards,
        pagination=pagination,
        searching=searching,
        filters_open=filters_open,
    ), status


@bp.get("/listings/<int:listing_id>")
def listing(listing_id: int) -> ResponseReturnValue:
    viewer = optional_user()
    found = browsing.get_listing(listing_id, viewer_id=viewer.id if viewer else None)
    seller: accounts.PublicProfile
    try:
        seller = accounts.public_profile(found.seller_id)
    except NotFound:
        # A deactivated seller's past listing: the listing's own summary, without stats.
        seller = found.seller
    return render_template(
        "marketplace/listing.html",
        listing=found,
        stub=found.stub,
        seller=seller,
        is_seller=viewer is not None and viewer.id == found.seller_id,
    )
