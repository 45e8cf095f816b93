"""What operators ask of the database: is it there, and how do orders stand."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from stubcollector.extensions import db
from stubcollector.models import StubOrder


def database_answers() -> bool:
    """True when the database answers a trivial query now."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    finally:
        db.session.remove()
    return True


def orders_by_status() -> dict[str, int]:
    try:
        rows = db.session.execute(
            select(StubOrder.order_status, func.count()).group_by(StubOrder.order_status)
        ).all()
    finally:
        db.session.remove()
    return {str(status): int(count) for status, count in rows}
