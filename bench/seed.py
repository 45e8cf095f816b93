"""Bulk test data for the load runs, written straight into the tables (fast, repeatable)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from stubcollector.adapters.payments.sandbox.models import SandboxAccount
from stubcollector.domain.money import FeeRate, FeeSplit
from stubcollector.domain.statuses import ListingStatus, OrderStatus, PaymentStatus
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, StubOrder, StubPayment, User, utcnow

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
    # The sandbox provider's side of the same accounts: checkout creates PaymentIntents on
    # them and account.updated events re-read them.
    db.session.execute(
        insert(SandboxAccount),
        [
            {
                "id": row["stripe_account_id"],
                "email": row["email"],
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "requirements_due": [],
            }
            for row in user_rows
        ],
    )
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


def seed_buyers(count: int, *, prefix: str) -> list[str]:
    """``count`` buyers; returns their session tokens (what a login cookie carries)."""
    password_hash = generate_password_hash(BENCH_PASSWORD)
    tokens = [f"{prefix}-token-{n}" for n in range(count)]
    db.session.execute(
        insert(User),
        [
            {
                "username": f"{prefix}_{n}",
                "email": f"{prefix}_{n}@example.com",
                "password_hash": password_hash,
                "session_token": token,
            }
            for n, token in enumerate(tokens)
        ],
    )
    db.session.commit()
    return tokens


def seed_pending_orders(listing_ids: list[int], buyer_id: int, *, run: str) -> list[int]:
    """One order awaiting payment per listing, as checkout leaves it (listing reserved,
    PaymentIntent ``pi_<run>_<n>`` stored); returns the order ids in ``listing_ids`` order."""
    now = utcnow()
    listings = {
        listing.id: listing
        for listing in db.session.scalars(
            select(StubListing).where(StubListing.id.in_(listing_ids))
        )
    }
    accounts = dict(
        db.session.execute(
            select(User.id, User.stripe_account_id).where(
                User.id.in_({listing.seller_id for listing in listings.values()})
            )
        )
        .tuples()
        .all()
    )
    rate = FeeRate.parse("0.10")
    order_ids: list[int] = []
    for n, listing_id in enumerate(listing_ids):
        listing = listings[listing_id]
        split = FeeSplit.for_total(listing.asking_price_cents, rate)
        listing.status = ListingStatus.PAYMENT_PENDING.value
        listing.reserved_by_user_id = buyer_id
        listing.reserved_until = now + dt.timedelta(hours=2)
        order = StubOrder(
            buyer_id=buyer_id,
            seller_id=listing.seller_id,
            stub_listing_id=listing_id,
            order_status=OrderStatus.PENDING.value,
            total_amount_cents=split.total_cents,
            platform_fee_cents=split.platform_fee_cents,
            seller_amount_cents=split.seller_amount_cents,
        )
        db.session.add(order)
        db.session.flush()
        seller_account = accounts[listing.seller_id]
        assert seller_account is not None
        db.session.add(
            StubPayment(
                order_id=order.id,
                stripe_account_id=seller_account,
                payment_intent_id=f"pi_{run}_{n}",
                idempotency_key=f"order:{order.id}:payment_intent",
                amount_total_cents=split.total_cents,
                platform_fee_cents=split.platform_fee_cents,
                payment_status=PaymentStatus.REQUIRES_PAYMENT_METHOD.value,
            )
        )
        order_ids.append(order.id)
    db.session.commit()
    return order_ids
