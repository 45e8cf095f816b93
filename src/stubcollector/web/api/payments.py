"""Payments API: seller onboarding, checkout, orders and the provider's webhooks."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import Field

from stubcollector.adapters.payments.ports import WebhookEndpoint
from stubcollector.extensions import limiter
from stubcollector.observability import context
from stubcollector.ratelimits import CHECKOUTS
from stubcollector.services import checkout, onboarding, webhooks
from stubcollector.services.orders import payments, refunds, views
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.envelope import ok
from stubcollector.web.json import to_json
from stubcollector.web.public_url import external_url
from stubcollector.web.schemas import (
    QueryModel,
    RedirectResponse,
    RequestModel,
    ResponseModel,
    SuccessEnvelope,
)

bp = Blueprint("api_payments", __name__, url_prefix="/api/payments")

# The refund call's message by the order's ``refund_state`` (None: "order refunded").
REFUND_MESSAGES: dict[str | None, str] = {"pending": "refund pending", "failed": "refund failed"}


# --- schemas ---------------------------------------------------------------------------
class CreatePaymentIntentRequest(RequestModel):
    listing_id: int = Field(gt=0, examples=[42])


class RefundRequest(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class DashboardQuery(QueryModel):
    redirect: bool = Field(default=False, description="Answer with a 302 to the dashboard")


class OnboardingEnvelope(SuccessEnvelope):
    account_id: str
    onboarding_url: str
    expires_at: str


class AccountOut(ResponseModel):
    account_id: str | None
    account_status: str
    onboarding_completed: bool
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]
    disabled_reason: str | None
    can_accept_payments: bool
    payout_schedule_days: int
    synced_at: str | None
    payout_schedule_status: str | None = Field(
        description="Setting the payout hold: pending (retried), set, or skipped (the "
        "provider refused it; see payout_schedule_note)"
    )
    payout_schedule_note: str | None
    deauthorized_at: str | None = Field(
        description="When the seller disconnected the account from the platform"
    )


class AccountEnvelope(SuccessEnvelope):
    account: AccountOut


class DashboardEnvelope(SuccessEnvelope):
    dashboard_url: str


class BalanceOut(ResponseModel):
    available_cents: int
    pending_cents: int
    currency: str


class BalanceEnvelope(SuccessEnvelope):
    balance: BalanceOut


class CheckoutEnvelope(SuccessEnvelope):
    order_id: int
    payment_intent_id: str
    client_secret: str
    publishable_key: str | None
    stripe_account_id: str
    currency: str
    total_amount_cents: int
    platform_fee_cents: int
    seller_amount_cents: int
    total_amount: str
    reserved_until: str
    payout_schedule_days: int
    sandbox_checkout_url: str | None


class DisputeOut(ResponseModel):
    dispute_id: str
    status: str
    reason: str | None
    amount_cents: int
    funds_withdrawn_cents: int
    funds_reinstated_cents: int
    evidence_due_by: str | None


class RefundOut(ResponseModel):
    refund_id: str | None = Field(description="The provider's id; null until it answers")
    attempt: int | None = Field(
        description="Our attempt number (each has its own idempotency key); null for a "
        "refund the provider reported (e.g. made on its dashboard)"
    )
    status: Literal["requested", "pending", "requires_action", "succeeded", "failed", "canceled"]
    amount_cents: int
    failure_reason: str | None = Field(
        description="The provider's failure_reason (e.g. lost_or_stolen_card) or refusal"
    )
    requested_at: str
    settled_at: str | None


class OrderOut(ResponseModel):
    id: int
    order_status: str
    status_reason: str | None = Field(
        description="Why the order is in its status, in words for its parties (a decline, "
        "a lost dispute, an automatic refund)"
    )
    listing_id: int
    listing_status: str | None
    reserved_until: str | None = Field(
        description="While the order waits for its payment: when the buyer's hold on the "
        "listing ends (ISO 8601, UTC); null otherwise"
    )
    buyer_id: int
    seller_id: int
    currency: str
    total_amount_cents: int
    platform_fee_cents: int
    seller_amount_cents: int
    stripe_fee_cents: int | None = Field(
        description="The provider's processing fee in cents, once its charge reports it"
    )
    stripe_fee_paid_by: Literal["platform", "seller"] = Field(
        description="Who pays stripe_fee_cents: the platform under the default "
        "STRIPE_ACCOUNT_LIABILITY=application, the seller's account under stripe"
    )
    seller_receives_cents: int | None = Field(
        description="What the seller gets from this order as things stand: the price minus "
        "the platform fee, minus Stripe's fee where the seller pays it, minus refunds made "
        "or on their way (with the part of the fee they return), amounts withdrawn by "
        "disputes and their fees where the seller's account carries losses; 0 for a "
        "refunded order (negative where Stripe kept the seller's fee); null while the order "
        "is not paid"
    )
    total_amount: str = Field(
        description="total_amount_cents as a decimal string in dollars", examples=["42.50"]
    )
    payment_status: str | None
    payment_intent_id: str | None
    stripe_account_id: str | None = Field(
        description="The seller's connected account the direct charge was made on"
    )
    charge_id: str | None
    refund_id: str | None
    amount_refunded_cents: int = Field(description="Refunds the provider confirmed (succeeded)")
    refund_status: str | None = Field(description="The latest refund's status")
    refund_state: Literal["pending", "failed"] | None = Field(
        description="pending: a refund is on its way (the order is not refunded yet); "
        "failed: the last refund failed or was canceled and an admin may retry it"
    )
    refund: RefundOut | None = Field(description="The latest refund (the last of refunds)")
    refunds: list[RefundOut]
    failure_message: str | None = Field(
        description="The provider's message for the last failed payment attempt (e.g. a "
        "decline); cleared once the payment succeeds"
    )
    dispute: DisputeOut | None
    dispute_status: str | None
    seller_payout_schedule_days: int = Field(
        description="Days the seller's payout is held after the payment, fixed at checkout"
    )
    expected_payout_date: str | None = Field(
        description="Payment day plus seller_payout_schedule_days (ISO 8601 date) while a "
        "payout is to come; null until paid, and when none is (refunded or being refunded "
        "in full, disputed)"
    )
    created_at: str
    payment_confirmed_at: str | None
    completed_at: str | None = Field(description="When the buyer confirmed receipt")
    cancelled_at: str | None
    refunded_at: str | None
    disputed_at: str | None


class OrderEnvelope(SuccessEnvelope):
    order: OrderOut


class WebhookAck(SuccessEnvelope):
    received: bool
    duplicate: bool
    event_id: str


# --- onboarding ------------------------------------------------------------------------
def _external(endpoint: str) -> str:
    # PUBLIC_BASE_URL where set (always in production); see web/public_url.py.
    return external_url(url_for(endpoint))


def _onboarding_response(result: onboarding.Onboarding, code: int) -> ResponseReturnValue:
    return ok(
        code,
        account_id=result.account_id,
        onboarding_url=result.url,
        expires_at=result.expires_at,
    )


@bp.post("/connect/onboard")
@api_endpoint(
    summary="Start (or resume) seller onboarding: account plus a fresh onboarding link",
    tags=["payments"],
    auth=True,
    responses={200: OnboardingEnvelope, 201: OnboardingEnvelope},
)
def onboard() -> ResponseReturnValue:
    result = onboarding.start_onboarding(
        require_user(),
        return_url=_external("api_payments.onboard_return"),
        refresh_url=_external("api_payments.onboard_refresh"),
    )
    return _onboarding_response(result, 201 if result.account_created else 200)


@bp.get("/onboard/return")
@api_endpoint(
    summary="Back from onboarding: re-reads the account (the redirect proves nothing)",
    tags=["payments"],
    auth=True,
    responses={200: AccountEnvelope},
    # 404 until the user has a connected account (onboarding not started).
    errors=(404,),
)
def onboard_return() -> ResponseReturnValue:
    account = onboarding.refresh_status(require_user())
    message = (
        "onboarding complete"
        if account.can_accept_payments
        else "onboarding is not complete yet; see requirements_due"
    )
    return ok(message=message, account=account)


@bp.get("/onboard/refresh")
@api_endpoint(
    summary="The onboarding link expired or was used: a new link (302 for browsers)",
    tags=["payments"],
    auth=True,
    responses={200: OnboardingEnvelope, 302: RedirectResponse()},
    # 404 until the user has a connected account (onboarding not started).
    errors=(404,),
)
def onboard_refresh() -> ResponseReturnValue:
    result = onboarding.refresh_link(
        require_user(),
        return_url=_external("api_payments.onboard_return"),
        refresh_url=_external("api_payments.onboard_refresh"),
    )
    if request.accept_mimetypes.best == "text/html":
        return redirect(result.url, code=302)
    return _onboarding_response(result, 200)


@bp.get("/connect/status")
@api_endpoint(
    summary="The seller's connected-account status, re-read from the provider",
    tags=["payments"],
    auth=True,
    responses={200: AccountEnvelope},
    # 404 until the user has a connected account (onboarding not started).
    errors=(404,),
)
def connect_status() -> ResponseReturnValue:
    return ok(account=onboarding.refresh_status(require_user()))


@bp.get("/connect/dashboard")
@api_endpoint(
    summary="A fresh login link to the seller's Express dashboard (made on click)",
    tags=["payments"],
    auth=True,
    query=DashboardQuery,
    responses={200: DashboardEnvelope, 302: RedirectResponse()},
    # 404 until the user has a connected account (onboarding not started).
    errors=(404,),
)
def connect_dashboard(query: DashboardQuery) -> ResponseReturnValue:
    url = onboarding.dashboard_link(require_user())
    if query.redirect:
        return redirect(url, code=302)
    return ok(dashboard_url=url)


@bp.get("/connect/balance")
@api_endpoint(
    summary="The seller's balance: available and pending, in cents",
    tags=["payments"],
    auth=True,
    responses={200: BalanceEnvelope},
    # 404 until the user has a connected account (onboarding not started).
    errors=(404,),
)
def connect_balance() -> ResponseReturnValue:
    return ok(balance=onboarding.balance(require_user()))


# --- checkout and orders ---------------------------------------------------------------
@bp.post("/create-payment-intent")
@limiter.per_user_budget(CHECKOUTS)
@api_endpoint(
    summary="Reserve a listing and create its order and direct-charge PaymentIntent",
    tags=["payments"],
    auth=True,
    body=CreatePaymentIntentRequest,
    responses={200: CheckoutEnvelope},
    description="Amounts come from the listing on the server. Repeating the call while "
    "holding the reservation returns the same order and PaymentIntent.",
    # 404: no such listing (or not for sale to this buyer); 409: reserved, sold, own.
    errors=(404,),
)
def create_payment_intent(body: CreatePaymentIntentRequest) -> ResponseReturnValue:
    started = checkout.create_payment_intent(require_user(), body.listing_id, client_ip())
    # The checkout's fields are the envelope's own keys (no wrapping object).
    return ok(**to_json(started))


@bp.get("/orders/<int:order_id>")
@api_endpoint(
    summary="An order with its amounts and provider ids (buyer, seller or admin)",
    tags=["payments"],
    auth=True,
    responses={200: OrderEnvelope},
)
def get_order(order_id: int) -> ResponseReturnValue:
    return ok(order=views.get_order(require_user(), order_id))


@bp.post("/orders/<int:order_id>/complete")
@api_endpoint(
    summary="The buyer confirms receipt of a paid order",
    tags=["payments"],
    auth=True,
    responses={200: OrderEnvelope},
)
def complete_order(order_id: int) -> ResponseReturnValue:
    order = payments.complete_order(require_user(), order_id, client_ip())
    return ok(message="order completed", order=order)


@bp.post("/orders/<int:order_id>/refund")
@api_endpoint(
    summary="Refund an order in full, platform fee included (buyer before completion, admin)",
    description="The order becomes `refunded` once the provider reports the refund "
    "succeeded; until then `refund_state` is `pending`. After a failed or canceled refund "
    "(`refund_state: failed`) only an admin may call this again: a new attempt.",
    tags=["payments"],
    auth=True,
    body=RefundRequest,
    responses={200: OrderEnvelope},
)
def refund_order(order_id: int, body: RefundRequest) -> ResponseReturnValue:
    order = refunds.request_refund(
        require_user(), order_id, reason=body.reason, ip_address=client_ip()
    )
    # The provider may settle the refund later: the order says where it stands.
    return ok(message=REFUND_MESSAGES.get(order.refund_state, "order refunded"), order=order)


# --- webhooks --------------------------------------------------------------------------
def _receive(endpoint: WebhookEndpoint) -> ResponseReturnValue:
    receipt = webhooks.receive(
        endpoint,
        request.get_data(cache=False),
        request.headers.get("Stripe-Signature"),
        ip_address=client_ip(),
        check_source=True,
    )
    # On the request's own log line too, so that the delivery can be found by event id;
    # the request's context, this included, is dropped at its teardown.
    context.bind(event_id=receipt.event_id, event_type=receipt.event_type)
    return ok(received=True, duplicate=receipt.duplicate, event_id=receipt.event_id)


@bp.post("/webhook")
@limiter.exempt
@api_endpoint(
    summary="Stripe webhook for platform events (signed with STRIPE_WEBHOOK_SECRET)",
    tags=["webhooks"],
    responses={200: WebhookAck},
    # 400: missing, forged or stale signature, or not an event; 403: source address.
    errors=(400, 403),
)
def webhook() -> ResponseReturnValue:
    return _receive(WebhookEndpoint.PLATFORM)


@bp.post("/webhook/connect")
@limiter.exempt
@api_endpoint(
    summary="Stripe Connect webhook: connected-account events (STRIPE_CONNECT_WEBHOOK_SECRET)",
    tags=["webhooks"],
    responses={200: WebhookAck},
    # 400: missing, forged or stale signature, or not an event; 403: source address.
    errors=(400, 403),
)
def webhook_connect() -> ResponseReturnValue:
    return _receive(WebhookEndpoint.CONNECT)
