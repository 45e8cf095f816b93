"""Listing stubs for sale through the HTTP API: create, read, edit, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, StubListing, User, utcnow
from stubcollector.services.marketplace import browsing, listing_status, selling
from stubcollector.services.transaction import transaction
from tests.support.clients import AuthActions
from tests.support.factories import ListingFactory, SellerFactory, StubFactory, UserFactory

URL = "/api/marketplace/listings"


@pytest.fixture(autouse=True)
def _fresh_totals() -> Iterator[None]:
    # The total cache is per process and keyed by database; tests empty the tables under it.
    browsing.totals.clear()
    yield
    browsing.totals.clear()


@pytest.fixture
def seller(app: Flask) -> User:
    return SellerFactory.create(display_name="Vera Vinyl")


@pytest.fixture
def seller_client(client: FlaskClient, auth: AuthActions, seller: User) -> FlaskClient:
    assert auth.login(seller.username).status_code == 200
    return client


def create(client: FlaskClient, stub_id: int, price: Any = "12.50", **extra: Any) -> Any:
    return client.post(URL, json={"stub_id": stub_id, "asking_price": price, **extra})


class TestCreate:
    def test_lists_own_stub_with_event_seller_and_price(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        stub = StubFactory.create(owner=seller, event_name="Ten Tour", venue="Paramount")
        response = create(seller_client, stub.id, "12.50", description=" mint condition ")
        assert response.status_code == 201, response.json
        listing = response.json["listing"]
        assert listing["status"] == "active"
        assert listing["asking_price_cents"] == 1250
        assert listing["asking_price"] == "12.50"
        assert listing["price_display"] == "$12.50"
        assert listing["description"] == "mint condition"
        assert listing["stub"]["event_name"] == "Ten Tour"
        assert listing["stub"]["venue"] == "Paramount"
        assert listing["seller"]["username"] == seller.username
        assert listing["seller"]["display_name"] == "Vera Vinyl"
        assert listing["seller"]["is_verified_seller"] is True
        assert "email" not in listing["seller"]
        # The seller looking at their own listing cannot buy it.
        assert listing["can_purchase"] is False
        assert listing["purchase_status_reason"] == "this is your listing"
        stored = db.session.get(StubListing, listing["id"])
        assert stored is not None
        assert stored.asking_price_cents == 1250
        assert db.session.query(AuditLogEntry).filter_by(action="listing.created").count() == 1

    # Price cases share one login (scrypt makes logins the slow part); failures name them.
    # The minimum is LISTING_MIN_PRICE_CENTS ($1.00 by default; the fee floor needs it).
    ACCEPTED = (
        ("1", 100),
        (1.0, 100),
        ("1.00", 100),
        (12, 1200),
        ("100000", 10_000_000),
        (99.99, 9999),
    )
    REFUSED = (
        (0, "at least $1.00"),
        ("0", "at least $1.00"),
        (0.499, "two decimal places"),
        ("0.49", "at least $1.00"),
        ("0.99", "at least $1.00"),
        (0.5, "at least $1.00"),
        (1e9, "at most $100,000.00"),
        ("100000.01", "at most $100,000.00"),
        ("12.345", "two decimal places"),
        ("abc", "decimal amount"),
        ("", "decimal amount"),
        (-5, "at least $1.00"),
        ("-0.50", "at least $1.00"),
        ("NaN", "finite"),
        ("1e999999999", "at most"),
        (True, "decimal string or number"),
        (None, "decimal string or number"),
        ([12], "decimal string or number"),
        ({"amount": 12}, "decimal string or number"),
    )

    def test_accepted_prices(self, seller_client: FlaskClient, seller: User) -> None:
        for price, cents in self.ACCEPTED:
            stub = StubFactory.create(owner=seller)
            response = create(seller_client, stub.id, price)
            assert response.status_code == 201, (price, response.json)
            assert response.json["listing"]["asking_price_cents"] == cents, price

    def test_refused_prices_name_the_field_and_change_nothing(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        stub = StubFactory.create(owner=seller)
        for price, words in self.REFUSED:
            response = create(seller_client, stub.id, price)
            assert response.status_code == 422, (price, response.json)
            assert words in response.json["errors"]["asking_price"], price
        assert db.session.query(StubListing).count() == 0

    def test_stub_already_listed_is_409(self, seller_client: FlaskClient, seller: User) -> None:
        stub = StubFactory.create(owner=seller)
        first = create(seller_client, stub.id)
        assert first.status_code == 201
        again = create(seller_client, stub.id, "20")
        assert again.status_code == 409
        assert "already listed" in again.json["message"]
        assert again.json["errors"] == {"stub_id": again.json["message"]}
        assert db.session.query(StubListing).count() == 1

    def test_the_unique_index_decides_when_the_check_is_raced(
        self, seller_client: FlaskClient, seller: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        stub = StubFactory.create(owner=seller)
        assert create(seller_client, stub.id).status_code == 201
        # Simulate a second request that passed the friendly check before the first insert.
        real_scalar = Session.scalar
        skipped: list[str] = []

        def scalar_missing_existing(self: Session, statement: Any, *args: Any, **kw: Any) -> Any:
            if not skipped and "stub_listings.stub_id" in str(statement):
                skipped.append(str(statement))
                return None
            return real_scalar(self, statement, *args, **kw)

        monkeypatch.setattr(Session, "scalar", scalar_missing_existing)
        again = create(seller_client, stub.id)
        assert again.status_code == 409
        assert again.json["message"] == "this stub is already listed"
        assert skipped

    def test_cancelled_stub_can_be_listed_again(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        stub = StubFactory.create(owner=seller)
        first = create(seller_client, stub.id).json["listing"]["id"]
        assert seller_client.delete(f"{URL}/{first}", json={}).status_code == 200
        again = create(seller_client, stub.id, "15")
        assert again.status_code == 201
        assert again.json["listing"]["id"] != first

    def test_someone_elses_private_stub_is_404(self, seller_client: FlaskClient) -> None:
        # Security phase 2 (authorization matrix): a 403 told anyone that a private stub
        # with this id exists; the collection API calls it "not found", and so does this.
        other_stub = StubFactory.create()
        response = create(seller_client, other_stub.id)
        assert response.status_code == 404
        assert db.session.query(StubListing).count() == 0

    def test_someone_elses_listed_stub_is_403(self, seller_client: FlaskClient) -> None:
        listing = ListingFactory.create()
        response = create(seller_client, listing.stub_id)
        assert response.status_code == 403
        assert db.session.query(StubListing).count() == 1

    def test_unknown_stub_is_404(self, seller_client: FlaskClient) -> None:
        assert create(seller_client, 999_999).status_code == 404

    def test_anonymous_is_401(self, client: FlaskClient) -> None:
        stub = StubFactory.create()
        assert create(client, stub.id).status_code == 401

    def test_form_posts_are_refused(self, seller_client: FlaskClient, seller: User) -> None:
        stub = StubFactory.create(owner=seller)
        response = seller_client.post(URL, data={"stub_id": stub.id, "asking_price": "5"})
        assert response.status_code == 415

    @pytest.mark.parametrize(
        ("account", "missing"),
        [
            ({}, "connect a Stripe account"),
            (
                {
                    "stripe_account_id": "acct_restricted01",
                    "stripe_details_submitted": True,
                    "stripe_requirements_due": ["individual.verification.document"],
                },
                "Stripe needs: individual.verification.document",
            ),
            ({"stripe_account_id": "acct_halfway0001"}, "finish Stripe onboarding"),
        ],
    )
    def test_seller_who_cannot_take_charges_is_409_naming_what_is_missing(
        self, client: FlaskClient, auth: AuthActions, account: dict[str, Any], missing: str
    ) -> None:
        user = UserFactory.create(**account)
        stub = StubFactory.create(owner=user)
        auth.login(user.username)
        response = create(client, stub.id)
        assert response.status_code == 409
        assert missing in response.json["message"]
        assert "seller" in response.json["errors"]
        assert db.session.query(StubListing).count() == 0


class TestRead:
    def test_anyone_can_read_a_listing(self, client: FlaskClient) -> None:
        listing = ListingFactory.create(asking_price_cents=999)
        response = client.get(f"{URL}/{listing.id}")
        assert response.status_code == 200
        body = response.json["listing"]
        assert body["price_display"] == "$9.99"
        assert body["can_purchase"] is True
        assert body["purchase_status_reason"] is None

    def test_unknown_listing_is_404(self, client: FlaskClient) -> None:
        response = client.get(f"{URL}/424242")
        assert response.status_code == 404
        assert response.json["message"] == "listing not found"

    @pytest.mark.parametrize(
        ("status", "reason"),
        [
            (ListingStatus.SOLD, "this listing has been sold"),
            (ListingStatus.CANCELLED, "this listing was withdrawn by the seller"),
        ],
    )
    def test_sold_and_cancelled_cannot_be_bought(
        self, client: FlaskClient, status: ListingStatus, reason: str
    ) -> None:
        listing = ListingFactory.create(status=status.value)
        body = client.get(f"{URL}/{listing.id}").json["listing"]
        assert body["status"] == status.value
        assert (body["can_purchase"], body["purchase_status_reason"]) == (False, reason)

    def test_reserved_by_someone_else_then_expired_reads_as_buyable(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        listing = ListingFactory.create()
        holder, other = UserFactory.create(), UserFactory.create()
        with transaction() as session:
            listing_status.reserve(session, listing.id, holder.id, minutes=15)
        auth.login(other.username)
        body = client.get(f"{URL}/{listing.id}").json["listing"]
        assert body["status"] == "payment_pending"
        assert body["can_purchase"] is False
        assert "another buyer" in body["purchase_status_reason"]
        auth.login(holder.username)
        mine = client.get(f"{URL}/{listing.id}").json["listing"]
        assert (mine["can_purchase"], mine["reserved_by_you"]) == (True, True)

        # Let the hold lapse without any sweep: the listing reads as buyable again.
        db.session.execute(
            update(StubListing)
            .where(StubListing.id == listing.id)
            .values(reserved_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        auth.login(other.username)
        body = client.get(f"{URL}/{listing.id}").json["listing"]
        assert body["status"] == "active"
        assert body["reserved_until"] is None
        assert (body["can_purchase"], body["purchase_status_reason"]) == (True, None)

    def test_seller_without_charges_shows_the_reason(self, client: FlaskClient) -> None:
        listing = ListingFactory.create()
        db.session.execute(
            update(User).where(User.id == listing.seller_id).values(stripe_charges_enabled=False)
        )
        db.session.commit()
        body = client.get(f"{URL}/{listing.id}").json["listing"]
        assert body["can_purchase"] is False
        assert body["purchase_status_reason"] == "seller is not set up to receive payments"
        assert body["seller"]["is_verified_seller"] is False


class TestEditAndCancel:
    def test_seller_changes_price_and_description(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        listing = ListingFactory.create(seller=seller)
        response = seller_client.patch(
            f"{URL}/{listing.id}", json={"asking_price": 30, "description": "signed"}
        )
        assert response.status_code == 200, response.json
        body = response.json["listing"]
        assert (body["asking_price_cents"], body["description"]) == (3000, "signed")
        entry = db.session.query(AuditLogEntry).filter_by(action="listing.updated").one()
        assert entry.details == {"price_before_cents": 2500, "price_after_cents": 3000}

    def test_patch_price_validation(self, seller_client: FlaskClient, seller: User) -> None:
        listing = ListingFactory.create(seller=seller)
        for price in ("12.345", "0.49", None, "abc"):
            response = seller_client.patch(f"{URL}/{listing.id}", json={"asking_price": price})
            assert response.status_code == 422, price
            assert "asking_price" in response.json["errors"]
        assert seller_client.patch(f"{URL}/{listing.id}", json={}).status_code == 422
        unknown = seller_client.patch(f"{URL}/{listing.id}", json={"status": "sold"})
        assert unknown.status_code == 422
        db.session.expire_all()
        assert db.session.get(StubListing, listing.id).asking_price_cents == 2500  # type: ignore[union-attr]

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_others_get_403_and_nothing_changes(
        self, client: FlaskClient, auth: AuthActions, method: str
    ) -> None:
        listing = ListingFactory.create()
        stranger = SellerFactory.create()
        auth.login(stranger.username)
        response = getattr(client, method)(f"{URL}/{listing.id}", json={"asking_price": "1"})
        assert response.status_code == 403
        db.session.expire_all()
        stored = db.session.get(StubListing, listing.id)
        assert stored is not None
        assert (stored.status, stored.asking_price_cents) == ("active", 2500)

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_anonymous_gets_401(self, client: FlaskClient, method: str) -> None:
        listing = ListingFactory.create()
        response = getattr(client, method)(f"{URL}/{listing.id}", json={"asking_price": "1"})
        assert response.status_code == 401

    def test_unknown_listing_is_404(self, seller_client: FlaskClient) -> None:
        assert seller_client.patch(f"{URL}/777", json={"asking_price": 5}).status_code == 404
        assert seller_client.delete(f"{URL}/777", json={}).status_code == 404

    def test_cancel_keeps_the_row_as_history(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        listing = ListingFactory.create(seller=seller)
        response = seller_client.delete(f"{URL}/{listing.id}", json={})
        assert response.status_code == 200
        assert response.json["listing"]["status"] == "cancelled"
        assert response.json["listing"]["cancelled_at"] is not None
        # Cancelling again is harmless; editing a cancelled listing is not possible.
        assert seller_client.delete(f"{URL}/{listing.id}", json={}).status_code == 200
        edit = seller_client.patch(f"{URL}/{listing.id}", json={"asking_price": 5})
        assert edit.status_code == 409
        assert seller_client.get(f"{URL}/{listing.id}").json["listing"]["status"] == "cancelled"

    def test_admin_may_cancel_but_not_edit(self, client: FlaskClient, auth: AuthActions) -> None:
        listing = ListingFactory.create()
        admin = UserFactory.create(is_admin=True)
        auth.login(admin.username)
        assert client.patch(f"{URL}/{listing.id}", json={"asking_price": 5}).status_code == 403
        assert client.delete(f"{URL}/{listing.id}", json={}).status_code == 200

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_reserved_listing_cannot_be_changed_under_the_buyer(
        self, seller_client: FlaskClient, seller: User, method: str
    ) -> None:
        listing = ListingFactory.create(seller=seller)
        buyer = UserFactory.create()
        with transaction() as session:
            listing_status.reserve(session, listing.id, buyer.id, minutes=15)
        response = getattr(seller_client, method)(f"{URL}/{listing.id}", json={"asking_price": 9})
        assert response.status_code == 409
        assert "paying" in response.json["message"]
        db.session.expire_all()
        stored = db.session.get(StubListing, listing.id)
        assert stored is not None
        assert (stored.status, stored.asking_price_cents) == ("payment_pending", 2500)

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_sold_listing_cannot_be_changed(
        self, seller_client: FlaskClient, seller: User, method: str
    ) -> None:
        listing = ListingFactory.create(seller=seller, status="sold")
        response = getattr(seller_client, method)(f"{URL}/{listing.id}", json={"asking_price": 9})
        assert response.status_code == 409
        assert "sold" in response.json["message"]

    def test_expired_hold_is_released_before_the_edit(
        self, seller_client: FlaskClient, seller: User
    ) -> None:
        listing = ListingFactory.create(seller=seller)
        buyer = UserFactory.create()
        with transaction() as session:
            listing_status.reserve(
                session, listing.id, buyer.id, minutes=15, now=utcnow() - timedelta(hours=1)
            )
        response = seller_client.patch(f"{URL}/{listing.id}", json={"asking_price": "7.5"})
        assert response.status_code == 200, response.json
        db.session.expire_all()
        stored = db.session.get(StubListing, listing.id)
        assert stored is not None
        assert (stored.status, stored.reserved_by_user_id, stored.asking_price_cents) == (
            "active",
            None,
            750,
        )
        actions = {e.action for e in db.session.query(AuditLogEntry)}
        assert "listing.reservation_expired" in actions

    def test_a_buyer_reserving_between_check_and_write_wins(
        self, seller_client: FlaskClient, seller: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        listing = ListingFactory.create(seller=seller)
        buyer = UserFactory.create()
        real_ensure = selling._ensure_changeable

        def reserve_right_after_the_check(target: StubListing, verb: str) -> None:
            real_ensure(target, verb)
            with transaction() as session:
                listing_status.reserve(session, listing.id, buyer.id, minutes=15)

        monkeypatch.setattr(selling, "_ensure_changeable", reserve_right_after_the_check)
        response = seller_client.delete(f"{URL}/{listing.id}", json={})
        assert response.status_code == 409
        db.session.expire_all()
        assert db.session.get(StubListing, listing.id).status == "payment_pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("currency", "shown"),
    [("EUR", "€36.45"), ("GBP", "£36.45"), ("CHF", "CHF 36.45"), (None, "36.45")],
)
def test_a_listed_stubs_face_value_is_shown_in_its_own_currency(
    client: FlaskClient, seller: User, currency: str | None, shown: str
) -> None:
    stub = StubFactory.create(owner=seller, face_value_cents=3645, currency=currency)
    listing = ListingFactory.create(seller=seller, stub=stub)
    listed = client.get(f"{URL}/{listing.id}").json["listing"]["stub"]
    assert (listed["face_value_display"], listed["currency"]) == (shown, currency)
    page = client.get(f"/marketplace/listings/{listing.id}", headers={"Accept": "text/html"})
    assert f"<dd>{shown}</dd>" in page.get_data(as_text=True)
