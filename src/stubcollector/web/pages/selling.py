"""The seller's pages: list a stub for sale, the seller's listings, edit price, cancel.

- ``selling.index`` (``/selling``): the seller's listings in every state, with status tabs
  and 20 a page, and what the seller still needs before buyers can pay them (the
  ``seller_readiness`` macro, linking to ``seller.onboarding`` when that page exists).
- ``selling.choose`` (``/selling/choose``, the "Choose a stub to sell" button): the stubs of
  the collection that can be listed now (``StubQuery(listable=True)``: none on sale,
  reserved or sold; one whose listing was cancelled can go back on sale), 24 a page, each
  leading to its stub page and the "sell this stub" form.
- ``selling.create`` (POST ``/selling/stubs/<id>``): price in dollars and description; the
  errors go next to the price field, "your account cannot take card payments yet"
  included; a new listing opens its marketplace page.
- ``selling.edit`` / ``selling.update`` (``/selling/listings/<id>``) and ``selling.cancel``
  (POST): refused with the service's reason while a buyer is paying; another seller's
  listing is the 403 page.

The "sell this stub" form lives on the stub page (``collection.stub``) and posts here;
a refusal re-renders the stub page with the error next to the price field.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.domain.errors import Conflict, PermissionDenied, ValidationFailed
from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import limiter
from stubcollector.ratelimits import NEW_LISTINGS
from stubcollector.services import onboarding, stubs
from stubcollector.services.marketplace import browsing, selling
from stubcollector.services.marketplace.views import ListingView
from stubcollector.web.current import require_user
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.collection import render_stub_page
from stubcollector.web.pages.forms import show_errors
from stubcollector.web.pages.market_forms import ListingForm
from stubcollector.web.pages.pagination import Pagination

bp = Blueprint("selling", __name__, url_prefix="/selling")

PER_PAGE = 20
CHOOSE_PER_PAGE = 24
STATUS_FILTERS: dict[str, str] = {
    "": "All",
    ListingStatus.ACTIVE.value: "On sale",
    ListingStatus.PAYMENT_PENDING.value: "Reserved",
    ListingStatus.SOLD.value: "Sold",
    ListingStatus.CANCELLED.value: "Cancelled",
}


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    user = require_user()
    status = request.args.get("status", "")
    if status not in STATUS_FILTERS:
        status = ""
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    found = selling.seller_listings(
        user.id, status=status or None, page=page_number, per_page=PER_PAGE
    )
    return render_template(
        "selling/index.html",
        listings=found.listings,
        status=status,
        status_filters=STATUS_FILTERS,
        pagination=Pagination(found.page, found.per_page, found.total),
        selling=onboarding.payment_compatibility(user),
        min_price_cents=selling.selling_terms().min_price_cents,
    )


@bp.get("/choose")
@login_required
def choose() -> ResponseReturnValue:
    user = require_user()
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    found = stubs.list_stubs(
        user, stubs.StubQuery(listable=True, page=page_number, per_page=CHOOSE_PER_PAGE)
    )
    return render_template(
        "selling/choose.html",
        stubs=found.stubs,
        pagination=Pagination(found.page, found.per_page, found.total),
        selling=onboarding.payment_compatibility(user),
    )


@bp.post("/stubs/<int:stub_id>")
@limiter.per_user_budget(NEW_LISTINGS)
@login_required
def create(stub_id: int) -> ResponseReturnValue:
    user = require_user()
    stub = stubs.get_stub(user, stub_id)
    form = ListingForm()
    if form.validate_on_submit():
        try:
            listing = selling.create_listing(
                user,
                stub_id=stub_id,
                asking_price=form.asking_price.data or "",
                description=form.description.data,
            )
        except (ValidationFailed, Conflict) as error:
            show_errors(form, error, fields={"seller": "asking_price"})
        else:
            flash(f"Your stub is on sale for {listing.price_display}.", "success")
            return redirect(url_for("marketplace.listing", listing_id=listing.id))
    return render_stub_page(stub, listing_form=form, status=422)


def _edit_page(listing: ListingView, form: ListingForm, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "selling/edit.html", listing=listing, form=form, terms=selling.selling_terms()
        ),
        status,
    )


def _own_listing(listing_id: int) -> ListingView:
    user = require_user()
    listing = browsing.get_listing(listing_id, viewer_id=user.id)
    if listing.seller_id != user.id:
        raise PermissionDenied("only the seller can change this listing")
    return listing


@bp.get("/listings/<int:listing_id>")
@login_required
def edit(listing_id: int) -> ResponseReturnValue:
    listing = _own_listing(listing_id)
    form = ListingForm(
        formdata=None,
        data={
            "asking_price": listing.asking_price,
            "description": listing.description or "",
        },
    )
    return _edit_page(listing, form)


@bp.post("/listings/<int:listing_id>")
@login_required
def update(listing_id: int) -> ResponseReturnValue:
    listing = _own_listing(listing_id)
    form = ListingForm()
    if form.validate_on_submit():
        try:
            changed = selling.update_listing(
                require_user(),
                listing_id,
                asking_price=form.asking_price.data or "",
                description=form.description.data or "",
            )
        except (ValidationFailed, Conflict) as error:
            show_errors(form, error)
        else:
            flash(f"Saved. The price is now {changed.price_display}.", "success")
            return redirect(url_for("selling.index"))
    return _edit_page(listing, form, status=422)


@bp.post("/listings/<int:listing_id>/cancel")
@login_required
def cancel(listing_id: int) -> ResponseReturnValue:
    try:
        selling.cancel_listing(require_user(), listing_id)
    except Conflict as error:
        flash(f"The listing stays on sale: {error.message}.", "error")
    else:
        flash("The listing is withdrawn. The stub stays in your collection.", "success")
    return redirect(url_for("selling.index"))
