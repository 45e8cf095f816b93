"""Buying: reserve a listing and pay for it (sandbox card page or Stripe's Payment Element).

``checkout.start`` is the listing page's "Buy" button; it reserves the stub and makes the
order, then sends the buyer to ``checkout.pay``. The payment itself happens on the
provider's side (the sandbox page or Stripe.js); its outcome reaches the order through
the webhook, never through the browser, so the order page polls until it is known.

- ``checkout.start`` (POST, ``listing_id`` in the form or the action URL) calls
  ``services.checkout.create_payment_intent``. A refusal (own listing 403, reserved by
  another buyer 409, seller not ready 409, gone 404, the provider refused) is the
  ``checkout/problem.html`` page saying why, with a link back to the listing.
- ``checkout.pay`` (``/checkout/<order>``) reads the order's stored PaymentIntent
  (``services.checkout.checkout_session``: no provider call; only the buyer, the seller and
  admins get 403, anyone else 404). It shows the total only (the fee split is the seller's
  business) and the reservation countdown (``static/orders.js``). Sandbox: a button to the
  sandbox card page with ``return_url=/orders/<id>``, which redirects there after a
  success and links back to it after a decline. Stripe: the Payment Element
  (``static/orders.js``: Stripe.js with the publishable key and ``stripeAccount`` for the
  direct charge, ``confirmPayment`` with a ``return_url`` on the public address,
  ``web.public_url``: ``PUBLIC_BASE_URL``, which production requires).
- An order that is no longer payable (processing, paid, failed, cancelled) redirects to
  its order page.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.adapters.payments.ports import PaymentError
from stubcollector.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from stubcollector.domain.statuses import OrderStatus
from stubcollector.extensions import limiter
from stubcollector.ratelimits import CHECKOUTS
from stubcollector.services import checkout
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.errors import status_for
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.navigation import optional_url
from stubcollector.web.pages.orders import listing_of, stub_title
from stubcollector.web.public_url import external_url

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

PAYABLE = (OrderStatus.PENDING,)


def _problem(message: str, code: int, listing_id: int | None) -> ResponseReturnValue:
    listing_url = (
        None if listing_id is None else optional_url("marketplace.listing", listing_id=listing_id)
    )
    page = render_template(
        "checkout/problem.html", message=message, code=code, listing_url=listing_url
    )
    return page, code


def _explain(error: DomainError) -> str:
    """The buyer-facing sentence for a refused checkout."""
    text = error.message
    if isinstance(error, NotFound):
        return "This listing no longer exists."
    if isinstance(error, PaymentError):
        return "The payment could not be started: " + text
    return text[:1].upper() + text[1:]


@bp.post("/")
@limiter.per_user_budget(CHECKOUTS)
@login_required
def start() -> ResponseReturnValue:
    # The listing page's one-button form carries it in its action URL
    # (``url_for("checkout.start", listing_id=...)``); other forms post it as a field.
    raw = request.form.get("listing_id") or request.args.get("listing_id", "")
    if not raw.isdigit() or int(raw) < 1:
        return _problem("Choose a listing to buy.", 422, None)
    listing_id = int(raw)
    try:
        result = checkout.create_payment_intent(require_user(), listing_id, client_ip())
    except (Conflict, NotFound, PermissionDenied, ValidationFailed, PaymentError) as error:
        return _problem(_explain(error), status_for(error), listing_id)
    return redirect(url_for("checkout.pay", order_id=result.order_id), code=303)


@bp.get("/<int:order_id>")
@login_required
def pay(order_id: int) -> ResponseReturnValue:
    session = checkout.checkout_session(require_user(), order_id)
    if session.order_status not in PAYABLE or session.client_secret is None:
        # Paid, failed, processing or cancelled: the order page tells the story.
        return redirect(url_for("orders.detail", order_id=order_id))
    order_url = url_for("orders.detail", order_id=order_id)
    sandbox_url = optional_url(
        "sandbox.checkout",
        payment_intent_id=session.payment_intent_id,
        client_secret=session.client_secret,
        return_url=order_url,
    )
    return render_template(
        "checkout/pay.html",
        session=session,
        listing_title=stub_title(listing_of(session.listing_id, require_user().id)),
        listing_url=optional_url("marketplace.listing", listing_id=session.listing_id),
        order_url=order_url,
        # PUBLIC_BASE_URL where set (always in production); see web/public_url.py.
        return_url=external_url(order_url),
        sandbox_url=sandbox_url,
    )
