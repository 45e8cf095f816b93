"""What operators ask of the database: is it there."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from stubcollector.extensions import db


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
