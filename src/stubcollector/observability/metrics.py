"""Prometheus metrics (``prometheus_client``), served at ``/metrics``.

Counters and histograms are module globals that any layer may update::

    from stubcollector.observability import metrics
    metrics.webhook_events.labels(type=event.type, outcome="applied").inc()
    metrics.payment_failures.labels(reason="card_declined").inc()

Values that live in the database or in Redis (orders by status, queue depth) are read when
Prometheus scrapes, so every web process reports the same truth and nothing drifts.

Under gunicorn each worker process keeps its own counters; ``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` before the app is imported, so a scrape served by any worker
adds up all of them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Outcomes for webhook_events: received (stored for the first time), duplicate (already in
# the inbox), applied (handled), ignored (a type we do not act on), failed (handler raised),
# rejected (bad signature or payload).
WEBHOOK_OUTCOMES = ("received", "duplicate", "applied", "ignored", "failed", "rejected")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0)

request_latency = Histogram(
    "stubcollector_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (the URL rule, not the raw path).",
    ["method", "endpoint"],
    buckets=_LATENCY_BUCKETS,
)
requests_total = Counter(
    "stubcollector_http_requests",
    "HTTP requests answered, by endpoint and status code.",
    ["method", "endpoint", "status"],
)
webhook_events = Counter(
    "stubcollector_webhook_events",
    "Payment-provider webhook events, by event type and outcome (see WEBHOOK_OUTCOMES).",
    ["type", "outcome"],
)
webhook_api_version_mismatches = Counter(
    "stubcollector_webhook_api_version_mismatches",
    "Webhook events rendered with another Stripe API version than the pinned one, by the "
    "event's api_version (the endpoint needs re-creating on the pinned version).",
    ["api_version"],
)
payment_failures = Counter(
    "stubcollector_payment_failures",
    "Payments that failed, by reason (decline code or provider error kind).",
    ["reason"],
)
jobs_finished = Counter(
    "stubcollector_jobs",
    "Background jobs run to the end, by job name and outcome (succeeded or failed).",
    ["job", "outcome"],
)
job_duration = Histogram(
    "stubcollector_job_duration_seconds",
    "Time a background job ran, by job name.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def record_webhook_event(event_type: str, outcome: str) -> None:
    if outcome not in WEBHOOK_OUTCOMES:
        raise ValueError(f"unknown webhook outcome {outcome!r}; use one of {WEBHOOK_OUTCOMES}")
    webhook_events.labels(type=event_type, outcome=outcome).inc()


class ScrapeTimeGauges(Collector):
    """Gauges computed at scrape time by ``read()``; a failing source is skipped and logged."""

    def __init__(
        self,
        name: str,
        documentation: str,
        label: str,
        read: Callable[[], Mapping[str, int]],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._read = read

    def collect(self) -> Iterable[Metric]:
        try:
            values = self._read()
        except Exception as exc:  # a scrape must still answer while a dependency is down
            log.warning("metric %s unavailable: %s", self._name, exc.__class__.__name__)
            return []
        family = GaugeMetricFamily(self._name, self._documentation, labels=[self._label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        return [family]


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render(scrape_time: Iterable[Collector]) -> bytes:
    """The exposition text: process-wide (or all-workers) metrics plus scrape-time gauges."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    extra = CollectorRegistry(auto_describe=False)
    for collector in scrape_time:
        extra.register(collector)
    return output + generate_latest(extra)
