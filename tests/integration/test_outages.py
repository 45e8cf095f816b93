"""A database or Redis outage: 503 with the envelope while down, recovery without restart.

Each test starts its own server on a free port and really stops and starts it; the app
object (and its connection pools) stays the same throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.typing import ResponseReturnValue
from flask_migrate import upgrade
from sqlalchemy import select

from stubcollector.adapters.jobs import job
from stubcollector.adapters.redis_jobs import RedisJobQueue, run_worker
from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.container import container
from stubcollector.extensions import csrf, db, limiter
from stubcollector.models import ProviderEvent
from stubcollector.web.envelope import ok
from tests.support.servers import PrivatePostgres, PrivateRedis, RestClock
from tests.support.stripe_events import fixture, signed, stripe_event


@job("tests.outage_noop")
def _noop(_value: str) -> None:
    pass


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'outage.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "RATELIMIT_ENABLED": "false",
            **env,
        }
    )


def _assert_unavailable(response: object, message_part: str) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    assert body["status"] == "error"
    assert message_part in body["message"]
    assert response.headers["Retry-After"]  # type: ignore[attr-defined]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


def _with_enqueue_route(app: Flask) -> Flask:
    @limiter.limit("1000 per minute")
    def enqueue() -> ResponseReturnValue:
        container().jobs.enqueue("tests.outage_noop", "x")
        return ok(202)

    csrf.exempt(enqueue)
    app.add_url_rule("/api/test/enqueue", "test_enqueue", enqueue, methods=["POST"])
    return app


def test_redis_outage_answers_503_and_recovers_without_restart(
    tmp_path: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _with_enqueue_route(
        create_app(
            _settings(
                tmp_path,
                REDIS_URL=private_redis.url,
                RATELIMIT_ENABLED="true",
                JOB_QUEUE_NAME="outage-test",
            )
        )
    )
    with app.app_context():
        upgrade()
    client = app.test_client()
    clock = RestClock(monkeypatch)
    assert client.get("/readyz").json == {"status": "success", "database": "up", "redis": "up"}
    assert client.post("/api/test/enqueue", json={}).status_code == 202

    private_redis.stop()
    ready = client.get("/readyz")
    _assert_unavailable(ready, "redis")
    assert ready.json["redis"] == "down"
    assert ready.json["database"] == "up"
    # Enqueueing needs Redis: a clear 503; the rate limiter falls back to memory meanwhile.
    _assert_unavailable(client.post("/api/test/enqueue", json={}), "queue unavailable")
    assert client.get("/healthz").status_code == 200

    private_redis.start()
    assert client.get("/readyz").status_code == 200
    # For a few seconds after the failure the queue is left alone: a fast 503, then it
    # tries again.
    _assert_unavailable(client.post("/api/test/enqueue", json={}), "queue unavailable")
    clock.skip_the_rest()
    assert client.post("/api/test/enqueue", json={}).status_code == 202
    assert container(app).jobs.depth()["queued"] == 1  # type: ignore[attr-defined]


def test_database_outage_answers_503_and_recovers_without_restart(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    app = create_app(_settings(tmp_path, DATABASE_URL=private_postgres.url))
    with app.app_context():
        upgrade()
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/users/1").status_code == 404  # a query that reaches the database

    private_postgres.stop()
    ready = client.get("/readyz")
    _assert_unavailable(ready, "database")
    assert ready.json["database"] == "down"
    _assert_unavailable(client.get("/api/users/1"), "database unavailable")
    _assert_unavailable(client.get("/healthz"), "database unreachable")

    private_postgres.start()
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/users/1").status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_webhook_deliveries_are_acknowledged_through_a_redis_outage_and_processed_after(
    tmp_path: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        _settings(tmp_path, REDIS_URL=private_redis.url, JOB_QUEUE_NAME="outage-webhooks")
    )
    with app.app_context():
        upgrade()
    client = app.test_client()
    secret = container(app).settings.stripe_connect_webhook_secret

    def deliver(event_id: str) -> object:
        event = stripe_event(
            "balance.available", fixture("balance"), account=None, event_id=event_id
        )
        body, headers = signed(event, secret)
        return client.post("/api/payments/webhook/connect", data=body, headers=headers)

    clock = RestClock(monkeypatch)
    private_redis.stop()
    during = deliver("evt_during_outage")
    assert during.status_code == 200  # type: ignore[attr-defined]
    assert during.json["duplicate"] is False  # type: ignore[attr-defined]

    private_redis.start()
    clock.skip_the_rest()
    assert deliver("evt_after_outage").status_code == 200  # type: ignore[attr-defined]
    queue = container(app).jobs
    assert isinstance(queue, RedisJobQueue)
    run_worker(app, queue, burst=True)  # the dispatcher, then both events' jobs
    with app.app_context():
        statuses = dict(
            db.session.execute(select(ProviderEvent.event_id, ProviderEvent.processing_status))
            .tuples()
            .all()
        )
    assert statuses == {"evt_during_outage": "ignored", "evt_after_outage": "ignored"}
