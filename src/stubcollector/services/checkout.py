"""Checkout: reserve a listing for one buyer, create the order and its direct charge; and
the expiry sweep that ends the checkouts whose buyer did not pay in time.

Three steps, never a provider call inside a transaction:

1. one transaction reserves the listing (compare-and-swap, see
   ``marketplace.listing_status``) and
   inserts the order with its fee split — of many buyers racing, one gets past here;
2. the provider creates the PaymentIntent on the seller's account with the key
   ``order:{id}:payment_intent`` (a retry returns the same PaymentIntent);
3. a second transaction stores the payment. If step 2 fails, the order is cancelled and
   the listing released: no half state is left behind.

A repeated call by the buyer who holds the listing returns the same order and
PaymentIntent. Amounts always come from the listing on the server.

A hold lasts ``RESERVATION_MINUTES``. :func:`release_expired` (the job
``marketplace.release_expired``) puts listings whose hold ran out back on sale and cancels
the unpaid orders that held them, with their PaymentIntents — as a new checkout does for
the orders of a lapsed hold it replaces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stubcollector.adapters.jobs import periodic
from stubcollector.adapters.payments.ports import (
    Checkout,
    CheckoutRequest,
    PaymentError,
    PaymentProviderUnavailable,
)
from stubcollector.container import payment_gateway, settings
from stubcollector.domain.errors import Conflict, DomainError, NotFound, PermissionDenied
from stubcollector.domain.money import CURRENCY, FeeSplit, cents_to_decimal_string
from stubcollector.domain.statuses import OPEN_ORDER_STATUSES, OrderStatus, PaymentStatus
from stubcollector.models import StubListing, StubOrder, StubPayment, User, utcnow
from stubcollector.services import audit, idempotency, onboarding
from stubcollector.services.marketplace import browsing, listing_status, views
from stubcollector.services.orders.state import SYSTEM, Actor, move, require_party
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

SUPERSEDED_REASON = "Replaced by a newer checkout of the same listing."
PROVIDER_FAILED_REASON = "The payment could not be started; the listing was released."
# For the orders of a hold that ran out (the sweep, or a new checkout replacing the hold).
EXPIRY_REASON = (
    "Your reservation expired before the payment went through; the listing is on sale again."
)


@dataclass(frozen=True)
class _Prepared:
    order_id: int
    account_id: str
    split: FeeSplit
    description: str
    metadata: dict[str, str]
    reserved_until: datetime
    # Orders of others (or this buyer's stale ones) cancelled here; their PaymentIntents
    # are cancelled at the provider after the commit.
    cancelled_order_ids: tuple[int, ...]
    # A repeated call: the key the order's PaymentIntent was made with (None: none yet).
    payment_key: str | None

    @property
    def payment_exists(self) -> bool:
        return self.payment_key is not None


@dataclass(frozen=True)
class CheckoutStarted:
    """What the buyer needs to pay an order just reserved (``POST
    /api/payments/create-payment-intent``): the PaymentIntent on the seller's account and
    its amounts. Fields are in the order of the API's keys."""

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
    reserved_until: datetime
    payout_schedule_days: int
    # Sandbox only: the local page where the buyer "pays".
    sandbox_checkout_url: str | None


@dataclass(frozen=True)
class CheckoutSession:
    """What the checkout page shows for an existing order: its payment form's secrets,
    the amount, and how long the buyer's hold lasts (None once it no longer holds)."""

    order_id: int
    order_status: OrderStatus
    listing_id: int
    total_amount_cents: int
    currency: str
    payment_intent_id: str | None
    client_secret: str | None
    stripe_account_id: str | None
    publishable_key: str | None
    failure_message: str | None
    reserved_until: datetime | None


def payment_intent_key(order_id: int) -> str:
    """The key of a new order's PaymentIntent; a repeat uses the one stored on its payment."""
    return idempotency.key("order", order_id, "payment_intent")


def create_payment_intent(
    buyer: User, listing_id: int, ip_address: str | None = None
) -> CheckoutStarted:
    prepared = _reserve_and_create_order(buyer, listing_id, ip_address)
    _cancel_provider_checkouts(prepared.cancelled_order_ids)
    request = CheckoutRequest(
        order_id=prepared.order_id,
        account_id=prepared.account_id,
        amount_cents=prepared.split.total_cents,
        application_fee_cents=prepared.split.platform_fee_cents,
        # A repeat sends the key the PaymentIntent was made with, even one made under an
        # older idempotency namespace (services/idempotency.py): a new key would make a
        # second PaymentIntent for the same order.
        idempotency_key=prepared.payment_key or payment_intent_key(prepared.order_id),
        description=prepared.description,
        metadata=prepared.metadata,
    )
    try:
        checkout = payment_gateway().create_checkout(request)
    except (PaymentError, PaymentProviderUnavailable) as exc:
        # A first attempt leaves nothing half-done; a repeat keeps the order whose
        # PaymentIntent already exists (the buyer may still pay it).
        if not prepared.payment_exists:
            _abandon(prepared.order_id, buyer, exc)
        raise
    _store_payment(prepared, checkout)
    return _response(prepared, checkout)


def _reserve_and_create_order(buyer: User, listing_id: int, ip_address: str | None) -> _Prepared:
    config = settings()
    try:
        with transaction() as session:
            found = session.execute(
                select(StubListing, User)
                .join(User, User.id == StubListing.seller_id)
                .where(StubListing.id == listing_id)
                .execution_options(populate_existing=True)
            ).first()
            if found is None:
                raise NotFound("listing not found")
            listing, seller = found._tuple()
            if listing.seller_id != buyer.id and not seller.can_accept_payments:
                raise Conflict("the seller cannot take payments at the moment")
            if listing.asking_price_cents < config.listing_min_price_cents:
                # Listed before the minimum was raised: the fee floor would leave the
                # seller (almost) nothing, so it waits for its seller to raise the price.
                raise Conflict(views.reason_below_minimum(config.listing_min_price_cents))
            reservation = listing_status.reserve_listing(
                session, listing, buyer.id, minutes=config.reservation_minutes
            )
            assert seller.stripe_account_id is not None
            cancelled: tuple[int, ...] = ()
            if reservation.replaced_buyer_id is not None:
                cancelled = _cancel_open_orders(
                    session,
                    listing_id,
                    reservation.replaced_buyer_id,
                    now=utcnow(),
                    reason=EXPIRY_REASON,
                )
            # This buyer's earlier orders for the listing: the one a repeated call returns,
            # and declined ones a new attempt replaces (one query for both).
            earlier = session.scalars(
                select(StubOrder).where(
                    StubOrder.stub_listing_id == listing_id,
                    StubOrder.buyer_id == buyer.id,
                    StubOrder.order_status.in_(
                        [s.value for s in OPEN_ORDER_STATUSES] + [OrderStatus.PAYMENT_FAILED.value]
                    ),
                )
            ).all()
            order = None
            if reservation.already_held:
                order = next((o for o in earlier if o.order_status in OPEN_ORDER_STATUSES), None)
            created = order is None
            if order is None:
                cancelled += _supersede_failed_orders(session, earlier)
                split = FeeSplit.for_total(listing.asking_price_cents, config.stripe_platform_fee)
                order = StubOrder(
                    buyer_id=buyer.id,
                    seller_id=listing.seller_id,
                    stub_listing_id=listing_id,
                    total_amount_cents=split.total_cents,
                    platform_fee_cents=split.platform_fee_cents,
                    seller_amount_cents=split.seller_amount_cents,
                    currency=CURRENCY,
                    # The seller's own hold: Stripe's schedule where it refused ours.
                    seller_payout_schedule_days=onboarding.payout_hold_days(seller),
                )
                session.add(order)
                session.flush()
                audit.record(
                    session,
                    action="order.created",
                    object_type="order",
                    object_id=order.id,
                    actor=buyer,
                    after=OrderStatus.PENDING.value,
                    ip_address=ip_address,
                    listing_id=listing_id,
                    total_amount_cents=split.total_cents,
                    platform_fee_cents=split.platform_fee_cents,
                )
            return _Prepared(
                order_id=order.id,
                account_id=seller.stripe_account_id,
                split=FeeSplit(
                    order.total_amount_cents, order.platform_fee_cents, order.seller_amount_cents
                ),
                description=f"Stub Collector order {order.id}: listing {listing_id}",
                metadata={
                    "order_id": str(order.id),
                    "listing_id": str(listing_id),
                    "buyer_id": str(buyer.id),
                },
                reserved_until=reservation.reserved_until,
                cancelled_order_ids=cancelled,
                payment_key=None
                if created
                else session.scalar(
                    select(StubPayment.idempotency_key).where(StubPayment.order_id == order.id)
                ),
            )
    except IntegrityError:
        # The partial unique index (one open-or-paid order per listing) caught a race the
        # reservation should already have stopped.
        raise Conflict("another buyer is already paying for this listing") from None


def _supersede_failed_orders(session: Session, earlier: Sequence[StubOrder]) -> tuple[int, ...]:
    """A buyer trying again after a decline starts a new order; the old one is closed."""
    stale = [order for order in earlier if order.order_status == OrderStatus.PAYMENT_FAILED]
    for order in stale:
        move(session, order, OrderStatus.CANCELLED, SYSTEM, reason=SUPERSEDED_REASON)
    return tuple(order.id for order in stale)


def _abandon(order_id: int, buyer: User, error: DomainError) -> None:
    with transaction() as session:
        order = session.get(StubOrder, order_id, populate_existing=True)
        assert order is not None
        if order.order_status in (s.value for s in OPEN_ORDER_STATUSES):
            move(
                session,
                order,
                OrderStatus.CANCELLED,
                Actor(kind="system"),
                reason=PROVIDER_FAILED_REASON,
                provider_error=error.message,
            )
        listing_status.release(
            session, order.stub_listing_id, buyer_id=buyer.id, reason="payment provider failed"
        )


def _store_payment(prepared: _Prepared, checkout: Checkout) -> None:
    order_id = prepared.order_id
    try:
        with transaction() as session:
            if not prepared.payment_exists:
                # The first PaymentIntent of a new order: nothing to read first.
                session.add(
                    StubPayment(
                        order_id=order_id,
                        stripe_account_id=checkout.account_id,
                        payment_intent_id=checkout.payment_intent_id,
                        client_secret=checkout.client_secret,
                        idempotency_key=payment_intent_key(order_id),
                        amount_total_cents=prepared.split.total_cents,
                        platform_fee_cents=prepared.split.platform_fee_cents,
                        payment_status=PaymentStatus.REQUIRES_PAYMENT_METHOD.value,
                    )
                )
                return
            _remember_client_secret(session, order_id, checkout)
    except IntegrityError:
        # A concurrent repeat of the same checkout stored it first; the idempotency key
        # made both calls get the same PaymentIntent, so only the secret may be missing.
        with transaction() as session:
            _remember_client_secret(session, order_id, checkout)


def _remember_client_secret(session: Session, order_id: int, checkout: Checkout) -> None:
    payment = session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).first()
    if payment is not None and payment.client_secret is None:
        payment.client_secret = checkout.client_secret


def _cancel_provider_checkouts(order_ids: tuple[int, ...]) -> None:
    """Cancel the PaymentIntents of cancelled orders; a failure is logged, not fatal.

    If a cancel fails and the buyer still pays, the success handler refunds the payment
    because the order no longer holds the listing.
    """
    if not order_ids:
        return
    with transaction() as session:
        targets = session.execute(
            select(
                StubPayment.order_id, StubPayment.stripe_account_id, StubPayment.payment_intent_id
            ).where(StubPayment.order_id.in_(order_ids))
        ).all()
    for order_id, account_id, pi_id in targets:
        try:
            payment_gateway().cancel_checkout(
                account_id, pi_id, idempotency_key=idempotency.key("order", order_id, "cancel")
            )
        except (PaymentError, PaymentProviderUnavailable) as exc:
            log.warning("could not cancel %s of order %s: %s", pi_id, order_id, exc.message)
            continue
        with transaction() as session:
            payment = session.scalars(
                select(StubPayment).where(StubPayment.order_id == order_id)
            ).first()
            if payment is not None and payment.payment_status in (
                PaymentStatus.REQUIRES_PAYMENT_METHOD,
                PaymentStatus.PROCESSING,
                PaymentStatus.FAILED,
            ):
                payment.payment_status = PaymentStatus.CANCELED.value


def _response(prepared: _Prepared, checkout: Checkout) -> CheckoutStarted:
    split = prepared.split
    return CheckoutStarted(
        order_id=prepared.order_id,
        payment_intent_id=checkout.payment_intent_id,
        client_secret=checkout.client_secret,
        publishable_key=payment_gateway().publishable_key,
        stripe_account_id=checkout.account_id,
        currency=CURRENCY,
        total_amount_cents=split.total_cents,
        platform_fee_cents=split.platform_fee_cents,
        seller_amount_cents=split.seller_amount_cents,
        total_amount=cents_to_decimal_string(split.total_cents),
        reserved_until=prepared.reserved_until,
        payout_schedule_days=settings().stripe_payout_hold_days,
        sandbox_checkout_url=checkout.sandbox_checkout_url,
    )


def checkout_session(buyer: User, order_id: int) -> CheckoutSession:
    """What the buyer's checkout page needs to show the payment form of an existing order.

    Read from our records (the PaymentIntent made by :func:`create_payment_intent`): opening
    or reloading the page never calls the provider. Only the order's buyer may see it; its
    seller and admins are refused (403), to anyone else the order does not exist (404).
    """
    with transaction() as session:
        order = session.get(StubOrder, order_id)
        if order is None:
            raise NotFound("order not found")
        require_party(order, buyer)
        if order.buyer_id != buyer.id:
            raise PermissionDenied("only the buyer can pay for this order")
        payment = session.scalars(
            select(StubPayment).where(StubPayment.order_id == order_id)
        ).first()
        listing = session.get(StubListing, order.stub_listing_id)
        held = (
            listing is not None
            and listing.reserved_by_user_id == buyer.id
            and order.order_status in (OrderStatus.PENDING, OrderStatus.PAYMENT_PROCESSING)
        )
        return CheckoutSession(
            order_id=order.id,
            order_status=OrderStatus(order.order_status),
            listing_id=order.stub_listing_id,
            total_amount_cents=order.total_amount_cents,
            currency=order.currency,
            payment_intent_id=None if payment is None else payment.payment_intent_id,
            client_secret=None if payment is None else payment.client_secret,
            stripe_account_id=None if payment is None else payment.stripe_account_id,
            publishable_key=payment_gateway().publishable_key,
            failure_message=None if payment is None else payment.failure_message,
            reserved_until=listing.reserved_until if held and listing is not None else None,
        )


# --- the expiry sweep: holds whose buyer did not pay in time ---------------------------------


@dataclass(frozen=True)
class ExpiredReservation:
    listing_id: int
    buyer_id: int | None
    # Open orders of that buyer for that listing, now cancelled; their PaymentIntents are
    # cancelled at the provider after the transaction commits.
    cancelled_order_ids: tuple[int, ...]


@periodic("marketplace.release_expired", every=60)
def release_expired(now: datetime | None = None) -> list[ExpiredReservation]:
    """The expiry sweep: release lapsed holds, cancel their orders and PaymentIntents.

    Run every minute as the job ``marketplace.release_expired`` and by hand as ``flask
    marketplace release-expired``; selling runs it before changing a listing whose hold
    has lapsed. Safe to run any time, any number of times: each release is conditional
    (still held, still lapsed). Readers never wait for it: a lapsed hold already reads as
    active. One transaction releases the holds and cancels the unpaid orders that held
    them; the PaymentIntents are cancelled at the provider after it commits.
    """
    now = now or utcnow()
    expired = []
    with transaction() as session:
        for listing_id, buyer_id in listing_status.lapsed_holds(session, now):
            # A buyer may have renewed the hold since: then it is left alone.
            if listing_status.release_lapsed_hold(session, listing_id, buyer_id=buyer_id, now=now):
                cancelled = _cancel_open_orders(
                    session, listing_id, buyer_id, now=now, reason=EXPIRY_REASON
                )
                expired.append(ExpiredReservation(listing_id, buyer_id, cancelled))
    _cancel_provider_checkouts(
        tuple(order_id for item in expired for order_id in item.cancelled_order_ids)
    )
    if expired:
        browsing.totals.clear()
    return expired


def _cancel_open_orders(
    session: Session, listing_id: int, buyer_id: int | None, *, now: datetime, reason: str
) -> tuple[int, ...]:
    """Cancel the not-yet-paid orders that held ``listing_id``; returns their ids."""
    conditions = [
        StubOrder.stub_listing_id == listing_id,
        StubOrder.order_status.in_([status.value for status in OPEN_ORDER_STATUSES]),
    ]
    if buyer_id is not None:
        conditions.append(StubOrder.buyer_id == buyer_id)
    orders = session.scalars(select(StubOrder).where(and_(*conditions))).all()
    for order in orders:
        before = order.order_status
        order.order_status = OrderStatus.CANCELLED.value
        order.cancelled_at = now
        order.status_reason = reason
        audit.record(
            session,
            action="order.cancelled",
            object_type="order",
            object_id=order.id,
            before=before,
            after=OrderStatus.CANCELLED.value,
            reason=reason,
        )
    session.flush()
    return tuple(order.id for order in orders)
