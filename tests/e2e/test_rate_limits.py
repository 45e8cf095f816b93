"""Rate limits on login, registration and costly work, with in-memory storage (Redis:
tests/integration).

The shared fixtures build apps with ``RATELIMIT_ENABLED=false``; these tests switch it on.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from stubcollector.models import User
from stubcollector.ratelimits import (
    CHECKOUTS,
    DISPUTE_EVIDENCE,
    EVIDENCE_FILES,
    NEW_LISTINGS,
    PER_USER_BUDGETS,
    READINGS,
    RULES_ATTRIBUTE,
    UPLOADS,
    Budget,
)
from stubcollector.web.api.auth import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_PER_IP,
    REGISTER_PER_ACCOUNT,
    REGISTER_PER_IP,
)
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.pages import HTML, csrf_token

_addresses = count(1)


def amount(limit: str) -> int:
    return int(limit.split()[0])


def fresh_ip() -> dict[str, str]:
    """A new client address, so only the per-account limit can be what stops a request."""
    n = next(_addresses)
    return {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


@pytest.fixture
def limited(app: Flask, make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(ratelimit_enabled=True).test_client()


def assert_throttled(response: object) -> None:
    assert response.status_code == 429  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    assert body["status"] == "error"
    assert body["message"].startswith("too many requests")
    retry_after = int(response.headers["Retry-After"])  # type: ignore[attr-defined]
    assert 0 < retry_after <= 3600


class TestLogin:
    def test_per_ip_counts_every_attempt(self, limited: FlaskClient) -> None:
        ip = fresh_ip()
        for _ in range(amount(LOGIN_PER_IP)):
            # Malformed attempts count too: the limit runs before validation.
            response = limited.post("/auth/login", json={"login": "x"}, environ_base=ip)
            assert response.status_code == 422
            assert "X-RateLimit-Remaining" in response.headers
        assert_throttled(limited.post("/auth/login", json={"login": "x"}, environ_base=ip))
        # Another address is not affected.
        other = limited.post("/auth/login", json={"login": "x"}, environ_base=fresh_ip())
        assert other.status_code == 422

    def test_per_account_counts_failures_from_any_ip(self, limited: FlaskClient) -> None:
        victim = UserFactory.create()
        spellings = [victim.username, victim.username.upper(), f"  {victim.username} "]
        for attempt in range(amount(LOGIN_FAILURES_PER_ACCOUNT)):
            response = limited.post(
                "/auth/login",
                json={"login": spellings[attempt % 3], "password": "wrong guess 1"},
                environ_base=fresh_ip(),
            )
            assert response.status_code == 401
        # Now even the right password from a new address waits: the guessing is capped.
        assert_throttled(
            limited.post(
                "/auth/login",
                json={"login": victim.username, "password": TEST_PASSWORD},
                environ_base=fresh_ip(),
            )
        )
        bystander = UserFactory.create()
        response = limited.post(
            "/auth/login",
            json={"login": bystander.username, "password": TEST_PASSWORD},
            environ_base=fresh_ip(),
        )
        assert response.status_code == 200

    def test_successful_logins_do_not_use_up_the_account_limit(self, limited: FlaskClient) -> None:
        user = UserFactory.create()
        for _ in range(amount(LOGIN_FAILURES_PER_ACCOUNT) + 2):
            response = limited.post(
                "/auth/login",
                json={"login": user.email, "password": TEST_PASSWORD},
                environ_base=fresh_ip(),
            )
            assert response.status_code == 200


class TestRegister:
    def test_per_ip(self, limited: FlaskClient) -> None:
        ip = fresh_ip()
        for n in range(amount(REGISTER_PER_IP)):
            response = limited.post(
                "/auth/register", json={"email": f"a{n}@example.com"}, environ_base=ip
            )
            assert response.status_code == 422
        assert_throttled(
            limited.post("/auth/register", json={"email": "z@example.com"}, environ_base=ip)
        )

    def test_per_account_is_the_normalised_email(self, limited: FlaskClient) -> None:
        spellings = ["Same@Example.com", "same@example.com ", "SAME@EXAMPLE.COM"]
        for n in range(amount(REGISTER_PER_ACCOUNT)):
            response = limited.post(
                "/auth/register", json={"email": spellings[n % 3]}, environ_base=fresh_ip()
            )
            assert response.status_code == 422
        assert_throttled(
            limited.post(
                "/auth/register", json={"email": "same@example.com"}, environ_base=fresh_ip()
            )
        )


class TestIsolation:
    def test_two_apps_in_one_process_keep_separate_memory_counts(
        self, app: Flask, make_app: Callable[..., Flask]
    ) -> None:
        first = make_app(ratelimit_enabled=True).test_client()
        second = make_app(ratelimit_enabled=True).test_client()
        ip = fresh_ip()
        for _ in range(amount(LOGIN_PER_IP)):
            first.post("/auth/login", json={"login": "x"}, environ_base=ip)
        assert first.post("/auth/login", json={"login": "x"}, environ_base=ip).status_code == 429
        assert second.post("/auth/login", json={"login": "x"}, environ_base=ip).status_code == 422

    def test_an_enabled_app_does_not_switch_limits_on_for_a_disabled_one(
        self, app: Flask, client: FlaskClient, make_app: Callable[..., Flask]
    ) -> None:
        make_app(ratelimit_enabled=True)
        ip = fresh_ip()
        for _ in range(amount(LOGIN_PER_IP) + 3):
            response = client.post("/auth/login", json={"login": "x"}, environ_base=ip)
            assert response.status_code == 422


# The costly work and the routes that do it: the JSON API route and its HTML form twin.
# Each request is cheap to refuse (a malformed body, an id that names nothing) but counts.
API, PAGE = "api", "page"
BUDGET_ROUTES: list[tuple[Budget, list[tuple[str, str, dict[str, object]]]]] = [
    (
        UPLOADS,
        [
            # JSON to the multipart upload: a cheap 415 that still counts.
            (API, "/api/stubs/upload", {"json": {}}),
            # The upload form without a file: re-rendered with the error (422).
            (PAGE, "/collection/upload", {}),
        ],
    ),
    (
        READINGS,
        [
            (API, "/api/stubs/999999/read", {"json": {}}),
            (PAGE, "/collection/stubs/999999/read", {}),
        ],
    ),
    (
        CHECKOUTS,
        [
            (API, "/api/payments/create-payment-intent", {"json": {"listing_id": 0}}),
            (PAGE, "/checkout/", {"data": {"listing_id": "0"}}),
        ],
    ),
    (
        NEW_LISTINGS,
        [
            (API, "/api/marketplace/listings", {"json": {"stub_id": 0}}),
            (PAGE, "/selling/stubs/999999", {"data": {"asking_price": "5.00"}}),
        ],
    ),
    # Each evidence update reaches the provider (a dispute's answer, its files).
    (
        DISPUTE_EVIDENCE,
        [
            (API, "/api/disputes/dp_x/evidence", {"json": {"unknown": 1}}),
            (PAGE, "/disputes/dp_x/evidence", {"data": {"action": "save"}}),
        ],
    ),
    (
        EVIDENCE_FILES,
        [
            (API, "/api/disputes/dp_x/files", {"json": {}}),
            (PAGE, "/disputes/dp_x/files", {"data": {"field": "receipt"}}),
        ],
    ),
]
REFUSED_CHEAPLY = (404, 415, 422)


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    response = client.post("/auth/login", json={"login": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    return client


def send(client: FlaskClient, kind: str, path: str, kwargs: dict[str, object]) -> TestResponse:
    """One request of the budget's work, from a new address (only the user key can stop it);
    a page's form carries the session's CSRF token, as a browser's does."""
    if kind == API:
        return client.post(path, environ_base=fresh_ip(), **kwargs)  # type: ignore[arg-type]
    form = {"csrf_token": csrf_token(client, "/orders/"), **kwargs.get("data", {})}  # type: ignore[dict-item]
    return client.post(path, data=form, headers=HTML, environ_base=fresh_ip())


class TestPerUserLimitsOnExpensiveRoutes:
    """Uploads, readings, checkout, new listings, dispute evidence and its files: per
    logged-in user, malformed attempts included (the limit sits above validation), so one
    account cannot flood them from many IPs — and one budget for the API route and the page
    that do the same work, so the page is no way around the API's limit."""

    @pytest.mark.parametrize(
        ("budget", "routes"), BUDGET_ROUTES, ids=[budget.name for budget, _ in BUDGET_ROUTES]
    )
    def test_the_api_and_its_page_share_one_budget_per_user(
        self,
        app: Flask,
        make_app: Callable[..., Flask],
        budget: Budget,
        routes: list[tuple[str, str, dict[str, object]]],
    ) -> None:
        limited_app = make_app(ratelimit_enabled=True)
        first, second = UserFactory.create(), UserFactory.create()
        greedy = logged_in(limited_app, first)
        for n in range(amount(budget.value)):
            # Half through the API, half through the page: together they use the budget up.
            kind, path, kwargs = routes[n % len(routes)]
            response = send(greedy, kind, path, kwargs)
            assert response.status_code in REFUSED_CHEAPLY, (kind, path, response.status_code)
            assert "X-RateLimit-Remaining" in response.headers
        for kind, path, kwargs in routes:
            refused = send(greedy, kind, path, kwargs)
            if kind == API:
                assert_throttled(refused)
            else:
                assert refused.status_code == 429, path
                assert "Too many attempts" in refused.get_data(as_text=True)
                assert int(refused.headers["Retry-After"]) > 0
        # Another user behind the same address is not affected, on either route.
        neighbour = logged_in(limited_app, second)
        for kind, path, kwargs in routes:
            assert send(neighbour, kind, path, kwargs).status_code in REFUSED_CHEAPLY

    def test_budgets_are_separate(self, app: Flask, make_app: Callable[..., Flask]) -> None:
        limited_app = make_app(ratelimit_enabled=True)
        client = logged_in(limited_app, UserFactory.create())
        for _ in range(amount(READINGS.value)):
            send(client, API, "/api/stubs/999999/read", {"json": {}})
        assert_throttled(send(client, API, "/api/stubs/999999/read", {"json": {}}))
        # Reading again used up its own budget, not the uploads'.
        assert send(client, API, "/api/stubs/upload", {"json": {}}).status_code == 415

    def test_opening_a_form_page_costs_nothing(
        self, app: Flask, make_app: Callable[..., Flask]
    ) -> None:
        limited_app = make_app(ratelimit_enabled=True)
        client = logged_in(limited_app, UserFactory.create())
        for _ in range(amount(UPLOADS.value) + 5):
            assert client.get("/collection/upload", headers=HTML).status_code == 200
        assert send(client, PAGE, "/collection/upload", {}).status_code == 422

    def test_every_budget_is_tested_on_every_route_that_spends_it(self, app: Flask) -> None:
        """A new route declaring a budget must join BUDGET_ROUTES (and so these tests)."""
        declared: dict[str, set[str]] = {}
        for endpoint, view in app.view_functions.items():
            for rule in getattr(view, RULES_ATTRIBUTE, ()):
                if rule.shared:
                    declared.setdefault(rule.scope, set()).add(endpoint)
        tested = {f"user-budget:{budget.name}": len(routes) for budget, routes in BUDGET_ROUTES}
        assert {scope: len(endpoints) for scope, endpoints in declared.items()} == tested
        assert {budget.name for budget in PER_USER_BUDGETS} == {
            budget.name for budget, _ in BUDGET_ROUTES
        }
