"""Request ids, request metrics and the ``/metrics`` endpoint.

Every request gets an id (the caller's ``X-Request-ID`` when sensible, else a new one),
returned in the ``X-Request-ID`` response header, bound to every log line and carried into
the jobs the request enqueues. Each request is timed by endpoint — the URL rule
(``/api/stubs/<int:stub_id>``), never the raw path, so the number of series stays bounded.

``/metrics`` is open on a development machine. In production it answers only with
``Authorization: Bearer $METRICS_TOKEN``; without a token configured it is switched off
(404), so a deployment cannot publish it by accident.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from werkzeug.exceptions import NotFound, Unauthorized

from stubcollector.adapters.jobs import ReportsDepth
from stubcollector.container import container, settings
from stubcollector.observability import context, metrics
from stubcollector.services.orders import views

log = logging.getLogger("stubcollector.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# Probes and scrapes arrive every few seconds; they would drown the request log.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

bp = Blueprint("observability", __name__)


def init_app(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)


def _start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = context.accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.log_context_token = context.bind(request_id=g.request_id)


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    metrics.request_latency.labels(method=request.method, endpoint=endpoint).observe(elapsed)
    metrics.requests_total.labels(
        method=request.method, endpoint=endpoint, status=str(response.status_code)
    ).inc()
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    log.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
        },
    )
    return response


def _end_request(_error: BaseException | None) -> None:
    token = g.pop("log_context_token", None)
    if token is not None:
        context.unbind(token)


def _scrape_time_collectors() -> Iterable[Collector]:
    yield metrics.ScrapeTimeGauges(
        "stubcollector_orders_by_status",
        "Orders in the database, by order status.",
        "status",
        views.orders_by_status,
    )
    jobs = container().jobs
    if isinstance(jobs, ReportsDepth):
        yield metrics.ScrapeTimeGauges(
            "stubcollector_queue_depth",
            "Background jobs by state (queued, scheduled for retry, started, failed).",
            "state",
            jobs.depth,
        )


def _authorize_scrape() -> None:
    token = settings().metrics_token
    if not token:
        if settings().is_production:
            raise NotFound()
        return
    supplied = request.headers.get("Authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("metrics need the bearer token")


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    _authorize_scrape()
    return Response(metrics.render(_scrape_time_collectors()), content_type=CONTENT_TYPE_LATEST)
