"""The browse query uses the indexes built for it (read from the query planner)."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import insert, text

from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, utcnow
from stubcollector.services.marketplace import browsing
from tests.support.factories import SellerFactory

# Enough rows that PostgreSQL prefers an index to a scan; small enough to stay quick.
ROWS = 3000


@pytest.fixture
def many_listings(app: Flask) -> None:
    seller = SellerFactory.create()
    now = utcnow()
    stub_rows = [
        {
            "owner_id": seller.id,
            "event_name": f"Tour {n}",
            "performer": f"Performer {n}",
            "venue": f"Hall {n % 50}",
            "city": "Springfield",
            "event_date": dt.date(2000, 1, 1) + dt.timedelta(days=n),
            "reading_status": "done",
            "field_confidence": {},
            "corrected_fields": [],
            "created_at": now,
            "updated_at": now,
        }
        for n in range(ROWS)
    ]
    db.session.execute(insert(Stub), stub_rows)
    stub_ids = db.session.scalars(text("SELECT id FROM stubs ORDER BY id")).all()
    db.session.execute(
        insert(StubListing),
        [
            {
                "stub_id": stub_id,
                "seller_id": seller.id,
                "asking_price_cents": 100 + n,
                "currency": "USD",
                "status": "active",
                "listed_at": now - dt.timedelta(seconds=n),
                "updated_at": now,
            }
            for n, stub_id in enumerate(stub_ids)
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does on a live database: statistics, and the GIN pending list
        # (rows inserted after CREATE INDEX) merged into the index proper.
        with db.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM ANALYZE stubs"))
            autocommit.execute(text("VACUUM ANALYZE stub_listings"))


def _plan(filters: browsing.ListingFilters, after: browsing.Cursor | None = None) -> str:
    statement = browsing.browse_statement(filters, page=1, per_page=24, after=after)
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    else:
        # Bound parameters, as the application sends them.
        compiled = statement.compile(dialect=db.engine.dialect)
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.usefixtures("many_listings")
@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("newest", "ix_stub_listings_on_sale_listed"),
        ("price_asc", "ix_stub_listings_on_sale_price"),
    ],
)
def test_first_page_reads_the_partial_index_in_order(sort: str, index: str) -> None:
    plan = _plan(browsing.listing_filters(sort=sort))
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan.upper(), plan
    assert "Sort" not in plan, plan


@pytest.mark.usefixtures("many_listings")
@pytest.mark.parametrize(
    ("sort", "key", "index"),
    [
        ("newest", "2026-01-01T00:00:00+00:00", "ix_stub_listings_on_sale_listed"),
        ("price_desc", 1500, "ix_stub_listings_on_sale_price"),
    ],
)
def test_a_cursor_seeks_in_the_same_index(sort: str, key: int | str, index: str) -> None:
    after = browsing.Cursor(sort, key, 10**9, 2)
    plan = _plan(browsing.listing_filters(sort=sort), after)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan.upper(), plan
    assert "Sort" not in plan, plan


@pytest.mark.usefixtures("many_listings")
def test_text_search_uses_the_trigram_index_on_postgres() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite searches with a LIKE scan; trigram indexes are PostgreSQL's")
    plan = _plan(browsing.listing_filters(q="tour 2999"))
    assert "ix_stubs_search_text_trgm" in plan, plan
    venue_plan = _plan(browsing.listing_filters(venue="hall 7"))
    assert "ix_stubs_search_venue_trgm" in venue_plan, venue_plan
