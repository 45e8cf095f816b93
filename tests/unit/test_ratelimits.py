"""The rate-limit machinery other areas use: per_user, exempt, defaults, config parsing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask_login import LoginManager

from stubcollector.config import ConfigError, Settings
from stubcollector.ratelimits import RateLimits, limiter_of


@dataclass
class FakeUser:
    id: int
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)


def build(limits: RateLimits, *, enabled: bool = True) -> Flask:
    app = Flask(__name__)
    app.secret_key = "unit-test"
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: FakeUser(int(user_id)))

    @app.post("/upload")
    @limits.per_user("2 per minute")
    def upload() -> str:
        return "stored"

    @app.post("/webhook")
    @limits.exempt
    def webhook() -> str:
        return "received"

    @app.get("/other")
    def other() -> str:
        return "ok"

    limits.init_app(app, storage_uri="memory://", enabled=enabled, default_limits=("3 per minute",))
    return app


def as_user(app: Flask, user_id: int | None) -> object:
    client = app.test_client()
    if user_id is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
    return client


def test_per_user_limits_each_user_separately_whatever_their_ip() -> None:
    app = build(RateLimits())
    alice, bob = as_user(app, 1), as_user(app, 2)
    for n in range(2):
        ip = {"REMOTE_ADDR": f"192.0.2.{n}"}
        assert alice.post("/upload", environ_base=ip).status_code == 200  # type: ignore[attr-defined]
    third = alice.post("/upload", environ_base={"REMOTE_ADDR": "192.0.2.99"})  # type: ignore[attr-defined]
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) > 0
    assert bob.post("/upload").status_code == 200  # type: ignore[attr-defined]


def test_anonymous_callers_share_their_ips_bucket() -> None:
    app = build(RateLimits())
    anonymous = as_user(app, None)
    for _ in range(2):
        assert anonymous.post("/upload").status_code == 200  # type: ignore[attr-defined]
    assert anonymous.post("/upload").status_code == 429  # type: ignore[attr-defined]


def test_exempt_views_skip_the_default_limit_that_binds_the_others() -> None:
    app = build(RateLimits())
    client = as_user(app, 1)
    for _ in range(3):
        assert client.get("/other").status_code == 200  # type: ignore[attr-defined]
    assert client.get("/other").status_code == 429  # type: ignore[attr-defined]
    for _ in range(10):
        assert client.post("/webhook").status_code == 200  # type: ignore[attr-defined]


def test_disabled_limits_let_everything_through() -> None:
    app = build(RateLimits(), enabled=False)
    client = as_user(app, 1)
    for _ in range(5):
        assert client.post("/upload").status_code == 200  # type: ignore[attr-defined]


def test_each_app_gets_its_own_limiter() -> None:
    limits = RateLimits()
    first, second = build(limits), build(limits)
    assert limiter_of(first) is not limiter_of(second)


def test_default_limit_setting_is_validated() -> None:
    settings = Settings.from_env({"RATELIMIT_DEFAULT": "100 per minute; 2000 per day"})
    assert settings.ratelimit_default == ("100 per minute", "2000 per day")
    with pytest.raises(ConfigError, match="RATELIMIT_DEFAULT"):
        Settings.from_env({"RATELIMIT_DEFAULT": "lots"})


def test_storage_defaults_to_redis_when_redis_url_is_set() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings.ratelimit_storage_url == "redis://127.0.0.1:6379/0"
    assert Settings.from_env({}).ratelimit_storage_url == "memory://"
