"""A new user's first run, as the README has it: ``PORT=5055 make run`` and no other setting.

The app is started the way ``make run`` starts it (``flask db upgrade``, then ``flask run``
with ``PORT``; ``tests.support.live_server.serve_like_make_run``) on a free port that is not
5000, with no ``PUBLIC_BASE_URL``. Every link that leaves a page and comes back (onboarding's
return URL, the sandbox's onboarding and dashboard links) must stay on that port: a link to
:5000 is blocked by the page's CSP (``form-action 'self'``) and the click does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.support.browser import LAPTOP, screenshot_at_both_widths
from tests.support.journeys import sign_up
from tests.support.live_server import ROOT, serve_like_make_run
from tests.support.servers import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def first_run_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    dotenv = ROOT / ".env"
    if dotenv.exists() and "PUBLIC_BASE_URL" in dotenv.read_text():
        pytest.skip(".env sets PUBLIC_BASE_URL; this test is about running without it")
    port = free_port()
    while port == 5000:
        port = free_port()
    with serve_like_make_run(tmp_path_factory.mktemp("first-run"), port) as url:
        yield url


@pytest.fixture
def first_run_page(browser: Browser, first_run_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=first_run_url, viewport=LAPTOP)  # type: ignore[arg-type]
    page = context.new_page()
    problems: list[str] = []
    # A CSP refusal (a form whose redirect leaves the origin) is a console error.

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def test_onboarding_and_the_dashboard_stay_on_the_port_in_use(
    first_run_page: Page, first_run_url: str
) -> None:
    page = first_run_page
    assert not first_run_url.endswith(":5000")
    on_this_server = re.escape(first_run_url)
    sign_up(page, "newcomer")

    page.goto("/selling")
    page.get_by_role("link", name="Set up payouts").click()
    expect(page).to_have_url(f"{first_run_url}/seller/")
    page.get_by_role("button", name="Set up payments").click()

    expect(page).to_have_url(re.compile(rf"^{on_this_server}/sandbox/onboarding/[\w-]+$"))
    expect(page.get_by_role("heading", name="Payment sandbox: seller onboarding")).to_be_visible()
    complete = page.get_by_role("button", name=re.compile("^Complete onboarding"))
    # The sandbox's buttons are the app's buttons (item 7 of issue 22), not the browser's.
    expect(complete).to_have_class(re.compile(r"\bbtn--primary\b"))
    expect(complete).to_have_css("background-color", "rgb(180, 35, 42)")
    expect(page.get_by_role("button", name="Leave with requirements due")).to_have_class(
        re.compile(r"\bbtn--secondary\b")
    )
    screenshot_at_both_widths(page, "first-run-sandbox-onboarding")
    complete.click()

    expect(page).to_have_url(f"{first_run_url}/seller/")
    expect(page.get_by_role("status").first).to_contain_text("Your seller account is ready")
    page.get_by_role("button", name="Open Stripe dashboard").click()
    expect(page).to_have_url(re.compile(rf"^{on_this_server}/sandbox/dashboard/[\w-]+$"))
    expect(page.get_by_role("heading", name="Payment sandbox: seller dashboard")).to_be_visible()
    screenshot_at_both_widths(page, "first-run-sandbox-dashboard")


def test_the_served_app_names_no_other_port_in_its_links(
    first_run_page: Page, first_run_url: str
) -> None:
    """The API's onboarding link, as a separate front end would receive it."""
    page = first_run_page
    sign_up(page, "apifirst")
    started = page.request.post(
        "/api/payments/connect/onboard", data={}, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert started.ok, started.text()
    assert started.json()["onboarding_url"].startswith(f"{first_run_url}/sandbox/onboarding/")
