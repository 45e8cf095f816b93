"""Liveness: /healthz answers 200 when the database answers a trivial query."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from stubcollector.extensions import db
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.envelope import fail, ok

bp = Blueprint("health", __name__)


class HealthEnvelope(BaseModel):
    status: str
    database: str


@bp.get("/healthz")
@api_endpoint(
    summary="Liveness and database reachability", tags=["ops"], responses={200: HealthEnvelope}
)
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return fail("database unreachable", 503, database="down")
    finally:
        db.session.remove()
    return ok(database="up")
