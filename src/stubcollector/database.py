"""How the app talks to its database: engine options and connection hygiene.

PostgreSQL connections are checked before use only when they have been idle for a while
(:func:`ping_idle_connections`), not on every checkout as ``pool_pre_ping`` would: each
unit of work checks a connection out, so an unconditional ping added a round trip to
every transaction (a fifth of the web processes' samples under webhook load). A
connection in steady use is known to be alive; one that sat idle may have been cut by a
database restart, a failover or an idle timeout, and is pinged and replaced transparently.
A connection that dies while in use fails that one unit of work (503), and SQLAlchemy
then invalidates every pooled connection opened before the failure, so the next ones
reconnect: the app recovers from an outage without a restart either way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# A connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0
_LAST_USED = "stubcollector_last_used"
_WROTE_WATCHED_TABLES = "stubcollector_wrote_watched_tables"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE")


def engine_options(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        # Several request threads share the file; wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 30}}
    # connect_timeout keeps requests from hanging on a dead host; pool_recycle retires
    # connections before the idle timeouts of proxies and managed databases (often 30 min
    # or more) can cut them.
    return {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_timeout": 10,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 5},
    }


def ping_idle_connections(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a pooled connection at checkout if it has been idle for ``idle_seconds``."""

    @event.listens_for(engine, "checkin")
    def remember_use(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is None or time.monotonic() - last_used < idle_seconds:
            return  # new, or in steady use
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            # The ping opened a transaction on a non-autocommit connection; end it.
            dbapi_connection.rollback()
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error


def enable_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless asked, per connection; WAL lets readers
        # proceed while one writer commits.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def after_writes_to(engine: Engine, tables: Iterable[str], on_change: Callable[[], None]) -> None:
    """Call ``on_change`` once a connection that wrote to any of ``tables`` is released.

    Watching the statements the driver runs catches every writer: ORM flushes, Core
    statements and raw SQL alike, whoever issues them. The call comes when the connection
    returns to the pool, that is after its transaction committed (or rolled back: a
    harmless extra call), never before the change is visible to other connections, so a
    reader that sees the new count also sees the new rows.
    """
    names = "|".join(re.escape(table) for table in tables)
    mentions_table = re.compile(rf"\b(?:{names})\b", re.IGNORECASE)

    @event.listens_for(engine, "after_cursor_execute")
    def note_write(
        connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        head = statement.lstrip()[:8].upper()
        writes = head.startswith(_WRITE_VERBS) or (
            head.startswith("WITH") and any(verb in statement.upper() for verb in _WRITE_VERBS)
        )
        if writes and mentions_table.search(statement):
            connection.info[_WROTE_WATCHED_TABLES] = True

    @event.listens_for(engine, "checkin")
    def announce(_dbapi_connection: Any, record: ConnectionPoolEntry | None) -> None:
        if record is not None and record.info.pop(_WROTE_WATCHED_TABLES, False):
            on_change()
