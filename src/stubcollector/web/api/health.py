"""Probes: /healthz (the app and its database answer) and /readyz (readiness).

/healthz runs one trivial query: it is the product's "is it up" check and the baseline the
browse benchmark compares against. /readyz also checks Redis when configured; a load
balancer stops routing to a process that is not ready and routes to it again once the
dependency answers — no restart needed. Neither should drive an orchestrator's restart
policy during a database outage (a restart cures nothing there): see docs/DEPLOYMENT.md.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError

from stubcollector.container import container
from stubcollector.services import operations
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.envelope import fail, ok
from stubcollector.web.schemas import ResponseModel

bp = Blueprint("health", __name__)


class HealthEnvelope(ResponseModel):
    status: Literal["success"]
    database: Literal["up"]


class HealthDownEnvelope(ResponseModel):
    status: Literal["error"]
    message: str
    database: Literal["down"]


class ReadinessEnvelope(ResponseModel):
    status: Literal["success"]
    database: Literal["up"]
    redis: Literal["up", "not_configured"]


class NotReadyEnvelope(ResponseModel):
    status: Literal["error"]
    message: str
    database: Literal["up", "down"]
    redis: Literal["up", "down", "not_configured"]


@bp.get("/healthz")
@api_endpoint(
    summary="The app answers and its database answers one trivial query",
    tags=["ops"],
    responses={200: HealthEnvelope, 503: HealthDownEnvelope},
)
def healthz() -> ResponseReturnValue:
    if not operations.database_answers():
        response, code = fail("database unreachable", 503, database="down")
        response.headers["Retry-After"] = "5"
        return response, code
    return ok(database="up")


def _redis_state() -> str:
    redis = container().redis
    if redis is None:
        return "not_configured"
    try:
        redis.ping()
    except RedisError:
        return "down"
    return "up"


@bp.get("/readyz")
@api_endpoint(
    summary="Readiness: the database and Redis (when configured) answer",
    tags=["ops"],
    responses={200: ReadinessEnvelope, 503: NotReadyEnvelope},
)
def readyz() -> ResponseReturnValue:
    database = "up" if operations.database_answers() else "down"
    redis = _redis_state()
    if database == "down" or redis == "down":
        down = [
            name for name, state in (("database", database), ("redis", redis)) if state == "down"
        ]
        response, code = fail(
            f"not ready: {' and '.join(down)} unreachable", 503, database=database, redis=redis
        )
        response.headers["Retry-After"] = "5"
        return response, code
    return ok(database=database, redis=redis)
