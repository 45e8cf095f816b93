"""What the browser tests share besides their fixtures: the viewport sizes they look at
pages in, full-page screenshots under ``test-output/screenshots/`` (at one width or both),
and names no other test uses (every test makes its own users, so tests can share the server
and database)."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Page

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def unique_name(prefix: str = "fan") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def screenshot_at_both_widths(page: Page, name: str) -> None:
    """``<name>-phone`` and ``<name>-laptop``; the page is left at laptop size."""
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
    screenshot(page, f"{name}-laptop")
