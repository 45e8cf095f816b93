"""Rate limits on login and registration, with in-memory storage (Redis: tests/integration).

The shared fixtures build apps with ``RATELIMIT_ENABLED=false``; these tests switch it on.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.web.api.auth import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_PER_IP,
    REGISTER_PER_ACCOUNT,
    REGISTER_PER_IP,
)
from tests.support.factories import TEST_PASSWORD, UserFactory

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


class TestPerUserLimitsOnExpensiveRoutes:
    """Uploads, checkout and new listings: per logged-in user, malformed attempts included
    (the limit sits above validation), so one account cannot flood them from many IPs."""

    @pytest.mark.parametrize(
        ("path", "limit", "request_kwargs"),
        [
            # JSON to the multipart upload: a cheap 415 that still counts.
            ("/api/stubs/upload", "30 per hour", {"json": {}}),
            ("/api/payments/create-payment-intent", "20 per hour", {"json": {"listing_id": 0}}),
            ("/api/marketplace/listings", "60 per hour", {"json": {"stub_id": 0}}),
            # Each evidence update reaches the provider (a dispute's answer, its files).
            ("/api/disputes/dp_x/evidence", "30 per hour", {"json": {"unknown": 1}}),
            ("/api/disputes/dp_x/files", "30 per hour", {"json": {}}),
        ],
    )
    def test_the_user_is_throttled_not_the_address(
        self,
        app: Flask,
        make_app: Callable[..., Flask],
        path: str,
        limit: str,
        request_kwargs: dict[str, object],
    ) -> None:
        limited_app = make_app(ratelimit_enabled=True)
        first, second = UserFactory.create(), UserFactory.create()
        greedy = limited_app.test_client()
        assert (
            greedy.post(
                "/auth/login", json={"login": first.username, "password": TEST_PASSWORD}
            ).status_code
            == 200
        )
        for _ in range(amount(limit)):
            # A new address each time: only the per-user key can stop the next one.
            response = greedy.post(path, environ_base=fresh_ip(), **request_kwargs)  # type: ignore[arg-type]
            assert response.status_code in (415, 422), response.json
        assert_throttled(greedy.post(path, environ_base=fresh_ip(), **request_kwargs))  # type: ignore[arg-type]
        # Another user behind the same address is not affected.
        neighbour = limited_app.test_client()
        assert (
            neighbour.post(
                "/auth/login", json={"login": second.username, "password": TEST_PASSWORD}
            ).status_code
            == 200
        )
        response = neighbour.post(path, **request_kwargs)  # type: ignore[arg-type]
        assert response.status_code in (415, 422)
