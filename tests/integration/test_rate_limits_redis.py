"""Rate limits on the real Redis: counts are shared by every app process using it.

Redis database 13 (``TEST_RATELIMIT_REDIS_URL``) belongs to these tests: it is flushed
before and after each one. Without a reachable Redis the tests skip, except in CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests
from flask import Flask
from flask_migrate import upgrade

from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.ratelimits import CHECKOUTS
from stubcollector.web.api.auth import LOGIN_FAILURES_PER_ACCOUNT
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.live_server import serve_in_processes
from tests.support.pages import HTML, csrf_token
from tests.support.servers import require_redis

REDIS_URL = os.environ.get("TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/13")
FAILURES = int(LOGIN_FAILURES_PER_ACCOUNT.split()[0])

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_redis(REDIS_URL)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def wrong_login(post: Callable[..., object], username: str, n: int) -> int:
    response = post(
        "/auth/login",
        json={"login": username, "password": "not the password"},
        headers={"X-Attempt": str(n)},
    )
    return response.status_code  # type: ignore[attr-defined]


def test_two_apps_in_one_process_share_counts_through_redis(
    app: Flask, make_app: Callable[..., Flask], redis_url: str
) -> None:
    user = UserFactory.create()
    clients = [
        make_app(ratelimit_enabled=True, ratelimit_storage_url=redis_url).test_client()
        for _ in range(2)
    ]
    codes = [wrong_login(clients[n % 2].post, user.username, n) for n in range(FAILURES)]
    assert codes == [401] * FAILURES
    assert wrong_login(clients[1].post, user.username, FAILURES) == 429
    assert wrong_login(clients[0].post, user.username, FAILURES + 1) == 429
    keys = redis.Redis.from_url(redis_url).keys("*stubcollector*")
    assert keys, "the counts should live in Redis"


def test_the_api_and_the_page_spend_one_budget_across_apps_through_redis(
    app: Flask, make_app: Callable[..., Flask], redis_url: str
) -> None:
    """Checkouts through the API on one process and through the page on another: one
    budget for the user, counted in Redis."""
    user = UserFactory.create()
    clients = []
    for _ in range(2):
        client = make_app(ratelimit_enabled=True, ratelimit_storage_url=redis_url).test_client()
        login = {"login": user.username, "password": TEST_PASSWORD}
        assert client.post("/auth/login", json=login).status_code == 200
        clients.append(client)
    api, page = clients

    def through_api() -> int:
        response = api.post("/api/payments/create-payment-intent", json={"listing_id": 0})
        return response.status_code

    def through_page() -> int:
        form = {"csrf_token": csrf_token(page, "/orders/"), "listing_id": "0"}
        return page.post("/checkout/", data=form, headers=HTML).status_code

    budget = int(CHECKOUTS.value.split()[0])
    codes = [(through_api if n % 2 else through_page)() for n in range(budget)]
    assert codes == [422] * budget
    assert (through_api(), through_page()) == (429, 429)
    assert redis.Redis.from_url(redis_url).keys("*user-budget:checkouts*")


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    """A migrated SQLite file with one user, for server processes to share."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = Settings.from_env(
        {"APP_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)}
    )
    migrated = create_app(settings)
    with migrated.app_context():
        upgrade()
        UserFactory.create(username="shared-victim")
        db.session.remove()
        db.engine.dispose()
    return url


def test_two_server_processes_share_the_login_limit_through_redis(
    sqlite_database: str, redis_url: str, tmp_path: Path
) -> None:
    # (That memory storage would not share is shown in-process by
    # tests/e2e/test_rate_limits.py::TestIsolation; server processes are slow to start.)
    environ = {
        "APP_ENV": "development",
        "DATABASE_URL": sqlite_database,
        "INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URL": redis_url,
        "LOG_LEVEL": "WARNING",
    }
    with serve_in_processes(environ, count=2) as servers, requests.Session() as http:
        first = servers[0]

        def post(server: str) -> Callable[..., object]:
            return lambda path, **kwargs: http.post(server + path, timeout=30, **kwargs)

        # Alternate between the processes: each sees only half of the attempts.
        codes = [wrong_login(post(servers[n % 2]), "shared-victim", n) for n in range(FAILURES)]
        assert codes == [401] * FAILURES
        after = [wrong_login(post(server), "shared-victim", 99) for server in servers]
        assert after == [429, 429]
        response = http.post(
            first + "/auth/login",
            json={"login": "shared-victim", "password": TEST_PASSWORD},
            timeout=30,
        )
        assert response.status_code == 429
        assert response.json()["status"] == "error"
        assert int(response.headers["Retry-After"]) > 0
