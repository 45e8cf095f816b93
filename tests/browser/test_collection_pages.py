"""Collection pages in a real browser: upload a real photo, watch it being read, correct it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from stubcollector.adapters.jobs import InProcessJobQueue
from stubcollector.container import container
from tests.support.browser import LAPTOP, PHONE, screenshot, screenshot_at_both_widths, unique_name
from tests.support.journeys import (
    STOCK_PHOTO,
    create_account,
    log_in,
    sign_up,
    upload_stub,
    wait_for_reading_to_finish,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


class HeldReadings:
    """Background jobs that start only when the test says so.

    The live server runs jobs inline (testing mode), so an upload would answer with the
    reading already done; holding it lets the test see the progress indicator, then the
    real engine reads the photo in a background thread as in production.
    """

    def __init__(self, inner: InProcessJobQueue) -> None:
        self.inner = inner
        self.release = threading.Event()
        self._waiting = ThreadPoolExecutor(1, thread_name_prefix="held-job")

    def enqueue(self, name: str, *args: Any) -> None:
        def later() -> None:
            self.release.wait(timeout=120)
            self.inner.enqueue(name, *args)

        self._waiting.submit(later)

    def shutdown(self) -> None:
        self.release.set()
        self._waiting.shutdown(wait=True)
        self.inner.shutdown()


@pytest.fixture
def held_readings(live_server: LiveServer) -> Iterator[HeldReadings]:
    services = container(live_server.app)
    original = services.jobs
    held = HeldReadings(InProcessJobQueue(live_server.app, workers=1))
    services.jobs = held
    try:
        yield held
    finally:
        services.jobs = original
        held.shutdown()


def test_upload_read_correct_and_find_in_the_collection(
    page: Page, live_server: LiveServer, held_readings: HeldReadings
) -> None:
    sign_up(page, "collector")
    page.goto("/collection")
    expect(page.get_by_role("heading", name="Your collection is empty")).to_be_visible()
    page.get_by_role("link", name="Upload your first stub").click()

    expect(page).to_have_url(re.compile(r"/collection/upload$"))
    page.get_by_label("Photo of the stub").set_input_files(str(STOCK_PHOTO))
    # The preview is drawn in the browser from a blob: URL before anything is sent.
    preview = page.locator("#upload-preview img")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src", timeout=1000).startswith("blob:")  # type: ignore[union-attr]
    screenshot_at_both_widths(page, "upload")
    page.get_by_role("button", name="Upload and read").click()

    expect(page).to_have_url(re.compile(r"/collection/stubs/\d+$"))
    expect(page.get_by_role("heading", name="Reading your stub…")).to_be_visible()
    expect(page.locator(".reading progress")).to_be_visible()
    screenshot(page, "stub-reading-laptop")
    held_readings.release.set()
    # stubs.js polls the API and reloads the page when the reading ends.
    wait_for_reading_to_finish(page)
    expect(page.get_by_role("heading", name="Reading your stub…")).to_have_count(0)
    # The real engine read something from the photo: at least one field with its confidence.
    expect(page.locator(".confidence--read, .confidence--low").first).to_be_visible()
    screenshot_at_both_widths(page, "review")

    event = f"OK Computer Tour {unique_name('n')}"
    page.get_by_label("Event", exact=True).fill(event)
    page.get_by_label("Date").fill("2007-07-18")
    page.get_by_label("Face value").fill("65.001")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.locator("#face_value-error")).to_have_text("Must have at most two decimal places")
    expect(page.get_by_label("Event", exact=True)).to_have_value(event)
    page.get_by_label("Face value").fill("65.00")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("status")).to_contain_text("Your corrections are saved")
    expect(page.get_by_label("Event", exact=True)).to_have_value(event)
    expect(page.locator('[data-field="event_name"] .confidence')).to_contain_text("Set by you")

    page.get_by_role("link", name="My collection").first.click()
    expect(page.locator(".stub-card")).to_have_count(1)
    expect(page.locator(".stub-card")).to_contain_text(event)
    expect(page.locator(".stub-card img")).to_be_visible()
    screenshot_at_both_widths(page, "collection")

    page.get_by_label("Search").fill("computer")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".stub-card")).to_have_count(1)
    page.get_by_label("Search").fill("zeppelin")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No stubs match")).to_be_visible()


def test_upload_without_a_photo_says_so_next_to_the_field(
    page: Page, live_server: LiveServer
) -> None:
    sign_up(page, "nophoto")
    page.goto("/collection/upload")
    page.get_by_role("button", name="Upload and read").click()
    expect(page.locator("#image-error")).to_have_text("Choose a photo of the stub")


def test_upload_journey_helper_returns_the_stub(page: Page, live_server: LiveServer) -> None:
    sign_up(page, "helper")
    stub_id = upload_stub(page, STOCK_PHOTO, wait_for_reading=False)
    expect(page).to_have_url(f"{live_server.url}/collection/stubs/{stub_id}")


# The widest values a footer holds: a long month and a four-digit face value.
CARD_STUBS = (
    {
        "event_name": "Wide Footer Night",
        "event_date": date(2019, 9, 30),
        "face_value_cents": 123450,
    },
    {"event_name": "No Date Night", "event_date": None, "face_value_cents": 4500},
    {"event_name": "No Price Night", "event_date": date(2021, 12, 31), "face_value_cents": None},
)
# Each footer item's box, and the line boxes of its text (one per line it takes).
FOOTER_BOXES = """cards => cards.map(card => {
  const footer = card.querySelector('.listing-card__footer');
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const lines = el => { const range = document.createRange(); range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; };
  return {
    title: card.querySelector('.listing-card__title').textContent,
    card: box(card),
    footer: box(footer),
    overflow: footer.scrollWidth - footer.clientWidth,
    items: [...footer.children].map(item => ({text: item.textContent, lines: lines(item),
                                                ...box(item)})),
  };
})"""


def _stubs_for_cards(owner_id: int) -> None:
    from stubcollector.extensions import db
    from stubcollector.models import User
    from tests.support.factories import StubFactory

    owner = db.session.get(User, owner_id)
    data = STOCK_PHOTO.read_bytes()
    for index, fields in enumerate(CARD_STUBS):
        # One card with a photo, as uploads have; the others show the placeholder.
        photo = (
            {"thumbnail_key": container().storage.save(data, suffix=".jpg")} if not index else {}
        )
        StubFactory.create(owner=owner, currency="USD", **fields, **photo)


def _footers(page: Page) -> list[dict[str, Any]]:
    footers: list[dict[str, Any]] = page.locator(".stub-card").evaluate_all(FOOTER_BOXES)
    assert len(footers) == len(CARD_STUBS)
    return footers


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and (
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5
    )


def test_stub_card_footers_wrap_cleanly_on_phones_and_keep_one_line_on_laptops(
    page: Page, live_server: LiveServer
) -> None:
    account = create_account(live_server, "cards")
    live_server.run(lambda: _stubs_for_cards(account.id))
    log_in(page, account.username)

    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.goto("/collection")
    expect(page.locator(".stub-card img")).to_be_visible()
    screenshot(page, "collection-cards-phone")
    for card in _footers(page):
        name, items = card["title"], card["items"]
        assert card["overflow"] <= 0, f"{name}: the footer overflows by {card['overflow']}px"
        for item in items:
            # Inside the card, and each item whole on one line ("Face" never apart from
            # its price): when they do not fit side by side, items move to the next line.
            assert item["left"] >= card["card"]["left"], (name, item)
            assert item["right"] <= card["card"]["right"], (name, item)
            assert item["bottom"] <= card["card"]["bottom"], (name, item)
            assert item["lines"] == 1, f"{name}: {item['text']!r} breaks inside"
        for first, second in pairwise(items):
            assert not _overlap(first, second), (name, first, second)

    page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
    screenshot(page, "collection-cards-laptop")
    for card in _footers(page):
        items = card["items"]
        assert all(item["lines"] == 1 for item in items), card
        # Side by side on one line: every item shares the first one's line.
        assert all(abs(item["top"] - items[0]["top"]) < 4 for item in items), card
        for first, second in pairwise(items):
            assert first["right"] <= second["left"], card
