"""Reservations cannot double-sell: real concurrent connections, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask

from stubcollector.domain.errors import Conflict, NotFound, PermissionDenied
from stubcollector.domain.statuses import ListingStatus, OrderStatus
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, StubListing, StubOrder, utcnow
from stubcollector.services import checkout
from stubcollector.services.marketplace import listing_status
from stubcollector.services.transaction import transaction
from tests.support.factories import SellerFactory, StubFactory, UserFactory

BUYERS = 8


def make_listing(price: int = 2500) -> StubListing:
    seller = SellerFactory.create()
    stub = StubFactory.create(owner=seller)
    listing = StubListing(stub_id=stub.id, seller_id=seller.id, asking_price_cents=price)
    db.session.add(listing)
    db.session.commit()
    return listing


def test_many_buyers_at_once_exactly_one_wins(app: Flask) -> None:
    listing_id = make_listing().id
    buyer_ids = [UserFactory.create().id for _ in range(BUYERS)]
    db.session.remove()
    start = threading.Barrier(BUYERS)
    outcomes: dict[int, str] = {}

    def attempt(buyer_id: int) -> None:
        with app.app_context():
            start.wait()
            try:
                with transaction() as session:
                    listing_status.reserve(session, listing_id, buyer_id, minutes=15)
                outcomes[buyer_id] = "won"
            except Conflict:
                outcomes[buyer_id] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(b,)) for b in buyer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["conflict"] * (BUYERS - 1) + ["won"]
    winner = next(b for b, outcome in outcomes.items() if outcome == "won")
    listing = db.session.get(StubListing, listing_id)
    assert listing is not None
    assert listing.status == ListingStatus.PAYMENT_PENDING
    assert listing.reserved_by_user_id == winner


def test_same_buyer_reserving_again_keeps_the_hold(app: Flask) -> None:
    listing = make_listing()
    buyer = UserFactory.create()
    with transaction() as session:
        first = listing_status.reserve(session, listing.id, buyer.id, minutes=15)
    with transaction() as session:
        again = listing_status.reserve(session, listing.id, buyer.id, minutes=15)
    assert not first.already_held
    assert again.already_held
    assert again.reserved_until == first.reserved_until


def test_seller_cannot_reserve_own_listing(app: Flask) -> None:
    listing = make_listing()
    with pytest.raises(PermissionDenied), transaction() as session:
        listing_status.reserve(session, listing.id, listing.seller_id, minutes=15)


def test_unknown_listing_is_not_found(app: Flask) -> None:
    buyer = UserFactory.create()
    with pytest.raises(NotFound), transaction() as session:
        listing_status.reserve(session, 987654, buyer.id, minutes=15)


@pytest.mark.parametrize("status", [ListingStatus.SOLD, ListingStatus.CANCELLED])
def test_sold_or_cancelled_listing_cannot_be_reserved(app: Flask, status: ListingStatus) -> None:
    listing = make_listing()
    listing.status = status.value
    db.session.commit()
    buyer = UserFactory.create()
    with pytest.raises(Conflict, match=status.value), transaction() as session:
        listing_status.reserve(session, listing.id, buyer.id, minutes=15)


def test_expired_hold_reads_as_active_and_can_be_taken_over(app: Flask) -> None:
    listing = make_listing()
    first, second = UserFactory.create(), UserFactory.create()
    past = utcnow() - timedelta(minutes=30)
    with transaction() as session:
        listing_status.reserve(session, listing.id, first.id, minutes=15, now=past)
    listing = db.session.get(StubListing, listing.id, populate_existing=True)
    assert listing is not None
    assert listing.status == ListingStatus.PAYMENT_PENDING
    assert listing_status.effective_status(listing) is ListingStatus.ACTIVE
    with transaction() as session:
        taken = listing_status.reserve(session, listing.id, second.id, minutes=15)
    assert taken.replaced_buyer_id == first.id


def test_sweep_releases_expired_holds_and_cancels_their_orders(app: Flask) -> None:
    listing = make_listing()
    buyer = UserFactory.create()
    past = utcnow() - timedelta(minutes=30)
    with transaction() as session:
        listing_status.reserve(session, listing.id, buyer.id, minutes=15, now=past)
        order = StubOrder(
            buyer_id=buyer.id,
            seller_id=listing.seller_id,
            stub_listing_id=listing.id,
            total_amount_cents=2500,
            platform_fee_cents=250,
            seller_amount_cents=2250,
        )
        session.add(order)
    fresh = make_listing()
    other = UserFactory.create()
    with transaction() as session:
        listing_status.reserve(session, fresh.id, other.id, minutes=15)

    released = checkout.release_expired()
    assert [(r.listing_id, r.buyer_id, r.cancelled_order_ids) for r in released] == [
        (listing.id, buyer.id, (order.id,))
    ]
    db.session.expire_all()
    assert db.session.get(StubListing, listing.id).status == ListingStatus.ACTIVE  # type: ignore[union-attr]
    assert db.session.get(StubListing, fresh.id).status == ListingStatus.PAYMENT_PENDING  # type: ignore[union-attr]
    cancelled = db.session.get(StubOrder, order.id)
    assert cancelled is not None
    assert cancelled.order_status == OrderStatus.CANCELLED
    assert "expired" in (cancelled.status_reason or "")
    actions = {entry.action for entry in db.session.query(AuditLogEntry)}
    assert {"listing.reservation_expired", "order.cancelled"} <= actions

    # Running the sweep again changes nothing.
    assert checkout.release_expired() == []


def test_release_only_by_the_holder(app: Flask) -> None:
    listing = make_listing()
    holder, stranger = UserFactory.create(), UserFactory.create()
    with transaction() as session:
        listing_status.reserve(session, listing.id, holder.id, minutes=15)
    with transaction() as session:
        assert not listing_status.release(session, listing.id, buyer_id=stranger.id, reason="test")
    with transaction() as session:
        assert listing_status.release(session, listing.id, buyer_id=holder.id, reason="test")
    with transaction() as session:
        assert not listing_status.release(session, listing.id, buyer_id=holder.id, reason="test")
