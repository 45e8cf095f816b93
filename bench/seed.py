"""Bulk test data for the load runs, written straight into the tables (fast, repeatable)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, User

BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - local benchmark data only
VENUES = ("Paramount Theatre", "Roseland Ballroom", "Wrigley Field", "Red Rocks", "Fillmore")
PERFORMERS = ("Pearl Jam", "Radiohead", "Die Toten Hosen", "Chicago Cubs", "Bjork", "Nirvana")
CITIES = ("Seattle", "New York", "Chicago", "Denver", "San Francisco", "Dusseldorf")


def listing_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(StubListing)) or 0)


def seed_marketplace(listings: int, *, per_seller: int = 100, batch: int = 5000) -> list[int]:
    """``listings`` active listings of distinct stubs, ``per_seller`` per seller; returns the
    seller ids. Sellers can take charges (as if onboarding were complete)."""
    rng = random.Random(2026)  # same data on every run
    password_hash = generate_password_hash(BENCH_PASSWORD)
    sellers = max(1, listings // per_seller)
    user_rows = [
        {
            "username": f"bench_seller_{n}",
            "email": f"bench_seller_{n}@example.com",
            "password_hash": password_hash,
            "session_token": f"bench-seller-token-{n}",
            "is_seller": True,
            "stripe_account_id": f"acct_bench{n:08d}",
            "stripe_account_status": "active",
            "stripe_onboarding_completed": True,
            "stripe_charges_enabled": True,
            "stripe_payouts_enabled": True,
            "stripe_details_submitted": True,
            "stripe_requirements_due": [],
        }
        for n in range(sellers)
    ]
    db.session.execute(insert(User), user_rows)
    db.session.commit()
    seller_ids = list(
        db.session.scalars(
            select(User.id).where(User.username.like("bench_seller_%")).order_by(User.id)
        )
    )
    made = 0
    while made < listings:
        size = min(batch, listings - made)
        stub_rows = []
        for n in range(made, made + size):
            performer = rng.choice(PERFORMERS)
            stub_rows.append(
                {
                    "owner_id": seller_ids[n // per_seller % len(seller_ids)],
                    "performer": performer,
                    "event_name": f"{performer} live #{n}",
                    "venue": rng.choice(VENUES),
                    "city": rng.choice(CITIES),
                    "event_date": dt.date(1970, 1, 1) + dt.timedelta(days=rng.randrange(20000)),
                    "event_time": "20:00",
                    "face_value_cents": rng.randrange(500, 20000),
                    "currency": "USD",
                    "reading_status": "done",
                    "extraction_engine": "manual",
                    "field_confidence": {},
                    "corrected_fields": [],
                }
            )
        stub_ids = db.session.scalars(insert(Stub).returning(Stub.id), stub_rows).all()
        db.session.execute(
            insert(StubListing),
            [
                {
                    "stub_id": stub_id,
                    "seller_id": row["owner_id"],
                    "asking_price_cents": rng.randrange(50, 50000),
                    "currency": "USD",
                    "status": "active",
                    "description": f"Original stub, {row['venue']}",
                }
                for stub_id, row in zip(stub_ids, stub_rows, strict=True)
            ],
        )
        db.session.commit()
        made += size
    return seller_ids
