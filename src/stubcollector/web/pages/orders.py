"""The buyer's and seller's orders: the list (purchases and sales) and one order.

The order page is the same for its buyer, its seller and admins; what each sees differs
(the fee split and payout date are the seller's business, provider ids an admin's). Buyer
actions (confirm receipt, ask for a refund) go through ``services.orders``, which decides
whether they are allowed. A party who may not take the action at all (the seller
confirming receipt) gets the 403 error page; an action the order's state refuses (already
completed, a refund under way) comes back as a message on the order page. To anyone else
every order route answers as if the order did not exist (404).

- ``orders.index`` (``?tab=purchases|sales|unpaid&page=``): the user's orders from
  ``services.orders.views.my_orders``, 20 a page: purchases; sales the buyer paid (with
  what the seller gets from each and its payout date, none for a refunded or disputed
  one); and, apart from them, "Unpaid checkouts" of the user's stubs (declined, abandoned,
  still on their way: nothing reached their balance). Without ``tab`` the page opens on
  the tab with the newest order (:func:`default_tab`), so a seller who never bought sees
  their sales; each tab shows its count (``views.order_counts``).
- ``orders.detail``: ``services.orders.views.get_order``. Status badge and message, amounts;
  the fee, seller amount, payout hold and expected payout date for the seller and admins;
  for admins the provider's ids, every refund attempt and a "Refund in full" (or, after a
  failed refund, "Retry the refund") button posting to ``admin.refund``. A refund on its
  way or failed is a second badge ("Refund pending" / "Refund failed",
  ``data-refund-state``) and an alert with the provider's reason in words
  (``templating.REFUND_FAILURES``). While the order is ``pending`` or
  ``payment_processing``, or a refund is pending, ``static/orders.js`` polls
  ``GET /api/payments/orders/<id>`` and reloads when the status (or ``refund_state``)
  changes. After a decline the buyer gets "Try again with another card" (a new
  ``checkout.start``; the failed order is superseded) while the listing is still on sale.
- ``orders.confirm_receipt`` and ``orders.refund`` (POST) call
  ``services.orders.payments.complete_order`` and ``services.orders.refunds.request_refund``;
  :func:`refund_outcome` words the result, since the provider may settle a refund later.
  ``PermissionDenied`` (the seller or an admin confirming receipt, the seller asking for a
  refund, the buyer refunding a completed order or retrying a failed refund) is the 403
  page (``errors.error_page``) with a link back; ``REFUSED_FOR_NOW`` errors are flashed.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.adapters.payments.ports import PaymentError
from stubcollector.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from stubcollector.domain.seller_money import SALE_STATUSES
from stubcollector.domain.statuses import ListingStatus, OrderStatus, PaymentStatus
from stubcollector.services.marketplace import browsing
from stubcollector.services.marketplace.views import ListingView
from stubcollector.services.orders import payments, refunds, views
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.errors import error_page
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.navigation import optional_url
from stubcollector.web.pages.templating import refund_failure

bp = Blueprint("orders", __name__, url_prefix="/orders")

TABS = ("purchases", "sales", "unpaid")
PER_PAGE = 20
# While the provider has not told us the outcome, the page asks again (static/orders.js).
AWAITING_PAYMENT = (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING)
# Refusals that say "not now" (the order's state, an unreachable provider) come back as a
# message on the order page, where the party sees what changed. ``PermissionDenied`` says
# "never yours to do": the 403 page, as the API answers. ``NotFound`` (a missing order, or
# one of other people) is the 404 page.
REFUSED_FOR_NOW = (Conflict, PaymentError, ServiceUnavailable)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def default_tab(counts: views.OrderCounts) -> str:
    """The tab that has something in it: of purchases and sales, the one with the newest
    order; unpaid checkouts only when there is nothing else; purchases for a new user."""
    if counts.latest_sale_at is not None and (
        counts.latest_purchase_at is None or counts.latest_sale_at >= counts.latest_purchase_at
    ):
        return "sales"
    if counts.purchases:
        return "purchases"
    return "unpaid" if counts.unpaid_checkouts else "purchases"


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    user = require_user()
    counts = views.order_counts(user.id)
    tab = request.args.get("tab", "")
    if tab not in TABS:
        tab = default_tab(counts)
    role, paid = {
        "purchases": ("purchases", None),
        "sales": ("sales", True),
        "unpaid": ("sales", False),
    }[tab]
    found = views.my_orders(user.id, role=role, paid=paid, page=_page_number(), per_page=PER_PAGE)
    return render_template("orders/index.html", tab=tab, found=found, counts=counts)


def listing_of(listing_id: int, viewer_id: int) -> ListingView | None:
    try:
        return browsing.get_listing(listing_id, viewer_id=viewer_id)
    except NotFound:
        return None


def stub_title(listing: ListingView | None) -> str | None:
    """How an order names its stub: the event, else the performer."""
    if listing is None:
        return None
    return listing.stub.event_name or listing.stub.performer


@bp.get("/<int:order_id>")
@login_required
def detail(order_id: int) -> ResponseReturnValue:
    user = require_user()
    order = views.get_order(user, order_id)
    role = (
        "buyer"
        if order.buyer_id == user.id
        else "seller"
        if order.seller_id == user.id
        else "admin"
    )
    awaiting = order.order_status in AWAITING_PAYMENT
    # While the provider has not settled a refund, the page waits for it the same way.
    poll = awaiting or order.refund_state == "pending"
    listing = listing_of(order.listing_id, user.id)
    return render_template(
        "orders/detail.html",
        order=order,
        role=role,
        paid=order.payment_confirmed_at is not None,
        orders_tab="purchases"
        if role == "buyer"
        else "sales"
        if order.order_status in SALE_STATUSES
        else "unpaid",
        is_admin=user.is_admin,
        listing=listing,
        listing_title=stub_title(listing),
        awaiting=awaiting,
        poll_url=url_for("api_payments.get_order", order_id=order_id) if poll else None,
        poll_status=order.order_status.value
        + (f"/{order.refund_state}" if order.refund_state else ""),
        listing_url=optional_url("marketplace.listing", listing_id=order.listing_id),
        can_confirm=role == "buyer"
        and order.order_status is OrderStatus.PAYMENT_COMPLETED
        and order.refund_state != "pending",
        can_ask_refund=role == "buyer"
        and order.order_status is OrderStatus.PAYMENT_COMPLETED
        and order.payment_status is PaymentStatus.SUCCEEDED
        and order.refund_state is None,
        # After a failed refund the money is still the seller's: an admin tries again.
        can_retry_refund=user.is_admin and order.refund_state == "failed",
        can_retry=role == "buyer"
        and order.order_status is OrderStatus.PAYMENT_FAILED
        and order.listing_status is ListingStatus.ACTIVE,
    )


def _forbidden(order_id: int, error: PermissionDenied) -> ResponseReturnValue:
    return error_page(
        error,
        title="You can't do that on this order",
        back_url=url_for("orders.detail", order_id=order_id),
        back_label="Back to the order",
    )


def _refused(order_id: int, error: DomainError) -> ResponseReturnValue:
    message = error.message
    flash(message[:1].upper() + message[1:], "error")
    return redirect(url_for("orders.detail", order_id=order_id), code=303)


@bp.post("/<int:order_id>/confirm-receipt")
@login_required
def confirm_receipt(order_id: int) -> ResponseReturnValue:
    try:
        payments.complete_order(require_user(), order_id, client_ip())
    except PermissionDenied as error:
        return _forbidden(order_id, error)
    except REFUSED_FOR_NOW as error:
        return _refused(order_id, error)
    flash("Thanks! You confirmed that the stub arrived; the order is complete.", "success")
    return redirect(url_for("orders.detail", order_id=order_id), code=303)


@bp.post("/<int:order_id>/refund")
@login_required
def refund(order_id: int) -> ResponseReturnValue:
    reason = (request.form.get("reason") or "").strip()[:500] or None
    try:
        order = refunds.request_refund(
            require_user(), order_id, reason=reason, ip_address=client_ip()
        )
    except PermissionDenied as error:
        return _forbidden(order_id, error)
    except REFUSED_FOR_NOW as error:
        return _refused(order_id, error)
    flash(*refund_outcome(order))
    return redirect(url_for("orders.detail", order_id=order_id), code=303)


def refund_outcome(order: views.OrderView) -> tuple[str, str]:
    """What to tell whoever asked for a refund: the provider may settle it later."""
    if order.refund_state == "pending":
        return (
            "The refund is on its way: the payment provider is still processing it. This "
            "order shows “Refund pending” until it is done.",
            "info",
        )
    if order.refund_state == "failed":
        reason = refund_failure(None if order.refund is None else order.refund.failure_reason)
        return (f"The refund did not go through ({reason}).", "error")
    if order.order_status is OrderStatus.REFUNDED:
        return (
            f"Order {order.id} is refunded in full. The money goes back to the card used.",
            "success",
        )
    return ("The refund was recorded.", "info")
