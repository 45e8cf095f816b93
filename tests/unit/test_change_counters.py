"""Change counters and the write watcher that advances them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from stubcollector.adapters.change_counters import LocalChangeCounter, RedisChangeCounter
from stubcollector.database import after_writes_to
from tests.support.servers import TEST_REDIS_URL, RestClock, free_port, require_redis


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'watch.db'}")
    with engine.begin() as connection:
        for table in ("stub_listings", "users", "user_sessions", "stubs_archive"):
            connection.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, n INT)"))
    yield engine
    engine.dispose()


@pytest.fixture
def changes(engine: sa.Engine) -> list[str]:
    calls: list[str] = []
    after_writes_to(engine, ("stub_listings", "users"), lambda: calls.append("changed"))
    return calls


class TestAfterWritesTo:
    def test_a_write_is_announced_once_its_transaction_is_over(
        self, engine: sa.Engine, changes: list[str]
    ) -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("INSERT INTO stub_listings (n) VALUES (1)"))
            connection.execute(sa.text("UPDATE stub_listings SET n = 2"))
            assert changes == []  # not committed yet: readers must not see a new count
            connection.commit()
        assert changes == ["changed"]

    @pytest.mark.parametrize(
        "statement",
        [
            'UPDATE "users" SET n = 1',
            "  delete from Users where id = 5",
            "WITH doomed AS (SELECT 1) DELETE FROM stub_listings WHERE id IN (SELECT 1)",
        ],
    )
    def test_every_form_of_write_counts(
        self, engine: sa.Engine, changes: list[str], statement: str
    ) -> None:
        with engine.begin() as connection:
            connection.execute(sa.text(statement))
        assert changes == ["changed"]

    @pytest.mark.parametrize(
        "statement",
        [
            "SELECT * FROM stub_listings JOIN users ON users.id = stub_listings.id",
            "INSERT INTO user_sessions (n) VALUES (1)",
            "UPDATE stubs_archive SET n = 1",
            "WITH found AS (SELECT * FROM users) SELECT * FROM found",
        ],
    )
    def test_reads_and_other_tables_do_not(
        self, engine: sa.Engine, changes: list[str], statement: str
    ) -> None:
        with engine.begin() as connection:
            connection.execute(sa.text(statement))
        assert changes == []

    def test_a_later_read_only_transaction_is_not_announced_again(
        self, engine: sa.Engine, changes: list[str]
    ) -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO users (n) VALUES (1)"))
        with engine.begin() as connection:
            connection.execute(sa.text("SELECT * FROM users"))
        assert changes == ["changed"]


class TestLocalChangeCounter:
    def test_advances_and_tells_instances_apart(self) -> None:
        first, second = LocalChangeCounter(), LocalChangeCounter()
        before = first.current()
        first.advance()
        assert first.current() != before
        assert first.current() != second.current()
        assert second.current() != LocalChangeCounter().current()


@pytest.fixture
def redis_key() -> Iterator[str]:
    require_redis(TEST_REDIS_URL)
    key = f"test:listing-changes:{uuid.uuid4().hex[:8]}"
    yield key
    Redis.from_url(TEST_REDIS_URL).delete(key)


@pytest.mark.redis
class TestRedisChangeCounter:
    def test_processes_see_each_others_changes(self, redis_key: str) -> None:
        here = RedisChangeCounter(Redis.from_url(TEST_REDIS_URL), redis_key)
        there = RedisChangeCounter(Redis.from_url(TEST_REDIS_URL), redis_key)
        seen_here = here.current()
        there.advance()
        assert here.current() != seen_here
        assert seen_here is not None
        assert here.current() == (seen_here[0] + 1, *seen_here[1:])

    def test_after_a_failure_no_earlier_value_comes_back(
        self, redis_key: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Writes made while Redis was out of reach went uncounted: entries cached under a
        # value from before the failure must never be found again.
        client = Redis.from_url(TEST_REDIS_URL)
        counter = RedisChangeCounter(client, redis_key)
        before = counter.current()

        def refuse(_key: str) -> None:
            raise RedisConnectionError("down")

        monkeypatch.setattr(client, "get", refuse)
        assert counter.current() is None
        monkeypatch.undo()
        RestClock(monkeypatch).skip_the_rest()
        after = counter.current()
        assert after is not None
        assert after != before

    def test_unreachable_redis_means_unknown_and_is_left_alone_for_a_while(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
        counter = RedisChangeCounter(dead, "unused")
        counter.advance()  # must not raise
        assert counter.current() is None
        assert len([r for r in caplog.records if "change counter" in r.getMessage()]) == 1
        tried: list[str] = []
        monkeypatch.setattr(dead, "get", lambda key: tried.append(key))
        assert counter.current() is None
        assert tried == []  # resting: no round trip to a dead server on every request
        RestClock(monkeypatch).skip_the_rest()
        assert counter.current() is not None  # tried again (and this fake answers)
        assert tried == ["unused"]
