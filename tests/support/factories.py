"""factory_boy factories for test data, writing through the app's session.

Every user they make has the password ``TEST_PASSWORD``.
"""

from __future__ import annotations

import datetime as dt

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from stubcollector.domain.statuses import ListingStatus, ReadingStatus
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, StubOrder, User

TEST_PASSWORD = "correct-horse-battery"
# Hashing with scrypt is deliberately slow; the factories share one precomputed hash.
_PASSWORD_HASH = generate_password_hash(TEST_PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"collector{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password_hash = _PASSWORD_HASH


class SellerFactory(UserFactory):
    """A seller whose (sandbox) connected account can take charges."""

    is_seller = True
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:012d}")
    stripe_account_status = "active"
    stripe_onboarding_completed = True
    stripe_charges_enabled = True
    stripe_payouts_enabled = True
    stripe_details_submitted = True


class AdminFactory(UserFactory):
    is_admin = True


class StubFactory(BaseFactory):
    class Meta:
        model = Stub

    owner = factory.SubFactory(UserFactory)
    event_name = factory.Sequence(lambda n: f"Concert Night {n}")
    performer = "The Example Band"
    venue = "Example Arena"
    city = "Springfield"
    event_date = dt.date(2019, 6, 1)
    event_time = "20:00"
    reading_status = ReadingStatus.DONE.value
    extraction_engine = "manual"
    field_confidence = factory.LazyFunction(dict)
    corrected_fields = factory.LazyFunction(list)


class ListingFactory(BaseFactory):
    """An active listing of a stub owned by its seller (a seller who can take charges)."""

    class Meta:
        model = StubListing

    seller = factory.SubFactory(SellerFactory)
    stub = factory.SubFactory(StubFactory, owner=factory.SelfAttribute("..seller"))
    asking_price_cents = 2500
    currency = "USD"
    status = ListingStatus.ACTIVE.value


class OrderFactory(BaseFactory):
    """An order for a listing; amounts split 10 % to the platform unless given."""

    class Meta:
        model = StubOrder

    listing = factory.SubFactory(ListingFactory)
    # Ids, not relationships: the listing is committed (expired) and its relations raise.
    seller_id = factory.SelfAttribute("listing.seller_id")
    buyer = factory.SubFactory(UserFactory)
    order_status = "payment_completed"
    total_amount_cents = factory.SelfAttribute("listing.asking_price_cents")
    platform_fee_cents = factory.LazyAttribute(lambda o: (o.total_amount_cents + 5) // 10)
    seller_amount_cents = factory.LazyAttribute(
        lambda o: o.total_amount_cents - o.platform_fee_cents
    )
