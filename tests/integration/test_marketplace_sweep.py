"""The expiry sweep: ``flask marketplace release-expired`` and the scheduled job."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from stubcollector.adapters.jobs import registered_job
from stubcollector.container import container
from stubcollector.domain.statuses import ListingStatus, OrderStatus
from stubcollector.extensions import db
from stubcollector.models import StubListing, StubOrder, utcnow
from stubcollector.services import checkout
from stubcollector.services.marketplace import listing_status
from stubcollector.services.transaction import transaction
from tests.support.factories import ListingFactory, OrderFactory, UserFactory


def _lapsed_hold_with_order() -> tuple[int, int, int]:
    listing = ListingFactory.create()
    buyer = UserFactory.create()
    with transaction() as session:
        listing_status.reserve(
            session, listing.id, buyer.id, minutes=15, now=utcnow() - timedelta(minutes=20)
        )
    order = OrderFactory.create(listing=listing, buyer=buyer, order_status="pending")
    return listing.id, buyer.id, order.id


def test_cli_releases_expired_holds_and_prints_them(app: Flask) -> None:
    listing_id, buyer_id, order_id = _lapsed_hold_with_order()
    live = ListingFactory.create()
    with transaction() as session:
        listing_status.reserve(session, live.id, UserFactory.create().id, minutes=15)

    result = app.test_cli_runner().invoke(args=["marketplace", "release-expired"])

    assert result.exit_code == 0, result.output
    assert (
        f"released listing {listing_id} (held by user {buyer_id}); cancelled orders: {order_id}"
        in result.output
    )
    assert "1 expired reservation(s) released" in result.output
    db.session.expire_all()
    assert db.session.get(StubListing, listing_id).status == ListingStatus.ACTIVE  # type: ignore[union-attr]
    assert db.session.get(StubListing, live.id).status == ListingStatus.PAYMENT_PENDING  # type: ignore[union-attr]
    order = db.session.get(StubOrder, order_id)
    assert order is not None
    assert order.order_status == OrderStatus.CANCELLED
    assert order.status_reason == checkout.EXPIRY_REASON

    again = app.test_cli_runner().invoke(args=["marketplace", "release-expired"])
    assert again.exit_code == 0
    assert "0 expired reservation(s) released" in again.output


def test_the_job_is_registered_and_runs_the_same_sweep(app: Flask) -> None:
    assert registered_job("marketplace.release_expired") is checkout.release_expired
    listing_id, _, order_id = _lapsed_hold_with_order()
    container(app).jobs.enqueue("marketplace.release_expired")  # eager in tests
    db.session.expire_all()
    assert db.session.get(StubListing, listing_id).status == ListingStatus.ACTIVE  # type: ignore[union-attr]
    assert db.session.get(StubOrder, order_id).order_status == OrderStatus.CANCELLED  # type: ignore[union-attr]
