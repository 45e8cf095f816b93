"""Marketplace and selling pages through the test client: browse, listing, edit, cancel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import db
from stubcollector.models import StubListing, User, utcnow
from stubcollector.services.marketplace import browsing, selling
from tests.support.clients import AuthActions
from tests.support.factories import ListingFactory, SellerFactory, StubFactory, UserFactory
from tests.support.pages import HTML, csrf_token, field_error


@pytest.fixture(autouse=True)
def _fresh_totals() -> Iterator[None]:
    browsing.totals.clear()
    yield
    browsing.totals.clear()


@pytest.fixture
def seller(app: Flask) -> User:
    return SellerFactory.create(display_name="Vera Vinyl", location="Seattle")


def listing_of(seller: User, price: int = 2500, **stub: object) -> StubListing:
    return ListingFactory.create(
        seller=seller, stub=StubFactory.create(owner=seller, **stub), asking_price_cents=price
    )


def login(client: FlaskClient, user: User) -> FlaskClient:
    assert AuthActions(client).login(user.username).status_code == 200
    return client


def test_marketplace_shows_cards_with_dollars_and_seller(client: FlaskClient, seller: User) -> None:
    listing_of(
        seller, 123450, event_name="Ten Tour", venue="Paramount", event_date=date(1992, 3, 1)
    )
    page = client.get("/marketplace", headers=HTML).get_data(as_text=True)
    assert "Ten Tour" in page
    assert "$1,234.50" in page
    assert "Vera Vinyl" in page
    assert "Mar 1, 1992" in page
    assert "Paramount" in page


def _cards(page: str) -> list[str]:
    return re.findall(r'<article class="listing-card[^"]*">.*?</article>', page, re.S)


def _title(card: str) -> str:
    found = re.search(r'listing-card__title">([^<]+)<', card)
    assert found is not None
    return found.group(1)


def test_home_profile_and_marketplace_show_one_kind_of_listing_card(
    client: FlaskClient, seller: User
) -> None:
    listing_of(
        seller, 123450, event_name="Ten Tour", venue="Paramount", event_date=date(1992, 3, 1)
    )
    listing_of(seller, 900, event_name="Mystery Gig", performer=None, venue=None, event_date=None)

    pages = {
        path: client.get(path, headers=HTML).get_data(as_text=True)
        for path in ("/", f"/users/{seller.id}", "/marketplace")
    }
    for path, page in pages.items():
        cards = {_title(card): card for card in _cards(page)}
        assert set(cards) == {"Ten Tour", "Mystery Gig"}, path
        assert "Paramount" in cards["Ten Tour"]
        assert "Mar 1, 1992" in cards["Ten Tour"]
        assert "$1,234.50" in cards["Ten Tour"]
        assert "Venue unknown" in cards["Mystery Gig"]
        assert "Date unknown" in cards["Mystery Gig"]
        on_market = path == "/marketplace"
        # The seller's name only where buyers compare sellers.
        assert ("market-card__seller" in cards["Ten Tour"]) is on_market, path
        assert ('class="listing-card market-card"' in cards["Ten Tour"]) is on_market, path


def test_marketplace_search_filters_sort_and_empty_states(
    client: FlaskClient, seller: User
) -> None:
    empty = client.get("/marketplace", headers=HTML).get_data(as_text=True)
    assert "No stubs for sale yet" in empty
    listing_of(seller, 1000, event_name="Cheap Gig", venue="Basement", event_date=date(2001, 1, 1))
    listing_of(seller, 9000, event_name="Dear Gig", venue="Stadium", event_date=date(1985, 7, 13))
    other = SellerFactory.create(username="othersell")
    listing_of(other, 5000, event_name="Middle Gig", venue="Club", event_date=date(1995, 5, 5))

    def names(query: str) -> list[str]:
        page = client.get(f"/marketplace?{query}", headers=HTML).get_data(as_text=True)
        return re.findall(r'<h3 class="listing-card__title">([^<]+)</h3>', page)

    assert names("q=dear") == ["Dear Gig"]
    assert names("min_price=20&max_price=%2460") == ["Middle Gig"]
    assert names("date_from=1990-01-01&date_to=1999-12-31") == ["Middle Gig"]
    assert names("venue=stad") == ["Dear Gig"]
    assert names("seller=othersell") == ["Middle Gig"]
    assert names("sort=price_asc") == ["Cheap Gig", "Middle Gig", "Dear Gig"]
    assert names("sort=event_date") == ["Dear Gig", "Middle Gig", "Cheap Gig"]
    nothing = client.get("/marketplace?q=zeppelin", headers=HTML).get_data(as_text=True)
    assert "No listings match" in nothing


def test_marketplace_filter_errors_are_shown_next_to_the_fields(client: FlaskClient) -> None:
    response = client.get("/marketplace?min_price=50&max_price=10.001", headers=HTML)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert field_error(page, "max_price") == "Must have at most two decimal places"
    backwards = client.get("/marketplace?min_price=50&max_price=10", headers=HTML)
    assert field_error(backwards.get_data(as_text=True), "max_price") == (
        "Must not be below min_price"
    )


def test_marketplace_pages_through_results(client: FlaskClient, seller: User) -> None:
    for number in range(26):
        listing_of(seller, 1000 + number, event_name=f"Show {number:02d}")
    first = client.get("/marketplace?sort=price_asc", headers=HTML).get_data(as_text=True)
    assert first.count('class="listing-card market-card"') == 24
    assert "1\N{EN DASH}24 of 26 listings" in first
    assert 'href="/marketplace?sort=price_asc&amp;page=2"' in first
    second = client.get("/marketplace?sort=price_asc&page=2", headers=HTML).get_data(as_text=True)
    assert re.findall(r'listing-card__title">([^<]+)<', second) == ["Show 24", "Show 25"]


def test_listing_page_shows_seller_profile_and_buy_state(client: FlaskClient, seller: User) -> None:
    listing = listing_of(seller, 4200, event_name="Ten Tour", section="B", row="4", seat="12")
    url = f"/marketplace/listings/{listing.id}"
    anonymous = client.get(url, headers=HTML).get_data(as_text=True)
    assert "$42.00" in anonymous
    assert "Vera Vinyl" in anonymous
    assert "Verified seller" in anonymous
    assert "Section B · Row 4 · Seat 12" in anonymous
    assert f'href="/users/{seller.id}"' in anonymous
    assert "Log in to buy" in anonymous

    buyer = UserFactory.create()
    as_buyer = login(client, buyer).get(url, headers=HTML).get_data(as_text=True)
    # Checkout is another area's page; without it the button degrades to a notice.
    if "checkout.start" in client.application.view_functions:
        assert "Buy now · $42.00" in as_buyer
    else:
        assert "Checkout opens soon" in as_buyer

    own = login(client, seller).get(url, headers=HTML).get_data(as_text=True)
    assert "This is your listing." in own
    assert "Buy now" not in own


def test_listing_page_says_why_it_cannot_be_bought(client: FlaskClient, seller: User) -> None:
    sold = listing_of(seller)
    sold.status = ListingStatus.SOLD.value
    db.session.commit()
    page = client.get(f"/marketplace/listings/{sold.id}", headers=HTML).get_data(as_text=True)
    assert "Not available to buy: this listing has been sold." in page
    missing = client.get("/marketplace/listings/999999", headers=HTML)
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"


def test_home_and_profile_show_real_listings(client: FlaskClient, seller: User) -> None:
    listing_of(seller, 1999, event_name="Home Show")
    home = client.get("/", headers=HTML).get_data(as_text=True)
    assert "Home Show" in home
    assert "$19.99" in home
    profile = client.get(f"/users/{seller.id}", headers=HTML).get_data(as_text=True)
    assert "Home Show" in profile


def test_seller_edits_price_and_cancels_from_the_selling_page(
    client: FlaskClient, seller: User
) -> None:
    listing = listing_of(seller, 2500, event_name="Editable")
    login(client, seller)
    index = client.get("/selling", headers=HTML).get_data(as_text=True)
    assert "Editable" in index
    assert "$25.00" in index

    url = f"/selling/listings/{listing.id}"
    token = csrf_token(client, url)
    bad = client.post(url, data={"csrf_token": token, "asking_price": "0.10"}, headers=HTML)
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "asking_price") == "Must be at least $1.00"
    saved = client.post(
        url, data={"csrf_token": token, "asking_price": "30", "description": "Mint"}, headers=HTML
    )
    assert saved.status_code == 302
    db.session.refresh(listing)
    assert listing.asking_price_cents == 3000

    no_token = client.post(f"{url}/cancel", headers=HTML)
    assert no_token.status_code == 400
    cancelled = client.post(f"{url}/cancel", data={"csrf_token": token}, headers=HTML)
    assert cancelled.status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.CANCELLED.value


def test_a_listing_under_a_buyer_cannot_be_changed(client: FlaskClient, seller: User) -> None:
    buyer_id = UserFactory.create().id
    listing = listing_of(seller, 2500)
    listing.status = ListingStatus.PAYMENT_PENDING.value
    listing.reserved_by_user_id = buyer_id
    listing.reserved_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    login(client, seller)
    token = csrf_token(client, "/selling")
    refused = client.post(
        f"/selling/listings/{listing.id}/cancel",
        data={"csrf_token": token},
        headers=HTML,
        follow_redirects=True,
    )
    assert "The listing stays on sale: a buyer is paying for this listing" in refused.get_data(
        as_text=True
    )
    db.session.refresh(listing)
    assert listing.status == ListingStatus.PAYMENT_PENDING.value


def test_another_sellers_listing_cannot_be_edited(client: FlaskClient, seller: User) -> None:
    listing = listing_of(seller)
    login(client, UserFactory.create())
    response = client.get(f"/selling/listings/{listing.id}", headers=HTML)
    assert response.status_code == 403
    assert response.mimetype == "text/html"


def test_stub_listing_finds_the_live_listing_of_a_stub_only(app: Flask, seller: User) -> None:
    stub = StubFactory.create(owner=seller)
    assert selling.stub_listing(seller.id, stub.id) is None
    old = ListingFactory.create(seller=seller, stub=stub, status=ListingStatus.CANCELLED.value)
    old.cancelled_at = utcnow()
    db.session.commit()
    assert selling.stub_listing(seller.id, stub.id) is None
    live = ListingFactory.create(seller=seller, stub=stub, asking_price_cents=777)
    found = selling.stub_listing(seller.id, stub.id)
    assert found is not None
    assert found.id == live.id
    assert found.asking_price_cents == 777
    # Another user asking about the seller's stub learns nothing.
    assert selling.stub_listing(UserFactory.create().id, stub.id) is None
