"""The services' typed results write the API's JSON keys in the documented order.

Each result dataclass is written field by field (``web.json``), so its fields must be
declared in the order of the response model the OpenAPI document shows; a reordered field
would change the bytes clients receive without any schema test noticing.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from stubcollector.adapters.payments.ports import Balance
from stubcollector.domain.statuses import ListingStatus
from stubcollector.services import accounts, audit, onboarding, stubs
from stubcollector.services.marketplace import views as marketplace_views
from stubcollector.web.api import audit as audit_api
from stubcollector.web.api import auth as auth_api
from stubcollector.web.api import marketplace as marketplace_api
from stubcollector.web.api import payments as payments_api
from stubcollector.web.api import stubs as stubs_api
from stubcollector.web.api import users as users_api
from stubcollector.web.json import to_json
from stubcollector.web.schemas import ResponseModel


def _json_fields(result: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(result) if f.metadata.get("json", True)]


@pytest.mark.parametrize(
    ("result", "model"),
    [
        (stubs.StubView, stubs_api.StubOut),
        (accounts.PrivateProfile, auth_api.PrivateUser),
        (accounts.PublicProfileWithStats, users_api.PublicUser),
        (accounts.ProfileStats, users_api.SellerStats),
        (onboarding.SellerAccount, payments_api.AccountOut),
        (Balance, payments_api.BalanceOut),
        (audit.AuditEntryView, audit_api.AuditEntry),
        (onboarding.PaymentCompatibility, marketplace_api.PaymentCompatibility),
        (marketplace_views.ListingView, marketplace_api.Listing),
        (marketplace_views.ListedStub, marketplace_api.ListingStub),
    ],
)
def test_result_fields_are_declared_in_the_response_models_order(
    result: type[Any], model: type[ResponseModel]
) -> None:
    assert _json_fields(result) == list(model.model_fields)


def test_a_listings_seller_is_the_public_profile_without_its_stats() -> None:
    assert [*_json_fields(accounts.PublicProfile), "stats"] == list(
        users_api.PublicUser.model_fields
    )


@pytest.mark.parametrize("microsecond", [0, 120_000])
def test_the_marketplace_encoder_writes_a_public_profile_as_the_app_does(microsecond: int) -> None:
    """Listings carry their seller's :class:`PublicProfile`; the marketplace API encodes
    with orjson, which writes dataclasses and datetimes itself."""
    profile = accounts.build_public_profile(
        user_id=7,
        username="vera",
        display_name=None,
        bio="Vinyl and tickets",
        location=None,
        member_since=datetime(2026, 3, 4, 5, 6, 7, microsecond, tzinfo=UTC),
        can_sell=True,
    )
    assert orjson.dumps(profile) == orjson.dumps(to_json(profile))


def test_a_listing_page_writes_the_envelopes_keys_in_order() -> None:
    envelope = [
        name
        for name in marketplace_api.ListingPageEnvelope.model_fields
        if name not in ("status", "message")
    ]
    assert _json_fields(marketplace_views.ListingPage) == envelope


@pytest.mark.parametrize("microsecond", [0, 120_000])
def test_the_marketplace_encoder_writes_a_listing_as_the_app_does(microsecond: int) -> None:
    """The marketplace API writes listings with orjson; anything else that writes one
    (``to_json``) must give the same bytes."""
    when = datetime(2026, 3, 4, 5, 6, 7, microsecond, tzinfo=UTC)
    listing = marketplace_views.ListingView(
        id=3,
        stub_id=5,
        seller_id=7,
        seller_name="vera",
        status=ListingStatus.PAYMENT_PENDING,
        asking_price="12.50",
        asking_price_cents=1250,
        price_display="$12.50",
        currency="USD",
        description=None,
        listed_at="2026-03-04T05:06:07.000000+00:00",
        updated_at="2026-03-04T05:06:07.120000+00:00",
        sold_at=None,
        cancelled_at=None,
        reserved_until=when,
        reserved_by_you=True,
        can_purchase=True,
        purchase_status_reason=None,
        stub=marketplace_views.ListedStub(
            id=5,
            event_name="Ten Tour",
            performer="Pearl Jam",
            venue=None,
            city=None,
            event_date=date(1992, 3, 4),
            event_time="20:00",
            section=None,
            row=None,
            seat=None,
            face_value_cents=None,
            face_value_display=None,
            currency=None,
        ),
        seller=accounts.build_public_profile(
            user_id=7,
            username="vera",
            display_name=None,
            bio=None,
            location=None,
            member_since=when,
            can_sell=True,
        ),
    )
    assert orjson.dumps(listing) == orjson.dumps(to_json(listing))
