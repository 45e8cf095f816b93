"""The one place a unit of work begins and ends.

Views never commit and repositories never commit: a service wraps its work in
``with transaction() as session:``, which commits on success and rolls back on any error.
Database integrity errors that mean "somebody else got there first" are turned into
domain ``Conflict`` errors by the service that knows what the constraint protects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from stubcollector.extensions import db


@contextmanager
def transaction() -> Iterator[Session]:
    session: Session = db.session()
    if session.in_transaction() and session.info.get("in_unit_of_work"):
        # Nested call from another service function: the outer one commits.
        yield session
        return
    session.info["in_unit_of_work"] = True
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["in_unit_of_work"] = False


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A connection on which every statement commits by itself, outside any unit of work.

    For a write that is one statement and must hold its rows no longer than that
    statement runs: inside a transaction, the new row versions stay uncommitted until the
    client's ``COMMIT`` arrives a round trip later (longer if its process is descheduled),
    and an ``INSERT … ON CONFLICT`` on the same key waits for them.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection
