"""Probes: /healthz (liveness) and /readyz (readiness).

Liveness answers from the process alone: a database outage must not make an orchestrator
restart every web process (a restart cures nothing there). Readiness checks the database and,
when configured, Redis; a load balancer stops routing to a process that is not ready, and
routes to it again once the dependency answers — no restart needed.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from redis.exceptions import RedisError

from stubcollector.container import container
from stubcollector.services import operations
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.envelope import fail, ok

bp = Blueprint("health", __name__)


class LivenessEnvelope(BaseModel):
    status: str


class ReadinessEnvelope(BaseModel):
    status: str
    database: str
    redis: str


class NotReadyEnvelope(BaseModel):
    status: str
    message: str
    database: str
    redis: str


@bp.get("/healthz")
@api_endpoint(
    summary="Liveness: the process answers", tags=["ops"], responses={200: LivenessEnvelope}
)
def healthz() -> ResponseReturnValue:
    return ok()


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
