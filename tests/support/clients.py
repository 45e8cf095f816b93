"""Test clients and logging in: a client of their own for each user of a test, and login or
logout on a given client.

Every user the factories make has ``TEST_PASSWORD``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_app_context
from flask.testing import FlaskClient

from stubcollector.models import User
from tests.support.factories import TEST_PASSWORD


class ActorClient(FlaskClient):
    """A test client for one of several users in the same test.

    Requests made inside the test's app context share its ``g``, where Flask-Login caches
    the current user; forget it before each request so every client is its own user.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def anonymous_client(app: Flask) -> FlaskClient:
    return ActorClient(app, app.response_class, use_cookies=True)


def client_for(app: Flask, user: User) -> FlaskClient:
    client = anonymous_client(app)
    response = client.post("/auth/login", json={"login": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.json
    return client


class AuthActions:
    """Logs one client in or out (the ``auth`` fixture wraps the ``client`` fixture in one)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, login: str, password: str = TEST_PASSWORD) -> Any:
        return self._client.post("/auth/login", json={"login": login, "password": password})

    def logout(self) -> Any:
        return self._client.post("/auth/logout", json={})
