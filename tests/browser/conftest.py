"""Browser tests: the real app, served over HTTP by a real WSGI server, driven by Chromium.

- ``live_server`` (session): ``create_app`` on a fresh SQLite file migrated by Alembic, the
  sandbox payment backend, served by werkzeug on 127.0.0.1 and a free port in a thread
  (``tests.support.live_server.serve_in_thread``).
  ``live_server.app`` lets a test prepare data through the services (``live_server.run``).
- ``browser`` (session): Debian's Chromium (``/usr/bin/chromium``), headless, through
  Playwright. Skipped locally when Chromium is missing; in CI (``CI`` or
  ``REQUIRE_BROWSER_TESTS`` set, as ``.ci/run`` does) that fails.
- ``page`` (per test): a fresh browser context (no cookies) at laptop size whose console
  errors, uncaught exceptions, CSP violations and failed subresources are collected in
  ``page_problems`` and fail the test at teardown. Tests that provoke one on purpose
  remove it from the list.

What the tests share besides fixtures is in ``tests/support``: ``browser`` (viewports,
``screenshot``, ``unique_name``), ``journeys`` (the steps through the UI) and
``live_server`` (``LiveServer``). Every test uses its own users (``unique_name``), so tests
share the server and database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from tests.support.browser import LAPTOP
from tests.support.live_server import LiveServer, serve_in_thread

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_app(instance: Path, url: str) -> Flask:
    """The app the browser tests are served: sandbox payments, its schema migrated."""
    settings = Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{instance / 'browser.db'}",
            "INSTANCE_PATH": str(instance),
            "PAYMENTS_BACKEND": "sandbox",
            "PUBLIC_BASE_URL": url,
            "RATELIMIT_ENABLED": "false",
        }
    )
    app = create_app(settings)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("browser-instance")
    holder: dict[str, Flask] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    # Listen first so the app can know its own public URL (sandbox links point back at it);
    # nobody has the URL before the app is in place.
    try:
        with serve_in_thread(wsgi) as url:
            holder["app"] = _browser_app(instance, url)
            yield LiveServer(url=url, app=holder["app"])
    finally:
        if "app" in holder:
            with holder["app"].app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(message + " (required in CI; .ci/run installs it)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page_problems() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, page_problems: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)  # type: ignore[arg-type]
    opened = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        # Failed loads are judged by on_response: a 4xx *page* is often the point of a test.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            page_problems.append(f"console error on {opened.url}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            page_problems.append(f"{response.status} for {response.url} on {opened.url}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: page_problems.append(f"page error: {error}"))
    opened.on("response", on_response)
    yield opened
    context.close()
    assert not page_problems, "the browser reported problems:\n" + "\n".join(page_problems)
