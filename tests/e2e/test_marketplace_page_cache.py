"""The marketplace page cache: a page's rows are reused until something they show changes.

Every test runs on SQLite and PostgreSQL. The cache is keyed by the listing change
counter, which a committed write to ``stub_listings``, ``stubs`` or ``users`` advances,
however the write was made (ORM, Core, raw SQL, another app sharing the Redis counter).
"""

from __future__ import annotations

import logging
import time
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, User, utcnow
from stubcollector.services.marketplace import browsing, views
from tests.support.clients import AuthActions
from tests.support.database import counting_queries
from tests.support.factories import ListingFactory, SellerFactory, UserFactory
from tests.support.servers import TEST_REDIS_URL, free_port, require_redis

URL = "/api/marketplace/listings"


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    browsing.pages.clear()
    browsing.totals.clear()
    yield
    browsing.pages.clear()
    browsing.totals.clear()


def page_queries(app: Flask, client: FlaskClient, **query: Any) -> tuple[dict[str, Any], int]:
    """One browse request: its JSON and how many statements it ran (the login lookup aside)."""
    with counting_queries(app) as statements:
        response = client.get(URL, query_string=query)
    assert response.status_code == 200, response.json
    return response.json, len([s for s in statements if "users.session_token" not in s])


def prices(body: dict[str, Any]) -> list[int]:
    return [item["asking_price_cents"] for item in body["listings"]]


def commit(statement: Any) -> None:
    db.session.execute(statement)
    db.session.commit()


class TestReuse:
    def test_a_repeated_page_runs_no_query_and_answers_the_same(
        self, app: Flask, client: FlaskClient
    ) -> None:
        for price in (1000, 2000, 3000):
            ListingFactory.create(asking_price_cents=price)
        first, first_queries = page_queries(app, client, sort="price_asc")
        again, again_queries = page_queries(app, client, sort="price_asc")
        assert first_queries >= 1
        assert again_queries == 0
        assert again == first
        assert prices(again) == [1000, 2000, 3000]

    def test_each_page_and_filter_is_kept_apart(self, app: Flask, client: FlaskClient) -> None:
        for price in (1000, 2000, 3000):
            ListingFactory.create(asking_price_cents=price)
        cheap, _ = page_queries(app, client, sort="price_asc", per_page=1)
        dear, _ = page_queries(app, client, sort="price_desc", per_page=1)
        second, _ = page_queries(app, client, sort="price_asc", per_page=1, page=2)
        assert (prices(cheap), prices(dear), prices(second)) == ([1000], [3000], [2000])
        followed, _ = page_queries(app, client, sort="price_asc", cursor=cheap["next_cursor"])
        assert prices(followed) == [2000, 3000]

    def test_what_depends_on_the_viewer_is_worked_out_per_request(
        self, app: Flask, client: FlaskClient, auth: AuthActions
    ) -> None:
        seller = SellerFactory.create()
        ListingFactory.create(seller=seller)
        auth.login(seller.username)  # logging in writes to users: before the first read
        anonymous, _ = page_queries(app, app.test_client())
        own, own_queries = page_queries(app, client)
        assert own_queries == 0  # the same rows
        assert anonymous["listings"][0]["can_purchase"] is True
        assert own["listings"][0]["can_purchase"] is False
        assert own["listings"][0]["purchase_status_reason"] == views.REASON_OWN

    def test_switched_off_every_request_queries(self, make_app: Any) -> None:
        uncached = make_app(marketplace_page_cache_seconds=0)
        with uncached.app_context():
            ListingFactory.create()
            client = uncached.test_client()
            counts = [page_queries(uncached, client)[1] for _ in range(3)]
        assert all(count >= 1 for count in counts)

    def test_a_kept_page_is_read_again_once_it_is_too_old(
        self, app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A reservation that runs out changes what a page shows without any write: the age
        # limit (MARKETPLACE_PAGE_CACHE_SECONDS) bounds how late that is seen.
        ListingFactory.create()
        page_queries(app, client)
        assert page_queries(app, client)[1] == 0
        later = time.monotonic() + container().settings.marketplace_page_cache_seconds + 1
        monkeypatch.setattr(browsing, "time", types.SimpleNamespace(monotonic=lambda: later))
        assert page_queries(app, client)[1] >= 1


class TestChangesShowAtOnce:
    """Each kind of write advances the counter, so the next page shows it."""

    def test_a_listing_created_through_the_api(
        self, app: Flask, client: FlaskClient, auth: AuthActions
    ) -> None:
        seller = SellerFactory.create()
        ListingFactory.create(seller=seller, asking_price_cents=1000)
        assert prices(page_queries(app, client)[0]) == [1000]
        stub = ListingFactory.build(seller=seller).stub
        db.session.add(stub)
        db.session.commit()
        auth.login(seller.username)
        created = client.post(URL, json={"stub_id": stub.id, "asking_price": "30.00"})
        assert created.status_code == 201, created.json
        assert sorted(prices(page_queries(app, client)[0])) == [1000, 3000]

    def test_a_listing_withdrawn_through_the_api(
        self, app: Flask, client: FlaskClient, auth: AuthActions
    ) -> None:
        seller = SellerFactory.create()
        kept = ListingFactory.create(seller=seller, asking_price_cents=1000)
        withdrawn = ListingFactory.create(seller=seller, asking_price_cents=2000)
        assert sorted(prices(page_queries(app, client)[0])) == [1000, 2000]
        auth.login(seller.username)
        deleted = client.delete(f"{URL}/{withdrawn.id}", headers={"X-Requested-With": "test"})
        assert deleted.status_code == 200, deleted.json
        body, _ = page_queries(app, client)
        assert [item["id"] for item in body["listings"]] == [kept.id]

    def test_a_core_update_of_a_listing(self, app: Flask, client: FlaskClient) -> None:
        listing = ListingFactory.create(asking_price_cents=1000)
        page_queries(app, client)
        commit(
            sa.update(StubListing)
            .where(StubListing.id == listing.id)
            .values(asking_price_cents=1500)
        )
        assert prices(page_queries(app, client)[0]) == [1500]

    def test_a_reservation_taken_and_run_out(self, app: Flask, client: FlaskClient) -> None:
        buyer = UserFactory.create()
        listing = ListingFactory.create()
        assert len(page_queries(app, client)[0]["listings"]) == 1
        commit(
            sa.update(StubListing)
            .where(StubListing.id == listing.id)
            .values(
                status="payment_pending",
                reserved_by_user_id=buyer.id,
                reserved_until=utcnow() + timedelta(minutes=15),
            )
        )
        assert page_queries(app, client)[0]["listings"] == []

    def test_a_stub_corrected_by_its_owner(self, app: Flask, client: FlaskClient) -> None:
        listing = ListingFactory.create()
        page_queries(app, client)
        commit(sa.update(Stub).where(Stub.id == listing.stub_id).values(venue="Red Rocks"))
        assert page_queries(app, client)[0]["listings"][0]["stub"]["venue"] == "Red Rocks"

    def test_a_seller_who_can_no_longer_take_payments(
        self, app: Flask, client: FlaskClient
    ) -> None:
        listing = ListingFactory.create()
        assert page_queries(app, client)[0]["listings"][0]["can_purchase"] is True
        commit(
            sa.update(User).where(User.id == listing.seller_id).values(stripe_charges_enabled=False)
        )
        body, _ = page_queries(app, client)
        assert body["listings"][0]["can_purchase"] is False

    def test_raw_sql(self, app: Flask, client: FlaskClient) -> None:
        listing = ListingFactory.create(asking_price_cents=1000)
        page_queries(app, client)
        commit(
            sa.text("UPDATE stub_listings SET asking_price_cents = 4200 WHERE id = :id").bindparams(
                id=listing.id
            )
        )
        assert prices(page_queries(app, client)[0]) == [4200]

    def test_reads_and_writes_elsewhere_keep_the_page(
        self, app: Flask, client: FlaskClient
    ) -> None:
        ListingFactory.create()
        page_queries(app, client)
        db.session.execute(sa.select(StubListing)).all()
        db.session.commit()
        commit(sa.text("DELETE FROM audit_log WHERE id < 0"))
        assert page_queries(app, client)[1] == 0


@pytest.fixture
def redis_url() -> str:
    require_redis(TEST_REDIS_URL)
    return TEST_REDIS_URL


@pytest.mark.redis
class TestSharedCounter:
    def test_a_change_made_by_another_process_shows_at_once(
        self, make_app: Any, redis_url: str
    ) -> None:
        # Two apps stand for two web processes: each has its own memory, one Redis counter.
        reader, writer = make_app(redis_url=redis_url), make_app(redis_url=redis_url)
        with writer.app_context():
            listing_id = ListingFactory.create(asking_price_cents=1000).id
        with reader.app_context():
            client = reader.test_client()
            assert prices(page_queries(reader, client)[0]) == [1000]
            assert page_queries(reader, client)[1] == 0
        with writer.app_context():
            commit(
                sa.update(StubListing)
                .where(StubListing.id == listing_id)
                .values(asking_price_cents=1800)
            )
        with reader.app_context():
            assert prices(page_queries(reader, reader.test_client())[0]) == [1800]

    def test_without_redis_pages_are_not_kept_and_still_answer(
        self, make_app: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Nothing listens on this port: the counter is unknown, so nothing is reused (a
        # stale page is worse than a slower one), and the page still answers.
        cut_off = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
        with cut_off.app_context(), caplog.at_level(logging.WARNING):
            ListingFactory.create()
            client = cut_off.test_client()
            counts = [page_queries(cut_off, client)[1] for _ in range(3)]
        assert all(count >= 1 for count in counts)
        assert any("change counter" in record.getMessage() for record in caplog.records)
