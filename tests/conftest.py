"""Fixtures shared by every test layer.

Database tests run once per configured backend: SQLite always, PostgreSQL when reachable
(``TEST_POSTGRES_URL``; in CI it must be reachable). Each backend's schema is built once per
session by the Alembic migrations — the same path production takes — and emptied after
every test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.models import Base, User
from tests.support.clients import AuthActions
from tests.support.factories import UserFactory
from tests.support.servers import TEST_POSTGRES_URL


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(TEST_POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError:
        return False
    return True


def _backends() -> list[Any]:
    wanted = os.environ.get("TEST_DATABASES", "sqlite,postgres").split(",")
    params: list[Any] = []
    if "sqlite" in wanted:
        params.append(pytest.param("sqlite", id="sqlite"))
    if "postgres" in wanted:
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return _postgres_reachable()


@pytest.fixture(scope="session", params=_backends())
def database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_available: bool,
) -> Iterator[str]:
    """A fresh, empty database for this test session on one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    if not postgres_available:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {TEST_POSTGRES_URL} (required in CI)")
        pytest.skip(f"PostgreSQL is not reachable at {TEST_POSTGRES_URL}")
    name = f"stubcollector_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(TEST_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(TEST_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def base_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    return Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
            "RATELIMIT_ENABLED": "false",
        }
    )


class RequestIsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a server does.

    Flask reuses an app context that is already pushed (the ``app`` fixture keeps one open
    for factories), and Flask-Login caches the loaded user in ``g`` on that context: without
    this, a second client's request would see the user of the first client's login, and
    session and CSRF tests would pass or fail for the wrong reason.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def build_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.test_client_class = RequestIsolatedClient
    return app


@pytest.fixture(scope="session")
def migrated_app(base_settings: Settings) -> Iterator[Flask]:
    """The session's app; its schema comes from the migrations, never from create_all()."""
    app = build_app(base_settings)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _empty_all_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = list(reversed(Base.metadata.sorted_tables))
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())


@pytest.fixture
def app(migrated_app: Flask) -> Iterator[Flask]:
    with migrated_app.app_context():
        yield migrated_app
        db.session.remove()
    _empty_all_tables(migrated_app)


@pytest.fixture
def make_app(base_settings: Settings, migrated_app: Flask) -> Iterator[Callable[..., Flask]]:
    """Build an app on the session database with some settings changed."""
    built: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        new_app = build_app(base_settings.with_overrides(**overrides))
        built.append(new_app)
        return new_app

    yield factory
    if has_app_context():
        # The test's own context (the ``app`` fixture, torn down after this one) may hold an
        # open transaction from a factory; on PostgreSQL the TRUNCATE below would wait for it
        # forever.
        db.session.remove()
    for new_app in built:
        with new_app.app_context():
            db.session.remove()
            db.engine.dispose()
    _empty_all_tables(migrated_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def user(app: Flask) -> User:
    return UserFactory.create()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def logged_in_client(client: FlaskClient, user: User, auth: AuthActions) -> FlaskClient:
    response = auth.login(user.username)
    assert response.status_code == 200, response.json
    return client


@pytest.fixture
def tmp_instance(tmp_path: Path) -> Path:
    return tmp_path
