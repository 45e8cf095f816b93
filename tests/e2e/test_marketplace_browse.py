"""Browsing and searching the marketplace: filters, sorting, pages, and a fixed query count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from stubcollector.extensions import db
from stubcollector.models import StubListing, User, utcnow
from stubcollector.services.marketplace import browsing, listing_status
from stubcollector.services.transaction import transaction
from tests.support.clients import AuthActions
from tests.support.database import counting_queries
from tests.support.factories import ListingFactory, SellerFactory, StubFactory, UserFactory

URL = "/api/marketplace/listings"


@pytest.fixture(autouse=True)
def _fresh_totals() -> Iterator[None]:
    browsing.totals.clear()
    browsing.pages.clear()
    yield
    browsing.totals.clear()
    browsing.pages.clear()


def listing(
    seller: User | None = None,
    *,
    price: int = 2500,
    age_minutes: int = 0,
    status: str = "active",
    **stub_fields: Any,
) -> StubListing:
    seller = seller or SellerFactory.create()
    stub = StubFactory.create(owner=seller, **stub_fields)
    return ListingFactory.create(
        seller=seller,
        stub=stub,
        asking_price_cents=price,
        status=status,
        listed_at=utcnow() - timedelta(minutes=age_minutes),
    )


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["listings"]]


@pytest.fixture
def catalogue(app: Flask) -> dict[str, StubListing]:
    vera = SellerFactory.create(username="vera")
    return {
        "pearl": listing(
            vera,
            price=1850,
            age_minutes=50,
            performer="Pearl Jam",
            event_name="Ten Tour",
            venue="Paramount Theatre",
            city="Seattle",
            event_date=dt.date(1992, 3, 20),
        ),
        "radiohead": listing(
            price=2500,
            age_minutes=40,
            performer="Radiohead",
            event_name="OK Computer",
            venue="Roseland Ballroom",
            city="New York",
            event_date=dt.date(1997, 7, 17),
        ),
        "hosen": listing(
            price=6990,
            age_minutes=30,
            performer="Die Toten Hosen",
            event_name="Laune der Natour",
            venue="ESPRIT arena",
            city="Düsseldorf",
            event_date=dt.date(2017, 10, 29),
        ),
        "cubs": listing(
            vera,
            price=9500,
            age_minutes=20,
            performer="Chicago Cubs",
            event_name="Cubs vs. Cardinals 100%",
            venue="Wrigley Field",
            city="Chicago",
            event_date=None,
        ),
        "sold": listing(status="sold", performer="Pearl Jam", event_name="Vs. Tour"),
        "cancelled": listing(status="cancelled", performer="Pearl Jam", event_name="Yield"),
    }


class TestSearchAndFilters:
    def test_default_is_newest_first_and_only_what_is_on_sale(
        self, client: FlaskClient, catalogue: dict[str, StubListing]
    ) -> None:
        response = client.get(URL)
        c = catalogue
        assert ids(response) == [c["cubs"].id, c["hosen"].id, c["radiohead"].id, c["pearl"].id]
        body = response.json
        assert (body["page"], body["per_page"], body["total"], body["has_next"]) == (
            1,
            24,
            4,
            False,
        )
        first = body["listings"][0]
        assert first["stub"]["performer"] == "Chicago Cubs"
        assert first["seller"]["username"] == "vera"
        assert first["can_purchase"] is True

    # Cases share one catalogue (building it is the slow part); failures name their case.
    SEARCHES = (
        ("pearl", ["pearl"]),
        ("PEARL jam", ["pearl"]),
        ("paramount", ["pearl"]),
        ("seattle", ["pearl"]),
        ("computer", ["radiohead"]),
        ("düsseldorf", ["hosen"]),
        ("tour", ["hosen", "pearl"]),
        ("100%", ["cubs"]),
        ("%", ["cubs"]),
        ("_", []),
        ("pearl radiohead", []),
        ("nothing-like-this", []),
    )

    def test_text_search_over_event_performer_venue_city(
        self, client: FlaskClient, catalogue: dict[str, StubListing]
    ) -> None:
        for q, expected in self.SEARCHES:
            found = ids(client.get(URL, query_string={"q": q}))
            assert found == [catalogue[name].id for name in expected], q

    FILTERS = (
        ({"min_price": "25"}, ["cubs", "hosen", "radiohead"]),
        ({"max_price": "25.00"}, ["radiohead", "pearl"]),
        ({"min_price": "18.50", "max_price": "69.90"}, ["hosen", "radiohead", "pearl"]),
        ({"date_from": "1995-01-01"}, ["hosen", "radiohead"]),
        ({"date_to": "1997-07-17"}, ["radiohead", "pearl"]),
        ({"date_from": "1990-01-01", "date_to": "1995-12-31"}, ["pearl"]),
        ({"venue": "wrigley"}, ["cubs"]),
        ({"venue": "Roseland Ballroom"}, ["radiohead"]),
        ({"seller": "VERA"}, ["cubs", "pearl"]),
        ({"q": "", "venue": "", "min_price": ""}, ["cubs", "hosen", "radiohead", "pearl"]),
        ({"q": "tour", "max_price": "20"}, ["pearl"]),
    )

    def test_filters(self, client: FlaskClient, catalogue: dict[str, StubListing]) -> None:
        for params, expected in self.FILTERS:
            found = ids(client.get(URL, query_string=params))
            assert found == [catalogue[name].id for name in expected], params

    def test_seller_id_filter(self, client: FlaskClient, catalogue: dict[str, StubListing]) -> None:
        seller_id = catalogue["radiohead"].seller_id
        assert ids(client.get(URL, query_string={"seller_id": seller_id})) == [
            catalogue["radiohead"].id
        ]

    SORTS = (
        ("newest", ["cubs", "hosen", "radiohead", "pearl"]),
        ("price_asc", ["pearl", "radiohead", "hosen", "cubs"]),
        ("price_desc", ["cubs", "hosen", "radiohead", "pearl"]),
        # Stubs without a date come last in both directions.
        ("event_date", ["pearl", "radiohead", "hosen", "cubs"]),
        ("event_date_desc", ["hosen", "radiohead", "pearl", "cubs"]),
    )

    def test_sorting(self, client: FlaskClient, catalogue: dict[str, StubListing]) -> None:
        for sort, expected in self.SORTS:
            found = ids(client.get(URL, query_string={"sort": sort}))
            assert found == [catalogue[name].id for name in expected], sort

    def test_equal_prices_keep_a_stable_order(self, client: FlaskClient) -> None:
        same = [listing(price=1000).id for _ in range(3)]
        assert ids(client.get(URL, query_string={"sort": "price_asc"})) == same
        assert ids(client.get(URL, query_string={"sort": "price_desc"})) == same[::-1]

    def test_reserved_listings_leave_browse_until_the_hold_expires(
        self, client: FlaskClient, catalogue: dict[str, StubListing]
    ) -> None:
        held = catalogue["pearl"]
        buyer = UserFactory.create()
        with transaction() as session:
            listing_status.reserve(session, held.id, buyer.id, minutes=15)
        assert held.id not in ids(client.get(URL))
        db.session.execute(
            update(StubListing)
            .where(StubListing.id == held.id)
            .values(reserved_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        browsing.totals.clear()
        response = client.get(URL)
        assert held.id in ids(response)
        shown = next(item for item in response.json["listings"] if item["id"] == held.id)
        assert (shown["status"], shown["can_purchase"]) == ("active", True)

    def test_viewer_sees_own_listings_as_not_purchasable(
        self, client: FlaskClient, auth: AuthActions, catalogue: dict[str, StubListing]
    ) -> None:
        vera = db.session.get(User, catalogue["pearl"].seller_id)
        assert vera is not None
        auth.login(vera.username)
        listings = client.get(URL).json["listings"]
        mine = {item["id"]: item for item in listings if item["seller_id"] == vera.id}
        assert {item["purchase_status_reason"] for item in mine.values()} == {REASON_OWN}
        others = [item for item in listings if item["seller_id"] != vera.id]
        assert all(item["can_purchase"] for item in others)


REASON_OWN = "this is your listing"


class TestForgivingSearch:
    """Accents and case never stand between a collector and a stub; a year finds its events."""

    @pytest.fixture
    def printed(self, app: Flask) -> dict[str, StubListing]:
        return {
            "munich": listing(
                age_minutes=30,
                performer="Die Ärzte",
                event_name="Jazz ist anders Tour",
                venue="Olympiahalle",
                city="München",
                event_date=dt.date(2008, 11, 14),
            ),
            "cards": listing(
                age_minutes=20,
                performer="ST. LOUIS CÁRDINALS",
                event_name="Opening Day",
                venue="Busch Stadium",
                city="St. Louis",
                event_date=dt.date(1997, 4, 1),
            ),
            "paris": listing(
                age_minutes=10,
                performer="Björk",
                event_name="Homogenic",
                venue="Théâtre du Châtelet",
                city="Paris",
                event_date=dt.date(1998, 2, 3),
            ),
        }

    SEARCHES = (
        ("Munchen", ["munich"]),
        ("MÜNCHEN", ["munich"]),
        ("münchen", ["munich"]),
        ("arzte", ["munich"]),
        ("cardinals", ["cards"]),
        ("Cárdinals", ["cards"]),
        ("bjork", ["paris"]),
        ("BJÖRK homogenic", ["paris"]),
        ("chatelet", ["paris"]),
        ("1997", ["cards"]),
        ("1997 cardinals", ["cards"]),
        ("199", ["paris", "cards"]),
        ("1997 bjork", []),
    )

    def test_words_match_whatever_their_accents_and_case(
        self, client: FlaskClient, printed: dict[str, StubListing]
    ) -> None:
        for q, expected in self.SEARCHES:
            found = ids(client.get(URL, query_string={"q": q}))
            assert found == [printed[name].id for name in expected], q

    def test_the_venue_filter_forgives_too(
        self, client: FlaskClient, printed: dict[str, StubListing]
    ) -> None:
        for venue in ("theatre du chatelet", "THÉÂTRE", "Chatelet"):
            found = ids(client.get(URL, query_string={"venue": venue}))
            assert found == [printed["paris"].id], venue

    def test_a_corrected_stub_is_found_by_its_new_text_only(
        self, client: FlaskClient, auth: AuthActions, printed: dict[str, StubListing]
    ) -> None:
        listed = printed["cards"]
        seller = db.session.get(User, listed.seller_id)
        assert seller is not None
        auth.login(seller.username)
        changed = client.patch(
            f"/api/stubs/{listed.stub_id}",
            json={"performer": "Kansas City Royals", "event_date": "1985-10-27"},
        )
        assert changed.status_code == 200, changed.json
        assert ids(client.get(URL, query_string={"q": "royals 1985"})) == [listed.id]
        assert ids(client.get(URL, query_string={"q": "cardinals"})) == []
        assert ids(client.get(URL, query_string={"q": "1997"})) == []

    @pytest.mark.parametrize("q", ["band", "BÄND", "2019", "bänd 2019"])
    def test_folded_searches_run_the_same_statements(
        self, app: Flask, client: FlaskClient, q: str
    ) -> None:
        for number in range(30):
            listing(age_minutes=number, performer=f"Bänd {number}", event_date=dt.date(2019, 1, 1))
        browsing.totals.clear()
        with counting_queries(app) as statements:
            response = client.get(URL, query_string={"per_page": 10, "q": q})
        assert response.json["total"] == 30
        # One page query and one count, as for any search.
        assert len(statements) == 2, statements


class TestInvalidParameters:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page": "0"}, "page"),
            ({"page": "abc"}, "page"),
            ({"per_page": "101"}, "per_page"),
            ({"per_page": "0"}, "per_page"),
            ({"sort": "cheapest"}, "sort"),
            ({"min_price": "abc"}, "min_price"),
            ({"min_price": "-1"}, "min_price"),
            ({"max_price": "1.234"}, "max_price"),
            ({"min_price": "50", "max_price": "10"}, "max_price"),
            ({"date_from": "yesterday"}, "date_from"),
            ({"date_from": "2020-01-02", "date_to": "2020-01-01"}, "date_to"),
            ({"seller_id": "x"}, "seller_id"),
            ({"q": "a b c d e f g h i"}, "q"),
            ({"q": "x" * 201}, "q"),
        ],
    )
    def test_422_names_the_parameter(
        self, client: FlaskClient, params: dict[str, str], field: str
    ) -> None:
        response = client.get(URL, query_string=params)
        assert response.status_code == 422, response.json
        assert field in response.json["errors"]


class TestPagesAndQueries:
    def test_pages_and_total(self, client: FlaskClient) -> None:
        made = [listing(age_minutes=minute).id for minute in range(7)]
        first = client.get(URL, query_string={"per_page": 3})
        assert ids(first) == made[:3]
        assert (first.json["total"], first.json["has_next"]) == (7, True)
        third = client.get(URL, query_string={"per_page": 3, "page": 3})
        assert ids(third) == made[6:]
        assert (third.json["total"], third.json["has_next"]) == (7, False)
        beyond = client.get(URL, query_string={"per_page": 3, "page": 9})
        assert ids(beyond) == []
        assert beyond.json["total"] == 7

    def test_total_is_counted_once_then_reused_and_exact_on_the_last_page(
        self, app: Flask, client: FlaskClient
    ) -> None:
        for minute in range(5):
            listing(age_minutes=minute)
        with counting_queries(app) as statements:
            assert client.get(URL, query_string={"per_page": 2}).json["total"] == 5
        assert sum("count(" in s.lower() for s in statements) == 1

        # A new listing from another worker: the cached total may lag, but never below
        # what this page proves exists.
        listing(age_minutes=10)
        with counting_queries(app) as statements:
            again = client.get(URL, query_string={"per_page": 2})
        assert sum("count(" in s.lower() for s in statements) == 0
        assert again.json["total"] == 5
        last = client.get(URL, query_string={"per_page": 2, "page": 3})
        assert (last.json["total"], last.json["has_next"]) == (6, False)

    def test_every_sort_of_the_same_filters_shares_one_count(
        self, app: Flask, client: FlaskClient
    ) -> None:
        for minute in range(5):
            listing(age_minutes=minute)
        with counting_queries(app) as statements:
            for sort in ("newest", "price_asc", "price_desc", "event_date"):
                page = client.get(URL, query_string={"per_page": 2, "sort": sort})
                assert page.json["total"] == 5
        assert sum("count(" in s.lower() for s in statements) == 1

    def test_counting_every_time_when_the_cache_is_off(self, make_app: Any, app: Flask) -> None:
        uncached = make_app(marketplace_total_cache_seconds=0, marketplace_page_cache_seconds=0)
        with uncached.app_context():
            for minute in range(3):
                listing(age_minutes=minute)
            client = uncached.test_client()
            with counting_queries(uncached) as statements:
                client.get(URL, query_string={"per_page": 1})
                client.get(URL, query_string={"per_page": 1})
            assert sum("count(" in s.lower() for s in statements) == 2

    def test_creating_a_listing_here_refreshes_the_total(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        seller = SellerFactory.create()
        for minute in range(3):
            listing(seller, age_minutes=minute)
        assert client.get(URL, query_string={"per_page": 1}).json["total"] == 3
        auth.login(seller.username)
        stub = StubFactory.create(owner=seller)
        created = client.post(URL, json={"stub_id": stub.id, "asking_price": "3"})
        assert created.status_code == 201
        assert client.get(URL, query_string={"per_page": 1}).json["total"] == 4

    @pytest.mark.parametrize("logged_in", [False, True])
    def test_query_count_does_not_grow_with_the_page_size(
        self, app: Flask, client: FlaskClient, auth: AuthActions, logged_in: bool
    ) -> None:
        sellers = [SellerFactory.create() for _ in range(5)]
        for number in range(55):
            listing(sellers[number % 5], age_minutes=number, performer=f"Band {number}")
        if logged_in:
            auth.login(UserFactory.create().username)
        counts = {}
        for per_page in (1, 10, 50):
            browsing.totals.clear()
            with counting_queries(app) as statements:
                response = client.get(URL, query_string={"per_page": per_page, "q": "band"})
            assert len(response.json["listings"]) == per_page
            counts[per_page] = len(_without_login(statements))
        # One page query and one count, whatever the page size.
        assert counts == dict.fromkeys((1, 10, 50), 2)
        browsing.pages.clear()
        with counting_queries(app) as statements:
            client.get(URL, query_string={"per_page": 50, "q": "band"})
        # The count is reused: one query per page.
        assert len(_without_login(statements)) == 1
        with counting_queries(app) as statements:
            again = client.get(URL, query_string={"per_page": 50, "q": "band"})
        # Nothing changed since: the page's rows are reused too.
        assert _without_login(statements) == []
        assert again.json["listings"] == response.json["listings"]


def _without_login(statements: list[str]) -> list[str]:
    # Flask-Login's user lookup (once per request when a session cookie is sent).
    return [s for s in statements if "users.session_token" not in s]


class TestCursor:
    @pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc"])
    def test_following_next_cursor_walks_the_same_order_as_pages(
        self, client: FlaskClient, sort: str
    ) -> None:
        # Equal prices and equal listing times: the id breaks ties in both walks.
        same_time = utcnow()
        for number in range(8):
            listing(price=1000 + 100 * (number // 3), age_minutes=number // 2)
        ListingFactory.create(asking_price_cents=1000, listed_at=same_time)
        by_pages: list[int] = []
        for page in (1, 2, 3):
            by_pages += ids(
                client.get(URL, query_string={"sort": sort, "per_page": 4, "page": page})
            )

        walked: list[int] = []
        params: dict[str, Any] = {"sort": sort, "per_page": 4}
        pages = []
        while True:
            response = client.get(URL, query_string=params)
            walked += ids(response)
            pages.append(response.json["page"])
            cursor = response.json["next_cursor"]
            if cursor is None:
                assert response.json["has_next"] is False
                break
            params = {"sort": sort, "per_page": 4, "cursor": cursor}
        assert walked == by_pages
        assert len(set(walked)) == 9
        assert pages == [1, 2, 3]
        assert response.json["total"] == 9

    def test_event_date_sorts_have_no_cursor(self, client: FlaskClient) -> None:
        for _ in range(3):
            listing()
        response = client.get(URL, query_string={"sort": "event_date", "per_page": 1})
        assert response.json["has_next"] is True
        assert response.json["next_cursor"] is None

    @pytest.mark.parametrize(
        "cursor", ["garbage", "W10", "WyJuZXdlc3QiLDEsMiwzXQ", "WyJwcmljZV9hc2MiLDEsMiwzXQ"]
    )
    def test_foreign_or_broken_cursor_is_422(self, client: FlaskClient, cursor: str) -> None:
        # The last two are valid JSON for the wrong key type and for another sort.
        response = client.get(URL, query_string={"cursor": cursor})
        assert response.status_code == 422
        assert "cursor" in response.json["errors"]
