"""The one place a unit of work begins and ends.

Views never commit and repositories never commit: a service wraps its work in
``with transaction() as session:``, which commits on success and rolls back on any error.
Database integrity errors that mean "somebody else got there first" are turned into
domain ``Conflict`` errors by the service that knows what the constraint protects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
