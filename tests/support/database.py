"""Looking at the database from a test: a row as it is now, how many rows a table has, every
table's rows, and the statements the app runs while a test watches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from stubcollector.extensions import db
from stubcollector.models import Base

Model = TypeVar("Model", bound=Base)


def reloaded(model: type[Model], row_id: int) -> Model:
    """The row as the database holds it now (the session's cached copies are expired first)."""
    db.session.expire_all()
    row = db.session.get(model, row_id)
    assert row is not None, f"no {model.__name__} {row_id}"
    return row


def row_count(model: type[Base]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(row) for row in connection.execute(sa.select(table))), key=repr
            )
            for table in Base.metadata.sorted_tables
        }


@contextmanager
def counting_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
