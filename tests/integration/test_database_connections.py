"""Pooled PostgreSQL connections: pinged after idling, trusted while in steady use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stubcollector.database import engine_options, ping_idle_connections
from tests.support.servers import TEST_POSTGRES_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def admin(postgres_available: bool) -> Iterator[Engine]:
    if not postgres_available:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI")
        pytest.skip("PostgreSQL is not reachable")
    engine = sa.create_engine(TEST_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _engine(idle_seconds: float) -> Engine:
    options = engine_options(TEST_POSTGRES_URL)
    engine = sa.create_engine(TEST_POSTGRES_URL, **options)
    ping_idle_connections(engine, idle_seconds=idle_seconds)
    return engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT pg_backend_pid()")))


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_an_idle_connection_cut_by_the_server_is_replaced_without_an_error(admin: Engine) -> None:
    engine = _engine(idle_seconds=0)  # every checked-in connection counts as idle
    try:
        pid = _backend_pid(engine)
        _terminate(admin, pid)  # as a restart or an idle timeout would

        assert _backend_pid(engine) != pid  # the ping found it dead; a new one answered
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_a_cut_fails_once(admin: Engine) -> None:
    # No ping within the idle window: a connection cut meanwhile fails the unit of work
    # that meets it, and the pool then replaces its connections.
    engine = _engine(idle_seconds=3600)
    try:
        pid = _backend_pid(engine)
        _terminate(admin, pid)

        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()
