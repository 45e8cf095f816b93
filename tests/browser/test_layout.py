"""Pages at phone and laptop widths, error pages, and the CSP as the browser enforces it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import LAPTOP, PHONE, screenshot
from tests.support.journeys import create_account, log_in
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

PUBLIC_PAGES = {"home": "/", "signup": "/signup", "login": "/login"}


def _assert_fits_the_width(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


@pytest.mark.parametrize(("size_name", "size"), [("phone", PHONE), ("laptop", LAPTOP)])
def test_public_pages_fit_phone_and_laptop_widths(
    page: Page, live_server: LiveServer, size_name: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    for name, path in PUBLIC_PAGES.items():
        response = page.goto(path)
        assert response is not None
        assert response.ok
        expect(page.locator("h1")).to_be_visible()
        _assert_fits_the_width(page)
        screenshot(page, f"{name}-{size_name}")


def test_phone_menu_opens_and_closes(page: Page, live_server: LiveServer) -> None:
    account = create_account(live_server)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    log_in(page, account.username)
    navigation = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(navigation).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "menu-open-phone")
    menu.click()
    expect(navigation).to_be_hidden()


def test_unknown_page_shows_the_styled_404(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="We couldn't find that page")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the start page")).to_be_visible()
    assert "Traceback" not in page.content()
    screenshot(page, "error-404")


def test_the_browser_enforces_the_content_security_policy(
    page: Page, live_server: LiveServer, page_problems: list[str]
) -> None:
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy

    # What an injected tag would try: load from elsewhere, run inline code. Both refused,
    # and the refusals reach the problem list that fails every other browser test.
    with page.expect_console_message(lambda message: "img-src" in message.text):
        page.evaluate(
            """() => {
                const img = document.createElement("img");
                img.src = "https://tracker.example/pixel.png";
                document.body.append(img);
            }"""
        )
    with page.expect_console_message(lambda message: "script-src" in message.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "document.body.dataset.injected = 'ran'";
                document.body.append(script);
            }"""
        )
    expect(page.locator("body")).not_to_have_attribute("data-injected", "ran")
    violations = [p for p in page_problems if "Content Security Policy" in p]
    assert len(violations) == 2, page_problems
    page_problems.clear()
