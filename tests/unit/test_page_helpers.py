"""Template filters and redirect checks used by the HTML pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask

from stubcollector.web.pages.forms import safe_next_url
from stubcollector.web.pages.templating import format_date, money, status_label, status_tone


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "$0.00"), (5, "$0.05"), (123450, "$1,234.50"), (-250, "-$2.50"), (None, "—")],
)
def test_money_shows_cents_as_dollars(cents: int | None, shown: str) -> None:
    assert money(cents) == shown


def test_dates_read_the_same_from_objects_and_iso_strings() -> None:
    moment = datetime(2026, 3, 7, 21, 30, tzinfo=UTC)
    assert format_date(moment) == "Mar 7, 2026"
    assert format_date(moment.isoformat()) == "Mar 7, 2026"
    assert format_date(date(1999, 8, 14)) == "Aug 14, 1999"
    assert format_date(None) == "—"


def test_statuses_read_as_words_with_a_tone() -> None:
    assert (status_label("payment_completed"), status_tone("payment_completed")) == (
        "Paid",
        "success",
    )
    assert (status_label("payment_failed"), status_tone("payment_failed")) == (
        "Payment failed",
        "danger",
    )
    assert (status_label("something_new"), status_tone("something_new")) == (
        "Something new",
        "neutral",
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("/orders?page=2", "/orders?page=2"),
        ("http://shop.test/account", "/account"),
        ("https://evil.example/x", None),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("account", None),
        ("", None),
        (None, None),
    ],
)
def test_next_urls_stay_on_this_site(target: str | None, expected: str | None) -> None:
    with Flask(__name__).test_request_context("/login", base_url="http://shop.test"):
        assert safe_next_url(target) == expected
