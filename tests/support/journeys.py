"""Steps of user journeys, shared by the browser tests.

Each step drives the UI the way a person would (labels, button names) and waits for the
page it leads to; later journeys (upload, list, buy) are built from these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from stubcollector.models import User
from stubcollector.services import accounts
from tests.support.browser import unique_name
from tests.support.live_server import LiveServer

PASSWORD = "stub-collector-2026"


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str
    password: str = PASSWORD


def create_account(server: LiveServer, prefix: str = "fan", *, admin: bool = False) -> Account:
    """An account made through the service, for tests about what comes after sign-up."""
    username = unique_name(prefix)
    email = f"{username}@example.com"

    def make() -> int:
        user: User = (accounts.create_admin if admin else accounts.register)(
            username, email, PASSWORD
        )
        return user.id

    return Account(id=server.run(make), username=username, email=email)


def sign_up(page: Page, prefix: str = "fan") -> Account:
    username = unique_name(prefix)
    email = f"{username}@example.com"
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-link")).to_contain_text(username)
    return Account(id=_current_user_id(page), username=username, email=email)


def _current_user_id(page: Page) -> int:
    response = page.request.get("/auth/me")
    assert response.ok, response.text()
    return int(response.json()["user"]["id"])


def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # Attached, not visible: on a phone the account link sits in the collapsed menu.
    expect(page.locator(".account-link")).to_be_attached()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()


# --- buying, orders and the seller account (ui-orders) --------------------------------
def accept_confirmations(page: Page) -> None:
    """Answer "OK" to the pages' confirm() questions (Playwright dismisses them by default)."""
    page.on("dialog", lambda dialog: dialog.accept())


def onboard_seller(page: Page, *, complete: bool = True) -> None:
    """From the seller-account page through the sandbox's onboarding form and back."""
    page.goto("/seller/")
    page.get_by_role(
        "button", name=re.compile("Set up payments|Finish setup|Continue setup")
    ).click()
    expect(page.get_by_role("heading", name="Payment sandbox: seller onboarding")).to_be_visible()
    if complete:
        page.get_by_role("button", name=re.compile("^Complete onboarding")).click()
        expect(page.get_by_role("status").first).to_contain_text("Your seller account is ready")
    else:
        page.get_by_role("button", name="Leave with requirements due").click()
        expect(page.get_by_role("status").first).to_contain_text("not finished yet")
    expect(page.get_by_role("heading", name="Seller account")).to_be_visible()


def pay_on_checkout_page(page: Page, card_number: str) -> None:
    """On our checkout page: go to the (sandbox) card form and pay with ``card_number``."""
    page.get_by_role("link", name=re.compile(r"^Pay \$[\d,.]+ with a test card")).click()
    expect(page.get_by_role("heading", name="Payment sandbox: checkout")).to_be_visible()
    page.get_by_label("Card number").select_option(card_number.replace(" ", ""))
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()


def confirm_receipt(page: Page) -> None:
    accept_confirmations(page)
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator(".order__status [data-status]")).to_have_attribute(
        "data-status", "completed"
    )


# --- collection and marketplace -------------------------------------------------------------

# Real OCR runs in the live server's job threads; on a busy two-core machine a photo can take
# a while, so waiting for the reading gets a generous limit (it ends as soon as it is done).
READING_TIMEOUT_MS = 180_000


def upload_stub(page: Page, path: str | Path, *, wait_for_reading: bool = True) -> int:
    """Upload a photo from the upload page; returns the new stub's id.

    With ``wait_for_reading`` the step returns once the stub page shows the fields read
    (the page polls the API and reloads itself when the reading ends).
    """
    page.goto("/collection/upload")
    page.get_by_label("Photo of the stub").set_input_files(str(path))
    expect(page.locator("#upload-preview img")).to_be_visible()
    page.get_by_role("button", name="Upload and read").click()
    expect(page).to_have_url(re.compile(r"/collection/stubs/\d+$"))
    stub_id = int(page.url.rsplit("/", 1)[1])
    if wait_for_reading:
        wait_for_reading_to_finish(page)
    return stub_id


def wait_for_reading_to_finish(page: Page) -> None:
    expect(page.locator("[data-reading-poll]")).to_have_count(0, timeout=READING_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Details")).to_be_visible()


def make_ready_to_sell(page: Page) -> None:
    """Seller onboarding through the payments API and the sandbox's hosted form (outcome
    "complete"), as the onboarding page would do it; the logged-in user can then sell."""
    headers = {"X-Requested-With": "XMLHttpRequest"}
    started = page.request.post("/api/payments/connect/onboard", data={}, headers=headers)
    assert started.ok, started.text()
    link = urlsplit(started.json()["onboarding_url"]).path
    finished = page.request.post(link, data={"outcome": "complete"}, headers=headers)
    assert finished.ok, finished.text()
    back = page.request.get("/api/payments/onboard/return")
    assert back.ok, back.text()
    assert back.json()["account"]["can_accept_payments"], back.text()


def list_stub(page: Page, price: str, description: str = "") -> int:
    """From a stub page, list the stub at ``price`` dollars; returns the listing id."""
    page.get_by_label("Price in US dollars").fill(price)
    if description:
        page.locator("#sell").get_by_label("Description").fill(description)
    page.get_by_role("button", name="List for sale").click()
    expect(page).to_have_url(re.compile(r"/marketplace/listings/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Your stub is on sale")
    return int(page.url.rsplit("/", 1)[1])


def find_listing(page: Page, query: str) -> None:
    """Search the marketplace and open the first listing found."""
    page.goto("/marketplace")
    page.get_by_role("searchbox", name="Search").fill(query)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/marketplace\?.*q="))
    first = page.locator(".market-card").first
    expect(first).to_be_visible()
    first.locator("a").click()
    expect(page).to_have_url(re.compile(r"/marketplace/listings/\d+$"))


# A rendered, "photographed" stub from the reader benchmark set (bench/stubs): to upload, or
# to list with an image.
STOCK_PHOTO = Path(__file__).resolve().parents[2] / "bench" / "stubs" / "00-us-concert.jpg"


def listing_with_photo(seller_id: int, price_cents: int) -> int:
    """A listing of a stub with a real stored photo, made through the models (inside
    ``live_server.run``): like an uploaded one, so every page showing it can load its image
    and thumbnail; returns the listing id."""
    from stubcollector.container import container
    from stubcollector.extensions import db
    from stubcollector.models import StubListing
    from tests.support.factories import StubFactory

    storage = container().storage
    data = STOCK_PHOTO.read_bytes()
    stub = StubFactory.create(
        owner=db.session.get(User, seller_id),
        image_key=storage.save(data, suffix=".jpg"),
        thumbnail_key=storage.save(data, suffix=".jpg"),
        image_content_type="image/jpeg",
    )
    listing = StubListing(stub_id=stub.id, seller_id=seller_id, asking_price_cents=price_cents)
    db.session.add(listing)
    db.session.commit()
    return listing.id
