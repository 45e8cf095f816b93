"""Selling → "Choose a stub to sell" lists only the stubs that can be listed (issue 22, item 7).

A seller's collection holds a stub on sale, a sold one, one whose listing was cancelled and
one never listed: only the last two can go on sale, and only they are offered.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot_at_both_widths
from tests.support.journeys import STOCK_PHOTO, create_account, log_in
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


def _collection_with_every_kind_of_stub(seller_id: int) -> dict[str, int]:
    from stubcollector.container import container
    from stubcollector.domain.statuses import ListingStatus
    from stubcollector.extensions import db
    from stubcollector.models import StubListing, User
    from tests.support.factories import StubFactory

    storage = container().storage
    data = STOCK_PHOTO.read_bytes()
    seller = db.session.get(User, seller_id)
    stub_ids: dict[str, int] = {}
    for kind in ("on sale", "sold", "withdrawn", "never listed"):
        stub = StubFactory.create(
            owner=seller,
            event_name=f"{kind.title()} Night",
            image_key=storage.save(data, suffix=".jpg"),
            thumbnail_key=storage.save(data, suffix=".jpg"),
            image_content_type="image/jpeg",
        )
        stub_ids[kind] = stub.id
        status = {
            "on sale": ListingStatus.ACTIVE,
            "sold": ListingStatus.SOLD,
            "withdrawn": ListingStatus.CANCELLED,
        }.get(kind)
        if status is not None:
            db.session.add(
                StubListing(
                    stub_id=stub.id,
                    seller_id=seller_id,
                    asking_price_cents=2500,
                    status=status.value,
                )
            )
    db.session.commit()
    return stub_ids


def test_choose_a_stub_to_sell_offers_only_the_stubs_that_can_be_listed(
    page: Page, live_server: LiveServer
) -> None:
    seller = create_account(live_server, "chooser")
    stub_ids = live_server.run(lambda: _collection_with_every_kind_of_stub(seller.id))
    log_in(page, seller.username)

    page.goto("/selling")
    page.get_by_role("link", name="Choose a stub to sell").click()
    expect(page).to_have_url(re.compile(r"/selling/choose$"))
    expect(page.get_by_role("heading", name="Choose a stub to sell")).to_be_visible()
    cards = page.locator(".stub-card")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="Withdrawn Night")).to_have_count(1)
    expect(cards.filter(has_text="Never Listed Night")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("On Sale Night")
    expect(page.locator("main")).not_to_contain_text("Sold Night")
    screenshot_at_both_widths(page, "selling-choose-a-stub")

    cards.filter(has_text="Never Listed Night").locator("a").click()
    expect(page).to_have_url(re.compile(rf"/collection/stubs/{stub_ids['never listed']}$"))
    expect(page.locator("#sell")).to_be_visible()
