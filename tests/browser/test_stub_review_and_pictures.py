"""What an owner sees of a stub in a real browser, at phone and laptop width: suggestions
they can settle ("looks right"), the face value in its own currency, whole pictures in cards
of one height, whether each stub is on sale, and a search that forgives accents."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import (
    LAPTOP,
    PHONE,
    screenshot,
    screenshot_at_both_widths,
    unique_name,
)
from tests.support.images import image_bytes, render_stub
from tests.support.journeys import create_account, log_in
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

WIDE = (900, 420)
TALL = (420, 900)
# Read with these confidences: the event is sure, the venue and the performer are not (65 %
# used to be shown green, "read from the photo").
CONFIDENCE = {"event_name": 0.95, "performer": 0.65, "venue": 0.45, "face_value": 0.9}


def _stub_with_photo(owner_id: int, size: tuple[int, int], **fields: Any) -> int:
    """A stub whose photo went through the upload path (re-encoded, real thumbnail)."""
    from stubcollector.adapters.images import prepare_upload
    from stubcollector.container import container
    from stubcollector.extensions import db
    from stubcollector.models import User
    from tests.support.factories import StubFactory

    prepared = prepare_upload(
        image_bytes(render_stub(size=size)), max_bytes=10_000_000, max_pixels=10_000_000
    )
    storage = container().storage
    stub = StubFactory.create(
        owner=db.session.get(User, owner_id),
        image_key=storage.save(prepared.data, suffix=prepared.suffix),
        thumbnail_key=storage.save(prepared.thumbnail, suffix=".jpg"),
        image_content_type=prepared.content_type,
        image_width=prepared.width,
        image_height=prepared.height,
        **fields,
    )
    return int(stub.id)


def _list(stub_id: int, status: str) -> None:
    from stubcollector.extensions import db
    from stubcollector.models import Stub, StubListing, utcnow

    stub = db.session.get(Stub, stub_id)
    assert stub is not None
    db.session.add(
        StubListing(
            stub_id=stub_id,
            seller_id=stub.owner_id,
            asking_price_cents=2500,
            status=status,
            sold_at=utcnow() if status == "sold" else None,
        )
    )
    db.session.commit()


# --- reading results the owner can trust and settle ------------------------------------------


def _read_stub(owner_id: int) -> int:
    return _stub_with_photo(
        owner_id,
        WIDE,
        event_name="Homogenic Tour",
        performer="Bjork",
        venue="Theatre du Chatelet",
        face_value_cents=3645,
        currency="EUR",
        field_confidence=CONFIDENCE,
    )


FIELD_LOOK = """box => {
  const input = box.querySelector('.input');
  const note = box.querySelector('.confidence');
  return {borderStyle: getComputedStyle(input).borderTopStyle,
          fontStyle: getComputedStyle(input).fontStyle,
          noteColor: getComputedStyle(note).color};
}"""


def test_unsure_fields_are_suggestions_the_owner_marks_as_right(
    page: Page, live_server: LiveServer
) -> None:
    account = create_account(live_server, "settle")
    stub_id = live_server.run(lambda: _read_stub(account.id))
    log_in(page, account.username)
    page.goto(f"/collection/stubs/{stub_id}")

    venue = page.locator('[data-field="venue"]')
    performer = page.locator('[data-field="performer"]')
    event = page.locator('[data-field="event_name"]')
    notice = page.locator("[data-unsure-notice]")
    expect(notice).to_contain_text("We are not sure about 2 fields: Performer, Venue")
    # A suggestion, not a value presented as read: its own frame and note, never green.
    for box, percent in ((venue, 45), (performer, 65)):
        expect(box).to_have_class(re.compile(r"review-field--unsure"))
        expect(box.locator(".confidence")).to_contain_text(f"Suggestion, {percent}% sure")
        expect(box.locator(".confidence--read")).to_have_count(0)
    expect(event.locator(".confidence")).to_have_text("Read from the photo (95%)")
    read_look = event.evaluate(FIELD_LOOK)
    unsure_look = venue.evaluate(FIELD_LOOK)
    assert unsure_look["borderStyle"] == "dashed", unsure_look
    assert unsure_look["fontStyle"] == "italic", unsure_look
    assert unsure_look["noteColor"] != read_look["noteColor"], (unsure_look, read_look)
    screenshot_at_both_widths(page, "review-suggestions")

    # "Looks right" through the API, in place: the page is not reloaded, and what the owner
    # has typed elsewhere meanwhile stays in its field.
    page.get_by_label("Seat").fill("12")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Venue looks right").click()
    expect(venue.locator(".confidence")).to_have_text("Marked as right by you")
    expect(venue).to_have_class(re.compile(r"review-field--confirmed"))
    expect(notice).to_contain_text("We are not sure about 1 field: Performer")
    expect(notice.get_by_role("button", name="It looks right")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    expect(page.get_by_label("Seat")).to_have_value("12")
    expect(page.get_by_label("Venue")).to_have_value("Theatre du Chatelet")

    # The last one from the notice: the form is posted, the seat typed is saved with it.
    notice.get_by_role("button", name="It looks right").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your corrections are saved, and marked as right: Performer."
    )
    expect(page.locator("[data-unsure-notice]")).to_have_count(0)
    expect(performer.locator(".confidence")).to_have_text("Marked as right by you")
    expect(page.get_by_label("Seat")).to_have_value("12")
    page.reload()
    expect(venue.locator(".confidence")).to_have_text("Marked as right by you")
    expect(page.locator(".review-field--unsure")).to_have_count(0)
    screenshot_at_both_widths(page, "review-settled")


def test_looks_right_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    account = create_account(live_server, "nojs")
    stub_id = live_server.run(lambda: _read_stub(account.id))
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,  # type: ignore[arg-type]
        java_script_enabled=False,
    )
    try:
        page = context.new_page()
        log_in(page, account.username)
        page.goto(f"/collection/stubs/{stub_id}")
        page.get_by_role("button", name="Venue looks right").click()
        expect(page).to_have_url(re.compile(rf"/collection/stubs/{stub_id}#field-venue$"))
        expect(page.get_by_role("status")).to_contain_text("Marked as right: Venue.")
        venue = page.locator('[data-field="venue"]')
        expect(venue.locator(".confidence")).to_have_text("Marked as right by you")
        expect(page.locator("[data-unsure-notice]")).to_contain_text(
            "We are not sure about 1 field: Performer"
        )
        screenshot(page, "review-looks-right-nojs-phone")
    finally:
        context.close()


def test_the_face_value_keeps_its_own_currency(page: Page, live_server: LiveServer) -> None:
    account = create_account(live_server, "euro")
    stub_id = live_server.run(lambda: _read_stub(account.id))
    log_in(page, account.username)
    card = page.locator(".stub-card")
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto("/collection")
        expect(card.locator(".stub-card__face")).to_have_text("Face €36.45")
        screenshot(page, f"collection-face-value-{name}")
    page.goto(f"/collection/stubs/{stub_id}")
    expect(page.get_by_label("Face value")).to_have_value("36.45")
    expect(page.get_by_label("Currency")).to_have_value("EUR")
    page.get_by_label("Currency").fill("gbp")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("status")).to_contain_text("Your corrections are saved")
    expect(page.get_by_label("Currency")).to_have_value("GBP")
    page.goto("/collection")
    expect(card.locator(".stub-card__face")).to_have_text("Face £36.45")
    # Nobody knows the currency: no sign is made up.
    page.goto(f"/collection/stubs/{stub_id}")
    page.get_by_label("Currency").fill("")
    page.get_by_role("button", name="Save corrections").click()
    expect(page.get_by_role("status")).to_contain_text("Your corrections are saved")
    page.goto("/collection")
    expect(card.locator(".stub-card__face")).to_have_text("Face 36.45")


# --- pictures of stubs --------------------------------------------------------------------------


def _picture_collection(owner_id: int, tag: str) -> dict[str, int]:
    wide = _stub_with_photo(owner_id, WIDE, event_name=f"Wide {tag}")
    tall = _stub_with_photo(owner_id, TALL, event_name=f"Tall {tag}")
    sold = _stub_with_photo(owner_id, WIDE, event_name=f"Sold {tag}")
    kept = _stub_with_photo(owner_id, TALL, event_name=f"Kept {tag}")
    _list(tall, "active")
    _list(sold, "sold")
    return {"wide": wide, "tall": tall, "sold": sold, "kept": kept}


# Each card's media box and image: sizes, and how the image is fitted into its box.
MEDIA = """cards => cards.map(card => {
  const media = card.querySelector('.listing-card__media');
  const image = media.querySelector('img');
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height}; };
  return {title: card.querySelector('.listing-card__title').textContent,
          card: box(card), media: box(media), image: box(image),
          fit: getComputedStyle(image).objectFit,
          natural: [image.naturalWidth, image.naturalHeight],
          badges: [...card.querySelectorAll('.badge')].map(b => b.textContent.trim())};
})"""


def _check_cards(cards: list[dict[str, Any]]) -> None:
    assert cards
    # A portrait photo makes neither its box nor its card (nor so its row) taller.
    media_heights = {round(card["media"]["height"]) for card in cards}
    assert len(media_heights) == 1, cards
    rows: dict[int, list[float]] = {}
    for card in cards:
        rows.setdefault(round(card["card"]["top"]), []).append(card["media"]["height"])
    for row in rows.values():
        assert max(row) - min(row) < 1, cards
    for card in cards:
        media, image = card["media"], card["image"]
        assert abs(media["width"] / media["height"] - 4 / 3) < 0.02, card
        # The whole stub, letterboxed inside the box: never cropped, never spilling out.
        assert card["fit"] == "contain", card
        assert card["natural"][0] > 0, card
        for side in ("left", "top"):
            assert image[side] >= media[side] - 0.5, card
        for side in ("right", "bottom"):
            assert image[side] <= media[side] + 0.5, card


def test_collection_cards_show_whole_pictures_of_one_height_and_their_sale(
    page: Page, live_server: LiveServer
) -> None:
    account = create_account(live_server, "pictures")
    tag = unique_name("t")
    live_server.run(lambda: _picture_collection(account.id, tag))
    log_in(page, account.username)
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto("/collection")
        expect(page.locator(".stub-card img")).to_have_count(4)
        for image in page.locator(".stub-card img").all():
            image.scroll_into_view_if_needed()
            expect(image).to_have_js_property("complete", True)
        cards = page.locator(".stub-card").evaluate_all(MEDIA)
        _check_cards(cards)
        badges = {card["title"].split()[0]: card["badges"] for card in cards}
        assert badges == {"Wide": [], "Tall": ["On sale"], "Sold": ["Sold"], "Kept": []}, badges
        screenshot(page, f"collection-pictures-{name}")


def test_a_portrait_stub_shows_whole_in_the_marketplace_and_on_its_pages(
    page: Page, live_server: LiveServer
) -> None:
    account = create_account(live_server, "portrait")
    tag = unique_name("t")
    ids = live_server.run(lambda: _picture_collection(account.id, tag))
    log_in(page, account.username)
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto(f"/marketplace?q={tag}")
        expect(page.locator(".market-card")).to_have_count(1)
        expect(page.locator(".market-card")).to_contain_text(f"Tall {tag}")
        # Newest first: the portrait listing among the others on the first page.
        page.goto("/marketplace")
        with_photos = page.locator(".market-card:has(img)")
        expect(with_photos.filter(has_text=f"Tall {tag}")).to_have_count(1)
        for image in with_photos.locator("img").all():
            image.scroll_into_view_if_needed()
            expect(image).to_have_js_property("complete", True)
        _check_cards(with_photos.evaluate_all(MEDIA))
        # Cards with and without a photo are the same height too.
        heights = page.locator(".market-card").evaluate_all(
            "cards => cards.map(card => card.getBoundingClientRect().height)"
        )
        assert max(heights) - min(heights) < 1, heights
        screenshot(page, f"marketplace-pictures-{name}")

        # The stub's own page and its listing's: whole, and no taller than most of the screen.
        with_photos.filter(has_text=f"Tall {tag}").locator("a").click()
        expect(page).to_have_url(re.compile(r"/marketplace/listings/\d+$"))
        _check_photo(page, page.locator(".listing-photo__image"), viewport["height"])
        screenshot(page, f"listing-portrait-{name}")
        page.goto(f"/collection/stubs/{ids['tall']}")
        _check_photo(page, page.locator(".stub-photo__image"), viewport["height"])
        screenshot(page, f"stub-portrait-{name}")


def _check_photo(page: Page, photo: Any, viewport_height: int) -> None:
    expect(photo).to_have_js_property("complete", True)
    box = photo.bounding_box()
    assert box is not None
    assert box["height"] <= 0.7 * viewport_height + 1, box
    assert photo.evaluate("el => getComputedStyle(el).objectFit") == "contain"


# --- search that forgives -----------------------------------------------------------------------


def _printed_listing(owner_id: int, tag: str) -> None:
    stub_id = _stub_with_photo(
        owner_id,
        WIDE,
        performer=f"ST. LOUIS CÁRDINALS {tag}",
        event_name="Opening Day",
        venue="Olympiastadion",
        city="München",
        event_date=None,
    )
    _list(stub_id, "active")


@pytest.mark.parametrize("query", ["cardinals munchen", "Cárdinals MÜNCHEN"])
def test_marketplace_search_forgives_accents_and_case(
    page: Page, live_server: LiveServer, query: str
) -> None:
    account = create_account(live_server, "forgive")
    tag = unique_name("t")
    live_server.run(lambda: _printed_listing(account.id, tag))
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto("/marketplace")
        page.get_by_role("searchbox", name="Search").fill(f"{query} {tag}")
        page.get_by_role("button", name="Search").click()
        cards = page.locator(".market-card")
        expect(cards).to_have_count(1)
        expect(cards).to_contain_text(f"ST. LOUIS CÁRDINALS {tag}")
        typed = "plain" if query.isascii() else "accented"
        screenshot(page, f"marketplace-forgiving-search-{typed}-{name}")
