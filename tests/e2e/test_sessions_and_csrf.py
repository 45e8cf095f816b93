"""Cookies, session lifetime, cross-site form posts and CORS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.web.security import _GUARD_EXEMPT_PREFIXES, UNSAFE_METHODS
from tests.e2e.test_authorization_matrix import ROWS
from tests.support.authz import World, routes_needing_rows
from tests.support.database import snapshot
from tests.support.factories import TEST_PASSWORD, UserFactory

PRODUCTION_SECRET = "p" * 48


def login(client: FlaskClient, username: str, **extra: Any) -> Any:
    response = client.post(
        "/auth/login", json={"login": username, "password": TEST_PASSWORD, **extra}
    )
    assert response.status_code == 200
    return response


def cookies_set(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


class TestCookies:
    def test_production_cookies_are_secure_httponly_lax(
        self, app: Flask, make_app: Callable[..., Flask]
    ) -> None:
        production = make_app(
            environment="production",
            secret_key=PRODUCTION_SECRET,
            public_base_url="https://stubs.example.com",
        )
        user = UserFactory.create()
        cookies = cookies_set(login(production.test_client(), user.username, remember=True))
        assert set(cookies) >= {"session", "remember_token"}
        for header in cookies.values():
            assert "; Secure" in header
            assert "; HttpOnly" in header
            assert "SameSite=Lax" in header

    def test_development_cookies_work_over_plain_http(self, client: FlaskClient) -> None:
        user = UserFactory.create()
        cookie = cookies_set(login(client, user.username))["session"]
        assert "Secure" not in cookie
        assert "HttpOnly" in cookie


class TestSessionLifetime:
    def test_login_issues_a_new_session_and_the_old_cookie_stays_anonymous(
        self, app: Flask
    ) -> None:
        user = UserFactory.create()
        browser = app.test_client()
        browser.get("/auth/me")
        with browser.session_transaction() as session:
            session["planted"] = "before login"
        before = browser.get_cookie("session")
        assert before is not None
        login(browser, user.username)
        after = browser.get_cookie("session")
        assert after is not None
        assert after.value != before.value
        # An attacker holding the pre-login cookie gets nothing from the victim's login.
        attacker = app.test_client()
        attacker.set_cookie("session", before.value)
        assert attacker.get("/auth/me").status_code == 401

    def test_logout_ends_the_session_on_every_device(self, app: Flask) -> None:
        user = UserFactory.create()
        laptop, phone = app.test_client(), app.test_client()
        login(laptop, user.username)
        login(phone, user.username, remember=True)
        assert phone.get("/auth/me").status_code == 200
        assert laptop.post("/auth/logout", json={}).status_code == 200
        assert laptop.get("/auth/me").status_code == 401
        # The other device's cookies (session and remember-me) no longer load the user.
        assert phone.get("/auth/me").status_code == 401

    def test_password_change_ends_the_other_sessions(self, app: Flask) -> None:
        user = UserFactory.create()
        mine, stolen = app.test_client(), app.test_client()
        login(mine, user.username)
        login(stolen, user.username)
        response = mine.patch(
            "/auth/me",
            json={"new_password": "a new strong secret 5", "current_password": TEST_PASSWORD},
        )
        assert response.status_code == 200
        assert mine.get("/auth/me").status_code == 200
        assert stolen.get("/auth/me").status_code == 401


def unsafe_api_routes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (method, rule)
        for method, rule in routes_needing_rows(app)
        if method in UNSAFE_METHODS and not rule.startswith(_GUARD_EXEMPT_PREFIXES)
    )


# What a cross-site <form> can send: no custom headers, only these three encodings.
FORM_BODIES = {
    "urlencoded": {
        "data": "bio=pwned&password=x",
        "content_type": "application/x-www-form-urlencoded",
    },
    "multipart": {"data": {"bio": "pwned"}, "content_type": "multipart/form-data"},
    "text/plain": {"data": '{"bio": "pwned"}', "content_type": "text/plain"},
}


@pytest.mark.parametrize("encoding", sorted(FORM_BODIES))
def test_a_cross_site_form_post_changes_nothing_on_any_unsafe_route(
    app: Flask, encoding: str
) -> None:
    rows = {row.key: row for row in ROWS}
    routes = unsafe_api_routes(app)
    assert ("POST", "/auth/logout") in routes
    world = World.create()
    for method, rule in routes:
        row = rows.get((method, rule))
        assert row is not None, f"{method} {rule} has no authorization-matrix row"
        browser = app.test_client()
        # The victim is logged in; the browser attaches the cookie to the forged request.
        login(browser, world.owner.username)
        # The path's objects are created first: they are the victim's, not the attack's.
        path = row.path(world)
        before = snapshot()
        response = browser.open(
            path,
            method=method,
            headers={"Origin": "https://evil.example"},
            **FORM_BODIES[encoding],
        )
        assert response.status_code == 415, f"{method} {rule}: {response.status_code}"
        assert response.json["status"] == "error"
        assert snapshot() == before, f"{method} {rule} changed the database"
        assert browser.get("/auth/me").status_code == 200, "the session must survive"


class TestCors:
    ALLOWED = "https://front.example"

    @pytest.fixture
    def cors_client(self, app: Flask, make_app: Callable[..., Flask]) -> FlaskClient:
        return make_app(cors_origins=(self.ALLOWED,)).test_client()

    def test_preflight_for_the_configured_origin_allows_credentials(
        self, cors_client: FlaskClient
    ) -> None:
        response = cors_client.options(
            "/auth/me",
            headers={
                "Origin": self.ALLOWED,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Content-Type",
            },
        )
        assert response.headers["Access-Control-Allow-Origin"] == self.ALLOWED
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "PATCH" in response.headers["Access-Control-Allow-Methods"]

    @pytest.mark.parametrize(
        "origin", ["https://evil.example", "https://front.example.evil.example", "null"]
    )
    def test_other_origins_get_no_cors_headers(self, cors_client: FlaskClient, origin: str) -> None:
        preflight = cors_client.options(
            "/auth/me",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Content-Type",
            },
        )
        actual = cors_client.get("/auth/me", headers={"Origin": origin})
        for response in (preflight, actual):
            assert "Access-Control-Allow-Origin" not in response.headers
            assert "Access-Control-Allow-Credentials" not in response.headers

    def test_the_configured_origin_reads_responses(self, cors_client: FlaskClient) -> None:
        response = cors_client.get("/healthz", headers={"Origin": self.ALLOWED})
        assert "Access-Control-Allow-Origin" not in response.headers  # not an /api route
        response = cors_client.get("/api/users/1", headers={"Origin": self.ALLOWED})
        assert response.headers["Access-Control-Allow-Origin"] == self.ALLOWED

    def test_without_configured_origins_nobody_gets_cors(self, client: FlaskClient) -> None:
        response = client.options(
            "/auth/me",
            headers={"Origin": "https://front.example", "Access-Control-Request-Method": "GET"},
        )
        assert "Access-Control-Allow-Origin" not in response.headers
