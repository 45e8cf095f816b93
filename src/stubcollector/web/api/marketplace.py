"""Marketplace: /api/marketplace/listings (browse, list, edit, cancel), overview pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from pydantic import Field, WithJsonSchema, model_validator

from stubcollector.extensions import limiter
from stubcollector.ratelimits import NEW_LISTINGS
from stubcollector.services import onboarding
from stubcollector.services.marketplace import browsing, selling
from stubcollector.services.marketplace.views import ListingPage
from stubcollector.services.orders import views
from stubcollector.web.api.users import PublicUser
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.current import optional_user, require_user
from stubcollector.web.json import to_json
from stubcollector.web.schemas import QueryModel, RequestModel, ResponseModel, SuccessEnvelope

bp = Blueprint("api_marketplace", __name__, url_prefix="/api/marketplace")

# Checked by domain.money.parse_price_cents (one message per rule, naming the field), not by
# a pydantic union whose errors would name its branches.
Price = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": (
                "US dollars as a decimal string or number with at most two decimals, "
                "from 0.50 to 100000.00; stored as integer cents"
            ),
            "examples": ["12.50"],
        }
    ),
]
SortName = Literal["newest", "price_asc", "price_desc", "event_date", "event_date_desc"]


class _MarketQuery(QueryModel):
    @model_validator(mode="before")
    @classmethod
    def blank_means_absent(cls, data: Any) -> Any:
        # Search forms send empty fields (?venue=&q=pearl); an empty value is no filter.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value not in ("", None)}
        return data


class BrowseQuery(_MarketQuery):
    q: str | None = Field(
        default=None,
        max_length=200,
        description="Words to find in event, performer, venue or city (all must match)",
    )
    min_price: str | None = Field(default=None, max_length=20, examples=["5.00"])
    max_price: str | None = Field(default=None, max_length=20, examples=["50"])
    date_from: date | None = Field(default=None, description="Earliest event date")
    date_to: date | None = Field(default=None, description="Latest event date")
    venue: str | None = Field(default=None, max_length=200, description="Part of the venue")
    seller_id: int | None = Field(default=None, ge=1)
    seller: str | None = Field(default=None, max_length=64, description="Seller's username")
    sort: SortName = "newest"
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=browsing.DEFAULT_PER_PAGE, ge=1, le=browsing.MAX_PER_PAGE)
    cursor: str | None = Field(
        default=None,
        max_length=300,
        description="next_cursor of the previous page (newest and price sorts); replaces page",
    )


class MyListingsQuery(_MarketQuery):
    status: Literal["active", "payment_pending", "sold", "cancelled"] | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=browsing.DEFAULT_PER_PAGE, ge=1, le=browsing.MAX_PER_PAGE)


class MyOrdersQuery(_MarketQuery):
    role: Literal["all", "purchases", "sales"] = "all"
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=browsing.DEFAULT_PER_PAGE, ge=1, le=browsing.MAX_PER_PAGE)


class CreateListingRequest(RequestModel):
    stub_id: int = Field(ge=1)
    asking_price: Price
    description: str | None = Field(default=None, max_length=2000)


class UpdateListingRequest(RequestModel):
    asking_price: Price = None
    description: str | None = Field(default=None, max_length=2000)


class ListingStub(ResponseModel):
    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    city: str | None
    event_date: str | None
    event_time: str | None
    section: str | None
    row: str | None
    seat: str | None
    face_value_cents: int | None
    face_value_display: str | None
    currency: str | None


class Listing(ResponseModel):
    id: int
    stub_id: int
    seller_id: int
    seller_name: str
    status: Literal["active", "payment_pending", "sold", "cancelled"] = Field(
        description="Effective status: a reservation that has expired reads as active"
    )
    asking_price: str = Field(examples=["12.50"])
    asking_price_cents: int
    price_display: str = Field(examples=["$12.50"])
    currency: str
    description: str | None
    listed_at: str
    updated_at: str
    sold_at: str | None
    cancelled_at: str | None
    reserved_until: str | None
    reserved_by_you: bool
    can_purchase: bool
    purchase_status_reason: str | None
    stub: ListingStub
    seller: PublicUser


class ListingEnvelope(SuccessEnvelope):
    listing: Listing


class ListingPageEnvelope(SuccessEnvelope):
    listings: list[Listing]
    page: int
    per_page: int
    total: int = Field(
        description="Matching listings; may lag a few seconds behind on busy searches, "
        "exact whenever has_next is false"
    )
    has_next: bool
    next_cursor: str | None = Field(
        default=None,
        description="Pass as cursor= (same filters and sort) for the next page without OFFSET",
    )


class Counterpart(ResponseModel):
    id: int
    username: str
    display_name: str


class OrderStub(ResponseModel):
    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    event_date: str | None


class OrderSummary(ResponseModel):
    id: int
    role: Literal["buyer", "seller"]
    order_status: str
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
    created_at: str
    updated_at: str
    payment_confirmed_at: str | None
    completed_at: str | None
    cancelled_at: str | None
    refunded_at: str | None
    refund_state: Literal["pending", "failed"] | None = Field(
        description="pending: a refund is on its way; failed: the last refund did not go "
        "through (the money is still the seller's)"
    )
    amount_refunded_cents: int = Field(description="Refunds the provider confirmed")
    seller_receives_cents: int | None = Field(
        description="Sales only: what the seller gets as things stand (after the platform "
        "fee, Stripe's fee where the seller pays it, refunds made or on their way, dispute "
        "withdrawals and their fees where the seller's account carries losses; 0 for a "
        "refunded sale); null for purchases and unpaid orders"
    )
    seller_receives_display: str | None
    expected_payout_date: str | None = Field(
        description="Sales only: when the payout is due (ISO 8601 date); null when no payout "
        "is to come (unpaid, refunded, disputed)"
    )


class OrdersEnvelope(SuccessEnvelope):
    orders: list[OrderSummary]
    page: int
    per_page: int
    total: int


class PaymentCompatibility(ResponseModel):
    can_buy: bool
    can_sell: bool
    missing: list[str] = Field(description="What the user must still do before selling")
    stripe_account_id: str | None
    stripe_account_status: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]
    disabled_reason: str | None


class CompatibilityEnvelope(SuccessEnvelope):
    payment_compatibility: PaymentCompatibility


def ok(status_code: int = 200, **payload: Any) -> Response:
    """The success envelope, encoded with orjson: the browse page's JSON is ~24 KB, and the
    standard encoder took a quarter of the request's own time (docs/PERFORMANCE.md)."""
    body = orjson.dumps({"status": "success", **payload})
    return Response(body, status=status_code, mimetype="application/json")


def _viewer_id() -> int | None:
    user = optional_user()
    return None if user is None else user.id


def _page_response(result: ListingPage) -> ResponseReturnValue:
    return ok(
        listings=result.listings,
        page=result.page,
        per_page=result.per_page,
        total=result.total,
        has_next=result.has_next,
        next_cursor=result.next_cursor,
    )


@bp.get("/listings")
@api_endpoint(
    summary="Browse and search listings on sale",
    description=(
        "Listings that can be reserved now (active, or with an expired hold), with the stub "
        "and the seller. Text search matches every word in event, performer, venue or city."
    ),
    tags=["marketplace"],
    query=BrowseQuery,
    responses={200: ListingPageEnvelope},
)
def browse(query: BrowseQuery) -> ResponseReturnValue:
    filters = browsing.listing_filters(
        q=query.q,
        min_price=query.min_price,
        max_price=query.max_price,
        date_from=query.date_from,
        date_to=query.date_to,
        venue=query.venue,
        seller_id=query.seller_id,
        seller=query.seller,
        sort=query.sort,
    )
    result = browsing.browse(
        filters,
        page=query.page,
        per_page=query.per_page,
        viewer_id=_viewer_id(),
        cursor=query.cursor,
    )
    return _page_response(result)


@bp.post("/listings")
@limiter.per_user_budget(NEW_LISTINGS)
@api_endpoint(
    summary="List a stub from your collection for sale",
    description=(
        "Needs a connected account that can take charges (409 naming what is missing "
        "otherwise). One live listing per stub (409)."
    ),
    tags=["marketplace"],
    auth=True,
    body=CreateListingRequest,
    responses={201: ListingEnvelope},
)
def create_listing(body: CreateListingRequest) -> ResponseReturnValue:
    listing = selling.create_listing(
        require_user(),
        stub_id=body.stub_id,
        asking_price=body.asking_price,
        description=body.description,
    )
    return ok(201, message="listing created", listing=listing)


@bp.get("/listings/<int:listing_id>")
@api_endpoint(
    summary="One listing in any status",
    tags=["marketplace"],
    responses={200: ListingEnvelope},
)
def get_listing(listing_id: int) -> ResponseReturnValue:
    return ok(listing=browsing.get_listing(listing_id, viewer_id=_viewer_id()))


@bp.patch("/listings/<int:listing_id>")
@api_endpoint(
    summary="Change the price or description of your listing",
    description="Only while it is active: not while a buyer holds it, nor once sold.",
    tags=["marketplace"],
    auth=True,
    body=UpdateListingRequest,
    responses={200: ListingEnvelope},
)
def update_listing(listing_id: int, body: UpdateListingRequest) -> ResponseReturnValue:
    changes: dict[str, Any] = {
        name: getattr(body, name)
        for name in ("asking_price", "description")
        if name in body.model_fields_set
    }
    listing = selling.update_listing(require_user(), listing_id, **changes)
    return ok(message="listing updated", listing=listing)


@bp.delete("/listings/<int:listing_id>")
@api_endpoint(
    summary="Withdraw your listing (kept as cancelled)",
    description="Only while it is active: not while a buyer holds it, nor once sold.",
    tags=["marketplace"],
    auth=True,
    responses={200: ListingEnvelope},
)
def cancel_listing(listing_id: int) -> ResponseReturnValue:
    listing = selling.cancel_listing(require_user(), listing_id)
    return ok(message="listing cancelled", listing=listing)


@bp.get("/my-listings")
@api_endpoint(
    summary="Your own listings in every state",
    tags=["marketplace"],
    auth=True,
    query=MyListingsQuery,
    responses={200: ListingPageEnvelope},
)
def my_listings(query: MyListingsQuery) -> ResponseReturnValue:
    user = require_user()
    result = selling.seller_listings(
        user.id, status=query.status, page=query.page, per_page=query.per_page
    )
    return _page_response(result)


@bp.get("/my-orders")
@api_endpoint(
    summary="Your purchases and sales with status and amounts",
    tags=["marketplace"],
    auth=True,
    query=MyOrdersQuery,
    responses={200: OrdersEnvelope},
)
def my_orders(query: MyOrdersQuery) -> ResponseReturnValue:
    user = require_user()
    result = views.my_orders(user.id, role=query.role, page=query.page, per_page=query.per_page)
    # Written by to_json (ISO datetimes as the order API writes them), not by orjson's own.
    return ok(**to_json(result))


@bp.get("/payment-compatibility")
@api_endpoint(
    summary="Whether you can buy and sell now, and what is missing",
    tags=["marketplace"],
    auth=True,
    responses={200: CompatibilityEnvelope},
)
def payment_compatibility() -> ResponseReturnValue:
    return ok(payment_compatibility=onboarding.payment_compatibility(require_user()))
